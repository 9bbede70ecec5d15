/**
 * The wizard's apply, as one API for the TUI (steps 10-13) and for
 * `lvs-wizard apply | rollback`: reach the targets, show per node what would
 * change, then carry it out with the apply engine (validate with the real
 * tool, back up, write atomically, reload), ask the service for an answer
 * through its VIP, verify every node with the doctor's checks for its role,
 * and put everything back on any failure.
 *
 * Two records make an apply survivable when the process dies half-way
 * (kill -9, a lost ssh session): each node keeps a write-ahead journal next
 * to its backups (src/apply/execute.ts), and this machine keeps an index of
 * the applies (which nodes, how to reach them) under the state directory,
 * written before the first node is touched. `rollbackApply` follows both;
 * the next apply finds an unfinished one and refuses to pile on top of it.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '../apply/diff.js';
import {
  CHECKPOINTS,
  DEFAULT_BACKUP_ROOT,
  execute,
  newStamp,
  readNodeJournal,
  rollback,
  saveNodeJournal,
  unfinishedJournals,
  type Checkpoint,
  type ProgressEvent,
  type Verifier,
  type VerifyResult,
} from '../apply/execute.js';
import { LAB_BACKUP_ROOT, LAB_NODE_PLAN, plan, type NodePlan, type PlanOptions } from '../apply/plan.js';
import { isL4, type Installation } from '../core/model.js';
import { formatProblem, hasErrors } from '../core/problems.js';
import { validate } from '../core/validate.js';
import type { Result } from '../doctor/check.js';
import { CHECKS } from '../doctor/registry.js';
import { runChecks, summarize, type Target } from '../doctor/runner.js';
import { modesFor, platformFor } from '../doctor/targets.js';
import { TargetError } from '../host/errors.js';
import { hostFor as defaultHostFor, parseTarget } from '../host/targets.js';
import type { Host } from '../host/types.js';
import type { ApplyEvent, ApplyOutcome, NodeDiff, Reachability } from './apply-types.js';
import { checkTargetSpec, type TargetSpec } from './targets-file.js';

export type { ApplyEvent, ApplyOutcome, NodeDiff, Reachability, TargetSpec } from './apply-types.js';

/** What a caller may change about where and how (tests, the lab command). */
export interface ApplyContext {
  /** The Host of a node (default: hostFor(uri), which knows lab:NODE once a command attached the lab). */
  hostFor?: (uri: string, node: string) => Host;
  /** Where this machine keeps the index of applies (default: defaultStateDir()). */
  stateDir?: string;
  /** Replace the doctor as the per-node verification; false: no verification. */
  verify?: Verifier | false;
  /** For callers that write only part of a bundle (tests): change the plans before they run. */
  adjustPlans?: (plans: NodePlan[]) => NodePlan[];
}

export interface ApplyOptions extends ApplyContext {
  onEvent: (e: ApplyEvent) => void;
  /** Plan and report, change nothing. */
  dryRun?: boolean;
  /** A request through the VIP after the reloads (the lab's client); a failure rolls everything back. */
  trace?: () => Promise<{ ok: boolean; detail: string }>;
  /** Test hook: called at each checkpoint of the apply (default: LVS_WIZARD_KILL_AT, see killHookFromEnv). */
  checkpoint?: (point: Checkpoint, node: string) => void | Promise<void>;
}

/** How one apply is indexed on this machine: enough to find every node again for a rollback. */
export interface ApplyRecord {
  stamp: string;
  design: string;
  /**
   * started: written before the first node is touched, and left so when the
   * process dies; applied: finished and verified; rolled-back: the old files
   * are back; failed: the apply failed and its own rollback did not finish.
   */
  status: 'started' | 'applied' | 'rolled-back' | 'failed';
  targets: TargetSpec;
  backupRoots: Record<string, string>;
  /** The nodes this apply changes (or changed). */
  nodes: string[];
}

/**
 * Where the index of applies lives: $LVS_WIZARD_STATE, else
 * $XDG_STATE_HOME/lvs-toolkit, else ~/.local/state/lvs-toolkit (XDG Base
 * Directory: state that should survive a reboot but is not worth a backup).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LVS_WIZARD_STATE) return env.LVS_WIZARD_STATE;
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'lvs-toolkit');
}

/**
 * TEST HOOK ONLY: `LVS_WIZARD_KILL_AT=after-backup|between-nodes|after-reload`
 * makes the process SIGKILL itself the first time the apply reaches that
 * point, so tests can prove that a kill there leaves a state
 * `lvs-wizard rollback` restores. Nothing else should set it.
 */
