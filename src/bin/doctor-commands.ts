/**
 * lvs-doctor's work, behind the thin bin: argv -> targets -> runner -> one
 * renderer chosen here (DESIGN rule 4) -> exit code. Ink, React and enquirer
 * are imported only on a terminal (DESIGN rule 8).
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Installation } from '../core/model.js';
import { LocalHost } from '../host/local.js';
import { TargetError } from '../host/errors.js';
import { hostFor, parseHostOf } from '../host/targets.js';
import type { Host } from '../host/types.js';
import { attachLab } from '../lab/backend.js';
import { loadLabDesign } from '../lab/up.js';
import type { Check, Result } from '../doctor/check.js';
import { applyFix, fixable, fixNode } from '../doctor/fix.js';
import { REACHABLE, REACHABLE_ID } from '../doctor/reachable.js';
import { CHECKS } from '../doctor/registry.js';
import { renderJson } from '../doctor/report-json.js';
import { fixLines, renderCheckList, renderText } from '../doctor/report-text.js';
import { detectMachine } from '../doctor/roles.js';
import { hasFailure, runChecks, type RunnerEvent, type Target } from '../doctor/runner.js';
import { configTargets, explicitTargets, labTargets, machineTargets, } from '../doctor/targets.js';
import { parseArgv, UserError } from './common.js';
import { loadDesign, targetErrors } from './io.js';

export const USAGE = 'usage: lvs-doctor [CHECK-ID…] [--lab | --config FILE [--ssh] | --director URI --real URI … --client URI] [--json] [--strict] [--fix [--yes]]';

/** Every check the doctor can list and run: the reachability probe first, then the registry. */
export function allChecks(): readonly Check<any>[] {
  return [REACHABLE, ...CHECKS];
}

interface Flags {
  json: boolean;
  listChecks: boolean;
  strict: boolean;
  fix: boolean;
  yes: boolean;
  lab: boolean;
  ssh: boolean;
  config?: string;
  record?: string;
  bundle?: string;
  director: string[];
  real: string[];
  client: string[];
  /** container URI -> URI of the machine it runs on (--host-of lxd:web1=ssh://node1). */
  hostOf: Map<string, string>;
  ids: string[];
}

async function parseFlags(argv: string[]): Promise<Flags> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          json: { type: 'boolean', default: false },
          'list-checks': { type: 'boolean', default: false },
          strict: { type: 'boolean', default: false },
          fix: { type: 'boolean', default: false },
          yes: { type: 'boolean', short: 'y', default: false },
          lab: { type: 'boolean', default: false },
          ssh: { type: 'boolean', default: false },
          config: { type: 'string' },
          record: { type: 'string' },
          bundle: { type: 'string' },
          director: { type: 'string', multiple: true, default: [] },
          real: { type: 'string', multiple: true, default: [] },
          client: { type: 'string', multiple: true, default: [] },
          'host-of': { type: 'string', multiple: true, default: [] },
        },
      }),
    USAGE,
  );
  return {
    json: values.json,
    listChecks: values['list-checks'],
    strict: values.strict,
    fix: values.fix,
    yes: values.yes,
    lab: values.lab,
    ssh: values.ssh,
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.record !== undefined ? { record: values.record } : {}),
    ...(values.bundle !== undefined ? { bundle: values.bundle } : {}),
    director: values.director,
    real: values.real,
    client: values.client,
    hostOf: new Map(
      values['host-of'].map((spec) => {
        try {
          const h = parseHostOf(spec);
          return [h.containerUri, h.hostUri] as const;
        } catch (e) {
          if (e instanceof TargetError) throw new UserError(e.message, e.hint ?? USAGE);
          throw e;
        }
      }),
    ),
    ids: positionals,
  };
}

function localAddresses(addrJson: string): string[] {
  try {
    const links = JSON.parse(addrJson) as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>;
    return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => a.local!));
  } catch {
    return [];
  }
}

function loadModel(file: string): Installation {
  return loadDesign(file, { consequence: 'nothing was checked', exitCode: 2, hint: 'lvs-wizard check FILE explains each problem' }).model;
}

/** Connections to close before the process can end (the lab VM's agent). */
const closers: Array<() => Promise<void>> = [];

