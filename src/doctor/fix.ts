/**
 * `--fix`: a finding's fix carried out through the apply engine, so it gets
 * what every apply gets — the candidate validated by the real tool, a backup,
 * an atomic write, and a rollback of every file when a command fails.
 * fix.files become write-file steps whose content is the current file plus
 * the lines it lacks; fix.commands run in order on the finding's host (or on
 * the node the finding names as its subject, when the fault is there).
 */
import { execute, type ExecuteResult, type ProgressEvent } from '../apply/execute.js';
import type { NodePlan, Step } from '../apply/plan.js';
import type { Validator } from '../core/render/types.js';
import type { Host } from '../host/types.js';
import { FIX_NFT_PATH } from './ab-support.js';
import type { Result } from './check.js';

/** Findings worth fixing: something is wrong and the check says what to do. */
export function fixable(results: readonly Result[]): Result[] {
  return results.filter((r) => (r.status === 'fail' || r.status === 'warn') && r.fix && (r.fix.commands.length > 0 || r.fix.files.length > 0));
}

/** The real tool that must accept a file before it replaces the live one. */
export function validatorForPath(path: string): Validator {
  if (/keepalived[^/]*\.conf$/.test(path)) return 'keepalived';
  if (/\.nft$/.test(path)) return 'nft';
  if (/\.sh$/.test(path)) return 'sh';
  return 'none';
}

/** Current text plus the lines it does not hold yet (a fix applied twice adds nothing). */
export function withLines(current: string | undefined, lines: readonly string[]): string {
  const text = current ?? '';
  const have = new Set(text.split('\n'));
  const missing = lines.filter((l) => !have.has(l));
  if (missing.length === 0) return text;
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`;
}

/** The chain an nft command line of the fixes file adds to ("insert rule inet filter input …" → inet/filter/input). */
export function nftLineChain(line: string): { family: string; table: string; chain: string } | undefined {
  const m = /^\s*(?:insert|add)\s+rule\s+(\S+)\s+(\S+)\s+(\S+)\s/.exec(line);
  return m ? { family: m[1]!, table: m[2]!, chain: m[3]! } : undefined;
}

/**
 * Pure: the fixes file without the lines whose chain is gone (a table
 * deleted since that fix): `nft -f` refuses the whole file for one such
 * line, so the file is regenerated from the fixes that still have a place.
 */
export function pruneNftFixes(text: string, chainExists: (c: { family: string; table: string; chain: string }) => boolean): string {
  const kept = text.split('\n').filter((l) => {
    const c = nftLineChain(l);
    return !c || chainExists(c);
  });
  return kept.join('\n');
}

/** What a file holds now; `base`, when set, is the text a fix builds on instead (the stale lines of the fixes file left out). */
export interface CurrentFile {
  text?: string;
  mode?: number;
  base?: string;
}

/** The node a fix runs on: the subject the finding names when it is a known node (the leaking real server of an ARP probe), else the finding's host. */
export function fixNode(result: Result, nodes: ReadonlySet<string>): string {
  return result.subject !== undefined && nodes.has(result.subject) ? result.subject : result.host;
}

/** Pure: the plan for one finding on `node`, given the current text and mode of each file it touches. */
export function fixPlan(result: Result, current: ReadonlyMap<string, CurrentFile>, node: string = result.host): NodePlan {
  const fix = result.fix!;
  const steps: Step[] = [];
  for (const f of fix.files) {
    const cur = current.get(f.path);
    const content = withLines(cur?.base ?? cur?.text, f.lines);
    if (cur?.text !== undefined && content === cur.text) continue;
    steps.push({ kind: 'write-file', node, path: f.path, content, mode: cur?.mode ?? 0o644, validator: validatorForPath(f.path), description: `${result.id}: ${fix.why}` });
  }
  for (const argv of fix.commands) {
    steps.push({ kind: 'run', node, argv, why: `${result.id}: ${fix.why}`, onlyIfChanged: false, alsoAfterRollback: false });
  }
  // 'director' and the other node roles only name the verify step, which a fix does not use.
  return { node, role: 'director', steps };
}

export interface ApplyFixOptions {
  backupRoot?: string;
  onProgress?: (e: ProgressEvent) => void;
}

/**
 * Read what the fix's files hold now, plan, execute on `host` (the node the
 * fix runs on, named `node`: see fixNode).
 */
export async function applyFix(result: Result, host: Host, opts: ApplyFixOptions = {}, node: string = result.host): Promise<ExecuteResult> {
  const current = new Map<string, CurrentFile>();
  for (const f of result.fix?.files ?? []) {
    const text = await host.readFile(f.path);
    const st = text === undefined ? undefined : await host.run(['stat', '-c', '%a', f.path]);
    const mode = st && st.exitCode === 0 && /^[0-7]+$/.test(st.stdout.trim()) ? parseInt(st.stdout.trim(), 8) : undefined;
    let base: string | undefined;
    if (f.path === FIX_NFT_PATH && text !== undefined) {
      const alive = new Map<string, boolean>();
      for (const c of text.split('\n').flatMap((l) => nftLineChain(l) ?? [])) {
        const k = `${c.family} ${c.table} ${c.chain}`;
        if (!alive.has(k)) alive.set(k, (await host.run(['nft', 'list', 'chain', c.family, c.table, c.chain])).exitCode === 0);
      }
      const pruned = pruneNftFixes(text, (c) => alive.get(`${c.family} ${c.table} ${c.chain}`) ?? true);
      if (pruned !== text) base = pruned;
    }
    current.set(f.path, { ...(text !== undefined ? { text } : {}), ...(mode !== undefined ? { mode } : {}), ...(base !== undefined ? { base } : {}) });
  }
  return execute([fixPlan(result, current, node)], {
    hosts: { [node]: host },
    // One backup folder per fix: two fixes in the same second must not share one.
    stamp: `${new Date().toISOString().replace(/[:.]/g, '-')}-${result.id}`,
    ...(opts.backupRoot ? { backupRoot: opts.backupRoot } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}