export function killHookFromEnv(env: NodeJS.ProcessEnv = process.env): ((point: Checkpoint) => void) | undefined {
  const at = env.LVS_WIZARD_KILL_AT;
  if (!at) return undefined;
  if (!(CHECKPOINTS as readonly string[]).includes(at)) throw new TargetError(`LVS_WIZARD_KILL_AT=${at}: not a checkpoint`, `one of ${CHECKPOINTS.join(', ')} (a test hook)`);
  return (point) => {
    if (point === at) process.kill(process.pid, 'SIGKILL');
  };
}

function isLab(uri: string): boolean {
  return uri.startsWith('lab:');
}

/** Backups stay on the node: a lab node's own /etc, elsewhere /var/backups/lvs-toolkit. */
export function backupRootFor(uri: string): string {
  return isLab(uri) ? LAB_BACKUP_ROOT : DEFAULT_BACKUP_ROOT;
}

function resolveHost(ctx: ApplyContext, node: string, uri: string): Host {
  return ctx.hostFor ? ctx.hostFor(uri, node) : defaultHostFor(uri);
}

/** Each node's Host; a bad URI or a lab that is not attached is a TargetError naming the node. */
function resolveHosts(model: Installation, targets: TargetSpec, ctx: ApplyContext): Record<string, Host> {
  const problems = checkTargetSpec(model, targets);
  if (problems.length) throw new TargetError(problems.map((p) => `targets: ${p.message}`).join('\n'), 'give every node of the design a target: NODE=URI (local, ssh://root@ADDRESS, lxd:NAME, lxc:NAME, vz:CTID, netns:NAME, lab:NODE)');
  const hosts: Record<string, Host> = {};
  for (const [node, uri] of Object.entries(targets)) {
    try {
      hosts[node] = resolveHost(ctx, node, uri);
    } catch (e) {
      if (e instanceof TargetError) throw new TargetError(`node ${node}: ${e.message}`, e.hint);
      throw e;
    }
  }
  return hosts;
}