async function buildTargets(f: Flags): Promise<Target[]> {
  const local = new LocalHost();
  if (f.lab) {
    const lab = attachLab();
    if (!lab) throw new UserError('no lab is running', 'start one: lvs-lab up --example dr');
    closers.push(() => lab.detach());
    // The VM agent connects on first use; one command first, so the parallel detects share one connection.
    await lab.root.run(['true'], { timeoutMs: 30_000 });
    const design = loadLabDesign(lab.stateDir);
    if (!design) throw new UserError('the lab is starting or was left half-built', 'wait for lvs-lab up to finish, or lvs-lab down');
    return labTargets(design, (n) => lab.node(n));
  }
  const model = f.config !== undefined ? loadModel(f.config) : undefined;
  if (f.director.length + f.real.length + f.client.length > 0) {
    // A container knows its host: modules, venet routes and the ipip feature live there.
    const factory = (uri: string) => (f.hostOf.has(uri) ? hostFor(uri, { on: f.hostOf.get(uri)! }) : hostFor(uri));
    return explicitTargets({ director: f.director, real: f.real, client: f.client }, factory, model);
  }
  if (model) {
    const addr = await local.run(['ip', '-j', 'addr', 'show'], { timeoutMs: 10_000 });
    return configTargets(model, {
      localAddresses: addr.exitCode === 0 ? localAddresses(addr.stdout) : [],
      hostname: hostname(),
      ssh: f.ssh,
      local,
      hostFor,
    });
  }
  if (f.ssh) throw new UserError('--ssh needs --config FILE (it names the machines to reach)', USAGE);
  return machineTargets(hostname(), local, await detectMachine(local));
}

/** Reachability on every target first; the checks run only where a command can run. */
async function runAll(targets: readonly Target[], checks: readonly Check<any>[], onEvent?: (e: RunnerEvent) => void): Promise<Result[]> {
  const events = onEvent ? { onEvent } : {};
  const reach = await runChecks(targets, [REACHABLE], events);
  const down = new Set(reach.filter((r) => r.status !== 'pass').map((r) => r.host));
  const rest = await runChecks(
    targets.filter((t) => !down.has(t.node)),
    checks,
    events,
  );
  // Reachability first per host, then that host's findings.
  return targets
    .map((t) => t.node)
    .filter((n, i, a) => a.indexOf(n) === i)
    .flatMap((n) => [...reach.filter((r) => r.host === n), ...rest.filter((r) => r.host === n)]);
}

/** --record: every host wrapped so what it answered can be saved as a RecordedHost fixture, one per node. */
async function recordTargets(targets: readonly Target[]) {
  const { RecordingHost } = await import('../host/recorded.js');
  const byNode = new Map<string, InstanceType<typeof RecordingHost>>();
  const wrapped = targets.map((t) => {
    let rec = byNode.get(t.node);
    if (!rec) byNode.set(t.node, (rec = new RecordingHost(t.host, t.node)));
    return { ...t, host: rec as Host };
  });
  return { targets: wrapped, byNode };
}

type Renderer = 'ink' | 'text' | 'json';

async function present(renderer: Renderer, run: (onEvent?: (e: RunnerEvent) => void) => Promise<readonly Result[]>): Promise<readonly Result[]> {
  switch (renderer) {
    case 'ink': {
      const { runWithInk } = await import('../doctor/report-ink.js');
      return runWithInk((onEvent) => run(onEvent));
    }
    case 'text': {
      const results = await run();
      process.stdout.write(renderText(results));
      return results;
    }
    case 'json':
      return run();
  }
}

async function confirm(question: string): Promise<boolean> {
  const { default: Enquirer } = await import('enquirer');
  const answer = (await Enquirer.prompt({ type: 'confirm', name: 'ok', message: question, initial: false })) as { ok: boolean };
  return answer.ok;
}

