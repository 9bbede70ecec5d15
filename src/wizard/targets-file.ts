/**
 * `--targets`: how to reach each node of a design, as a YAML mapping
 * (`lb1: ssh://root@10.0.0.2`) or inline (`lb1=ssh://root@10.0.0.2,app1=lxd:app1`).
 * Pure: text in, a TargetSpec or the problems out, each naming the node or
 * the line it is about, so a typo is found before any machine is touched.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Installation } from '../core/model.js';
import { renderNodes } from '../core/render/bundle.js';
import { TargetError } from '../host/errors.js';
import { parseTarget } from '../host/targets.js';

/** node name -> Host URI ("local", "ssh://root@10.0.0.2", "lxd:web1", "lab:lb1", …). */
export type TargetSpec = Record<string, string>;

export type TargetsResult = { ok: true; targets: TargetSpec } | { ok: false; problems: string[] };

const Mapping = z.record(z.string(), z.string());

/** `node=uri,node=uri` (what fits on a command line). */
function parseInline(text: string): TargetsResult {
  const targets: TargetSpec = {};
  const problems: string[] = [];
  for (const [i, part] of text.split(',').entries()) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) {
      problems.push(`targets item ${i + 1} ${JSON.stringify(item)}: expected NODE=URI, e.g. lb1=ssh://root@10.0.0.2`);
      continue;
    }
    const node = item.slice(0, eq).trim();
    if (node in targets) problems.push(`targets: node ${node} is named twice`);
    targets[node] = item.slice(eq + 1).trim();
  }
  return problems.length ? { ok: false, problems } : { ok: true, targets };
}

/** A YAML mapping of node names to URIs. */
function parseYamlTargets(text: string, file: string): TargetsResult {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    const pos = (e as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    return { ok: false, problems: [`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${(e as Error).message.split('\n')[0]}`] };
  }
  const r = Mapping.safeParse(doc ?? {});
  if (!r.success) {
    return {
      ok: false,
      problems: r.error.issues.map((i) => `${file}: ${i.path.length ? `node ${i.path.join('.')}: ` : ''}expected a mapping of node names to target URIs (lb1: ssh://root@10.0.0.2), ${i.message}`),
    };
  }
  return { ok: true, targets: r.data };
}

/**
 * Parse a targets text. `file` is the name to put in messages; inline text
 * (no newline, has "=", no ": ") is read as NODE=URI pairs.
 */
export function parseTargetsText(text: string, file: string): TargetsResult {
  const inline = !text.includes('\n') && text.includes('=') && !/:\s/.test(text);
  return inline ? parseInline(text) : parseYamlTargets(text, file);
}

/** The nodes of a design that get files: every director, real server and container host. */
export function designNodes(model: Installation): string[] {
  return renderNodes(model).map((b) => b.node);
}

/** One thing wrong with a target spec, about one node. */
export interface TargetProblem {
  node: string;
  message: string;
}

/**
 * Problems of a target spec against a design: a node the design does not
 * have, a node it has and the spec leaves out, a URI that is not one.
 */
export function checkTargetSpec(model: Installation, targets: TargetSpec): TargetProblem[] {
  const nodes = designNodes(model);
  const problems: TargetProblem[] = [];
  for (const node of Object.keys(targets)) {
    if (!nodes.includes(node)) problems.push({ node, message: `${node} is not a node of the design (its nodes: ${nodes.join(', ')})` });
  }
  for (const node of nodes) {
    const uri = targets[node];
    if (uri === undefined) {
      problems.push({ node, message: `no target for node ${node} (add ${node}=URI, e.g. ${node}=ssh://root@ADDRESS)` });
      continue;
    }
    try {
      parseTarget(uri);
    } catch (e) {
      if (!(e instanceof TargetError)) throw e;
      problems.push({ node, message: `node ${node}: ${e.message}` });
    }
  }
  return problems;
}

/** Every node of the design in the running lab: `lab:NODE`. */
export function labTargetSpec(model: Installation): TargetSpec {
  return Object.fromEntries(designNodes(model).map((n) => [n, `lab:${n}`]));
}