/** Can a command run there? Every node of the design, plus any name the spec has that the design does not. */
export async function checkTargets(model: Installation, targets: TargetSpec, ctx: ApplyContext = {}): Promise<Reachability[]> {
  const problems = checkTargetSpec(model, targets);
  const nodes = [...new Set([...plan(model, { serviceManager: 'direct' }).map((p) => p.node), ...Object.keys(targets)])];
  return Promise.all(
    nodes.map(async (node): Promise<Reachability> => {
      const uri = targets[node] ?? '';
      const mine = problems.find((p) => p.node === node);
      if (mine) return { node, uri, ok: false, detail: mine.message };
      let host: Host;
      try {
        host = resolveHost(ctx, node, uri);
      } catch (e) {
        return { node, uri, ok: false, detail: e instanceof Error ? e.message : String(e) };
      }
      try {
        const r = await host.run(['uname', '-n'], { timeoutMs: 15_000 });
        return r.exitCode === 0
          ? { node, uri, ok: true, detail: `reached ${host.describe()} (${r.stdout.trim()})` }
          : { node, uri, ok: false, detail: `cannot run commands on ${host.describe()} (exit ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''})` };
      } catch (e) {
        return { node, uri, ok: false, detail: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

/**
 * How to plan each node: a lab node as the lab runs them (LAB_NODE_PLAN);
 * elsewhere systemd when the node runs it (sd_booted(3): /run/systemd/system
 * exists), else daemons started directly.
 */
async function planOptionsFor(uri: string, host: Host): Promise<Omit<PlanOptions, 'nodes'>> {
  if (isLab(uri)) return LAB_NODE_PLAN;
  const r = await host.run(['test', '-d', '/run/systemd/system'], { timeoutMs: 30_000 });
  return { serviceManager: r.exitCode === 0 ? 'systemd' : 'direct' };
}

async function planNodes(model: Installation, targets: TargetSpec, hosts: Record<string, Host>, ctx: ApplyContext): Promise<NodePlan[]> {
  const order = plan(model, { serviceManager: 'direct' }).map((p) => p.node);
  const plans = await Promise.all(order.map(async (node) => plan(model, { ...(await planOptionsFor(targets[node]!, hosts[node]!)), nodes: [node] })[0]!));
  return ctx.adjustPlans ? ctx.adjustPlans(plans) : plans;
}

async function diffPlans(plans: readonly NodePlan[], hosts: Record<string, Host>): Promise<NodeDiff[]> {
  return Promise.all(
    plans.map(async (p): Promise<NodeDiff> => {
      const host = hosts[p.node]!;
      const files: NodeDiff['files'] = [];
      for (const s of p.steps) {
        if (s.kind !== 'write-file') continue;
        const now = await host.readFile(s.path);
        files.push({ path: s.path, status: now === undefined ? 'new' : now === s.content ? 'unchanged' : 'changed', diff: unifiedDiff(s.path, now, s.content) });
      }
      const changes = files.some((f) => f.status !== 'unchanged');
      const commands = changes ? p.steps.flatMap((s) => (s.kind === 'run' ? [s.argv] : [])) : [];
      return { node: p.node, files, commands };
    }),
  );
}

/** What would change on each node, read from the nodes; changes nothing. */
export async function planApply(model: Installation, targets: TargetSpec, ctx: ApplyContext = {}): Promise<NodeDiff[]> {
  const hosts = resolveHosts(model, targets, ctx);
  return diffPlans(await planNodes(model, targets, hosts, ctx), hosts);
}

// ---- the index of applies on this machine ----

function appliesDir(stateDir: string): string {
  return join(stateDir, 'applies');
}

function writeRecord(stateDir: string, r: ApplyRecord): void {
  const dir = appliesDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${r.stamp}.json.tmp`);
  writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, `${r.stamp}.json`));
}

/** Every apply indexed in stateDir, oldest first. */
export function listApplies(stateDir: string = defaultStateDir()): ApplyRecord[] {
  let names: string[];
  try {
    names = readdirSync(appliesDir(stateDir));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .sort()
    .flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(appliesDir(stateDir), n), 'utf8')) as ApplyRecord];
      } catch {
        return [];
      }
    });
}

/**
 * Applies that never finished: indexed here as started, or with a journal on
 * one of these nodes still writing (an apply from another machine counts too).
 */
async function findInterrupted(stateDir: string, targets: TargetSpec, hosts: Record<string, Host>): Promise<ApplyOutcome['interrupted']> {
  const found = new Map<string, Set<string>>();
  for (const r of listApplies(stateDir)) if (r.status === 'started') found.set(r.stamp, new Set(r.nodes));
  await Promise.all(
    Object.entries(hosts).map(async ([node, host]) => {
      for (const stamp of await unfinishedJournals(host, backupRootFor(targets[node]!))) {
        if (!found.has(stamp)) found.set(stamp, new Set());
        found.get(stamp)!.add(node);
      }
    }),
  );
  return [...found].sort(([a], [b]) => a.localeCompare(b)).map(([stamp, nodes]) => ({ stamp, nodes: [...nodes].sort() }));
}

/**
 * Earlier applies to these targets that never finished (killed, cut off):
 * what an apply checks first, and refuses to start on top of.
 */
export async function findInterruptedApplies(model: Installation, targets: TargetSpec, ctx: ApplyContext = {}): Promise<ApplyOutcome['interrupted']> {
  return findInterrupted(ctx.stateDir ?? defaultStateDir(), targets, resolveHosts(model, targets, ctx));
}

/** The message for interrupted applies: which, where, and the command that restores them. */
export function interruptedMessage(interrupted: ApplyOutcome['interrupted']): string {
  const what = interrupted.map((i) => `${i.stamp}${i.nodes.length ? ` (on ${i.nodes.join(', ')})` : ''}`).join(', ');
  return `an earlier apply did not finish: ${what}. Its nodes may hold some new and some old files; nothing was changed now. Restore them with: lvs-wizard rollback --to ${interrupted[interrupted.length - 1]!.stamp} (plus --targets TARGETS if another machine made it), then apply again`;
}

// ---- verification ----

function resultLine(r: Result): string {
  return `${r.host}: ${r.status} ${r.id}: ${r.message}`;
}

/**
 * The doctor's checks for each node's role, run once for all nodes (each
 * check sees the others as peers, e.g. the ARP probe from a neighbour) when
 * the first node is verified. A `fail` fails that node.
 */
function doctorVerifier(model: Installation, plans: readonly NodePlan[], hosts: Record<string, Host>, onEvent: (e: ApplyEvent) => void, lines: string[]): Verifier {
  let all: Promise<Result[]> | undefined;
  const targets: Target[] = plans.map((p) => ({
    node: p.node,
    role: p.role,
    host: hosts[p.node]!,
    platform: platformFor(model, p.node),
    modes: modesFor(model, p.node, p.role),
    model,
  }));
  return async (node) => {
    all ??= runChecks(targets, CHECKS);
    const mine = (await all).filter((r) => r.host === node);
    const s = summarize(mine);
    onEvent({ kind: 'doctor', node, summary: `${s.pass} pass, ${s.warn} warn, ${s.fail} fail${s.error ? `, ${s.error} error` : ''}${s.skip ? `, ${s.skip} skipped` : ''}` });
    const notable = mine.filter((r) => r.status === 'fail' || r.status === 'warn' || r.status === 'error').map(resultLine);
    lines.push(...notable);
    return { ok: !mine.some((r) => r.status === 'fail'), details: notable };
  };
}

/** How to try the service by hand when no tracer could send a request. */
export function howToTest(model: Installation): string[] {
  const lines = model.services.map((s) => {
    const port = s.ports[0];
    const where = isL4(s.mode) ? s.vip : (model.directors[0]?.interfaces[0]?.address?.split('/')[0] ?? s.vip);
    return s.protocol === 'udp'
      ? `${s.name}: from a client (not a director or real server), send a UDP request to ${where}:${port} with your service's own client`
      : `${s.name}: from a client (not a director or real server): curl -v http://${where}:${port}/ (or nc -vz ${where} ${port}); repeat to see the real servers take turns`;
  });
  lines.push('lvs-trace VIP follows the packets hop by hop when a request does not come back');
  return lines;
}

function failed(stamp: string, node: string, step: string, message: string, extra: Partial<ApplyOutcome> = {}): ApplyOutcome {
  return { ok: false, stamp, changed: [], failure: { node, step, message }, doctor: [], undo: '', noChanges: false, diffs: [], howToTest: [], interrupted: [], ...extra };
}

/**
 * Apply a design to its targets. Never throws for what a user can fix (bad
 * targets, an unreachable node, a rejected file, a failed check): the
 * outcome says what failed where, and whether everything was put back.
 */
export async function applyDesign(model: Installation, targets: TargetSpec, opts: ApplyOptions): Promise<ApplyOutcome> {
  const stamp = newStamp();
  const stateDir = opts.stateDir ?? defaultStateDir();
  const problems = validate(model);
  if (hasErrors(problems)) {
    return failed(stamp, '-', 'validate', `the design has errors; nothing was applied:\n${problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')}`);
  }
  let hosts: Record<string, Host>;
  let checkpoint: ApplyOptions['checkpoint'];
  try {
    hosts = resolveHosts(model, targets, opts);
    checkpoint = opts.checkpoint ?? killHookFromEnv();
  } catch (e) {
    if (e instanceof TargetError) return failed(stamp, '-', 'targets', e.message);
    throw e;
  }

  let interrupted: ApplyOutcome['interrupted'];
  let plans: NodePlan[];
  let diffs: NodeDiff[];
  try {
    interrupted = await findInterrupted(stateDir, targets, hosts);
    if (interrupted.length > 0) return failed(stamp, '-', 'interrupted', interruptedMessage(interrupted), { interrupted });
    plans = await planNodes(model, targets, hosts, opts);
    diffs = await diffPlans(plans, hosts);
  } catch (e) {
    // A node that cannot be reached or read: nothing was changed yet.
    return failed(stamp, '-', 'read the nodes', `${e instanceof Error ? e.message : String(e)}; nothing was changed`);
  }
  const touched = diffs.filter((d) => d.files.some((f) => f.status !== 'unchanged')).map((d) => d.node);
  const base = { stamp, doctor: [] as string[], diffs, howToTest: opts.trace ? [] : howToTest(model), interrupted: [] };
  if (touched.length === 0) return { ...base, ok: true, changed: [], undo: '', noChanges: true };
  if (opts.dryRun) return { ...base, ok: true, changed: [], undo: '', noChanges: false };

  const backupRoots = Object.fromEntries(Object.entries(targets).map(([n, uri]) => [n, backupRootFor(uri)]));
  const record: ApplyRecord = { stamp, design: model.name ?? 'design', status: 'started', targets, backupRoots, nodes: touched };
  writeRecord(stateDir, record);

  const doctor: string[] = [];
  const verify = opts.verify === false ? undefined : (opts.verify ?? doctorVerifier(model, plans, hosts, opts.onEvent, doctor));
  const trace = opts.trace;
  let traced: { ok: boolean; detail: string } | undefined;
  const r = await execute(plans, {
    hosts,
    backupRoots,
    stamp,
    onProgress: opts.onEvent,
    ...(verify ? { verify } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(trace
      ? {
          trace: async (): Promise<VerifyResult> => {
            const t = await trace();
            traced = t;
            opts.onEvent({ kind: 'traced', ok: t.ok, detail: t.detail });
            return { ok: t.ok, details: [t.detail] };
          },
        }
      : {}),
  });
  record.status = r.ok ? 'applied' : r.rolledBack ? 'rolled-back' : 'failed';
  writeRecord(stateDir, record);
  return {
    ...base,
    ok: r.ok,
    changed: r.changed,
    doctor,
    undo: r.ok ? `lvs-wizard rollback --to ${stamp}` : r.rolledBack ? '' : `lvs-wizard rollback --to ${stamp}`,
    noChanges: false,
    ...(traced ? { traced } : {}),
    ...(r.failure ? { failure: { node: r.failure.node, step: r.failure.step, message: r.failure.message, output: r.failure.output } } : {}),
  };
}

// ---- rollback ----

export interface RollbackOutcome {
  ok: boolean;
  /** An apply to undo was recorded (false: `problems` says why not). */
  found: boolean;
  stamp: string;
  /** Per file: put back from its backup, removed (it did not exist before), or never touched. */
  files: Array<{ node: string; path: string; action: 'restored' | 'removed' | 'untouched' }>;
  /** Reloads run again so the daemons read the old files. */
  reloaded: Array<{ node: string; argv: string[]; exitCode: number }>;
  /** Nodes whose journal said this apply was already undone. */
  alreadyRolledBack: string[];
  problems: string[];
}

/**
 * Undo an apply on every node it touched: the latest one that is not undone
 * yet, or `to`. Each node's journal says which files and where their
 * backups are; a file whose backup was never made was never replaced.
 * Daemons reloaded by the apply are reloaded again on the old files.
 */
export async function rollbackApply(
  opts: {
    to?: string;
    /** With `to`: the nodes to look on when this machine has no record of it (an apply from elsewhere, a killed doctor --fix). */
    targets?: TargetSpec;
    onEvent?: (e: ProgressEvent) => void;
  } & Pick<ApplyContext, 'hostFor' | 'stateDir'> = {},
): Promise<RollbackOutcome> {
  const stateDir = opts.stateDir ?? defaultStateDir();
  const records = listApplies(stateDir);
  let record = opts.to !== undefined ? records.find((r) => r.stamp === opts.to) : [...records].reverse().find((r) => r.status !== 'rolled-back');
  if (!record && opts.to !== undefined && opts.targets) {
    const t = opts.targets;
    record = { stamp: opts.to, design: 'unrecorded', status: 'started', targets: t, backupRoots: Object.fromEntries(Object.entries(t).map(([n, u]) => [n, backupRootFor(u)])), nodes: Object.keys(t) };
  }
  const none = (message: string): RollbackOutcome => ({ ok: false, found: false, stamp: opts.to ?? '', files: [], reloaded: [], alreadyRolledBack: [], problems: [message] });
  if (!record) {
    if (opts.to !== undefined) return none(`no apply ${opts.to} is recorded in ${appliesDir(stateDir)} (recorded: ${records.map((r) => r.stamp).join(', ') || 'none'})`);
    return none(`no apply to roll back: ${records.length ? 'every apply recorded is already rolled back' : `none is recorded in ${appliesDir(stateDir)}`}`);
  }
  const out: RollbackOutcome = { ok: true, found: true, stamp: record.stamp, files: [], reloaded: [], alreadyRolledBack: [], problems: [] };
  for (const node of record.nodes) {
    const uri = record.targets[node]!;
    const root = record.backupRoots[node] ?? backupRootFor(uri);
    try {
      parseTarget(uri);
      const host = resolveHost(opts, node, uri);
      const journal = await readNodeJournal(host, root, record.stamp);
      if (!journal) continue;
      if (journal.status === 'rolled-back') {
        out.alreadyRolledBack.push(node);
        continue;
      }
      const restored = new Set<string>();
      await rollback(journal.entries, { [node]: host }, (e) => {
        if (e.kind === 'rolled-back') restored.add(e.path);
        opts.onEvent?.(e);
      });
      for (const j of journal.entries) out.files.push({ node, path: j.path, action: !restored.has(j.path) ? 'untouched' : j.backup ? 'restored' : 'removed' });
      const seen = new Set<string>();
      for (const argv of journal.reloads) {
        const key = JSON.stringify(argv);
        if (seen.has(key)) continue;
        seen.add(key);
        const r = await host.run(argv, { timeoutMs: 120_000 });
        out.reloaded.push({ node, argv, exitCode: r.exitCode });
        if (r.exitCode !== 0) out.problems.push(`${node}: ${argv.join(' ')} exited ${r.exitCode} after the restore: ${r.stderr.trim().split('\n')[0] ?? ''}`);
      }
      journal.status = 'rolled-back';
      await saveNodeJournal(host, root, journal);
    } catch (e) {
      out.ok = false;
      out.problems.push(`${node} (${uri}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (out.ok) {
    record.status = 'rolled-back';
    writeRecord(stateDir, record);
  }
  return out;
}