/** --fix: show each fix, ask or take --yes, apply it, re-run the checks it concerns. */
async function fixAll(results: readonly Result[], targets: readonly Target[], f: Flags, renderer: Renderer): Promise<readonly Result[]> {
  const say = (s: string) => (renderer === 'json' ? process.stderr : process.stdout).write(`${s}\n`);
  const todo = fixable(results);
  if (todo.length === 0) {
    say('--fix: nothing to fix.');
    return results;
  }
  const applied: Result[] = [];
  const nodes = new Set(targets.map((t) => t.node));
  for (const r of todo) {
    // The fault may lie on another node than the one that saw it (an ARP probe run for the director hears a real server leak).
    const on = fixNode(r, nodes);
    const target = targets.find((t) => t.node === on);
    if (!target) continue;
    say(`\n${r.host}: ${r.id}: ${r.message}${on !== r.host ? ` (the fix runs on ${on})` : ''}`);
    for (const l of fixLines(r.fix!)) say(`  ${l}`);
    const go = f.yes || (await confirm(`Apply this fix on ${on}?`));
    if (!go) {
      say('  skipped');
      continue;
    }
    const res = await applyFix(r, target.host, {}, on);
    if (res.ok) {
      say(`  applied${res.changed.length ? ` (changed ${res.changed.map((c) => c.path).join(', ')}; backups under /var/backups/lvs-toolkit/${res.stamp})` : ''}`);
      applied.push(r);
    } else {
      say(`  FAILED at "${res.failure?.step}": ${res.failure?.message}; files rolled back`);
      if (res.failure?.output.trim()) say(res.failure.output.trim().replace(/^/gm, '    | '));
    }
  }
  if (applied.length === 0) return results;
  const ids = [...new Set(applied.map((r) => r.id))];
  const reporters = new Set(applied.map((r) => r.host));
  const key = (r: Result) => `${r.id}\0${r.host}`;
  const affected = new Set(results.filter((r) => ids.includes(r.id) && reporters.has(r.host)).map(key));
  say(`\nRe-running ${ids.join(', ')} on ${[...reporters].join(', ')}…`);
  // Every target stays in the run (filtered afterwards) so a check that probes from a peer still has it.
  const fresh = await runChecks(
    targets,
    CHECKS.filter((c) => ids.includes(c.id)),
  );
  const again = fresh.filter((r) => affected.has(key(r)));
  // The earlier findings of those checks on those hosts give way to the fresh ones, in place.
  const merged: Result[] = [];
  const placed = new Set<string>();
  for (const r of results) {
    if (!affected.has(key(r))) merged.push(r);
    else if (!placed.has(key(r))) {
      placed.add(key(r));
      merged.push(...again.filter((a) => key(a) === key(r)));
    }
  }
  return merged;
}

export async function doctorMain(argv: string[]): Promise<number> {
  try {
    return await doctor(argv);
  } finally {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
  }
}

async function doctor(argv: string[]): Promise<number> {
  const f = await parseFlags(argv);
  const checks = allChecks();
  if (f.listChecks) {
    process.stdout.write(
      f.json ? `${JSON.stringify(checks.map((c) => ({ id: c.id, title: c.title, section: c.section, sources: c.sources })), null, 2)}\n` : renderCheckList(checks),
    );
    return 0;
  }
  const known = new Set(checks.map((c) => c.id));
  const unknown = f.ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new UserError(`unknown check${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, `known checks: ${[...known].join(', ')} (lvs-doctor --list-checks)`);
  }
  if (f.lab && (f.config !== undefined || f.director.length + f.real.length + f.client.length > 0)) throw new UserError('--lab checks the running lab; it takes no --config, --director, --real or --client', USAGE);
  const tty = Boolean(process.stdout.isTTY);
  if (f.fix && !f.yes && !(tty && process.stdin.isTTY)) throw new UserError('--fix asks before each change; without a terminal to ask on, add --yes', USAGE);
  const renderer: Renderer = f.json ? 'json' : tty ? 'ink' : 'text';
  let targets: Target[] = await targetErrors(() => buildTargets(f));
  const recorders = f.record !== undefined ? await recordTargets(targets) : undefined;
  if (recorders) targets = recorders.targets;
  const selected = f.ids.length > 0 ? CHECKS.filter((c) => f.ids.includes(c.id)) : CHECKS;
  let results = await present(renderer, (onEvent) => runAll(targets, selected, onEvent));
  if (f.fix) {
    const before = results;
    results = await fixAll(results, targets, f, renderer);
    if (results !== before && renderer !== 'json') {
      process.stdout.write('\nAfter the fixes:\n');
      await present(renderer, async () => results);
    }
  }
  if (renderer === 'json') process.stdout.write(renderJson(results));
  if (recorders && f.record !== undefined) {
    const { saveRecording } = await import('../host/recorded.js');
    for (const [node, rec] of recorders.byNode) process.stderr.write(`recorded ${node}: ${await saveRecording(f.record, node, rec.fixture())}\n`);
  }
  if (f.bundle !== undefined) {
    const { writeBundle } = await import('../host/bundle.js');
    const nodes = [...new Map(targets.map((t) => [t.node, t.host] as const))].map(([node, host]) => ({ node, host }));
    const manifest = await writeBundle(f.bundle, nodes);
    const missing = manifest.entries.filter((e) => e.status !== 'ok').length;
    process.stderr.write(`bundle written: ${f.bundle} (${manifest.entries.length - missing} items from ${manifest.nodes.length} host(s)${missing ? `, ${missing} missing or failed: see its manifest` : ''})\n`);
  }
  if (results.some((r) => r.id === REACHABLE_ID && r.status !== 'pass')) return 2;
  return hasFailure(results, f.strict) ? 1 : 0;
}
