/**
 * execute: carry out a plan on real hosts. Per file: compare, validate the
 * candidate with the real tool on the target, back up what it replaces, write
 * atomically. Then run and reload what changed, verify each node, and on any
 * failure put every touched host back as it was.
 */
import type { NodeRole } from '../core/render/bundle.js';
import type { Host } from '../host/types.js';
import { postWriteValidatorArgv, validatorArgv, type NodePlan, type Step } from './plan.js';

export const DEFAULT_BACKUP_ROOT = '/var/backups/lvs-toolkit';

export interface VerifyResult {
  ok: boolean;
  /** What was found, one line per finding; shown to the user. */
  details: string[];
}

export type Verifier = (node: string, role: NodeRole, host: Host) => Promise<VerifyResult>;

export type ProgressEvent =
  | { kind: 'node-start'; node: string }
  | { kind: 'unchanged'; node: string; path: string }
  | { kind: 'validated'; node: string; path: string; tool: string }
  | { kind: 'written'; node: string; path: string; backup?: string }
  | { kind: 'ran'; node: string; argv: string[]; why: string }
  | { kind: 'skipped'; node: string; argv: string[]; why: string }
  | { kind: 'verified'; node: string; details: string[] }
  | { kind: 'failed'; node: string; message: string }
  | { kind: 'rolled-back'; node: string; path: string };

export interface JournalEntry {
  node: string;
  path: string;
  /** Where the previous content was saved; undefined when the file did not exist. */
  backup?: string;
  previousMode?: number;
}

/**
 * Where a node's journal stands. It is written BEFORE each backup and each
 * write (write-ahead), so a process killed at any point leaves a journal
 * that names every file it may have touched and where the old one is.
 */
export type JournalStatus =
  /** Files are being backed up and replaced. */
  | 'writing'
  /** Every file of the node is written; scripts and reloads may have run. */
  | 'written'
  /** The apply finished and verified. */
  | 'done'
  /** The old files are back. */
  | 'rolled-back';

/** One node's journal file: `<backupRoot>/<stamp>/journal.json` on that node. */
export interface NodeJournal {
  stamp: string;
  node: string;
  status: JournalStatus;
  entries: JournalEntry[];
  /** Reload commands that ran, to run again after a rollback (the daemons then read the old files). */
  reloads: string[][];
}

/**
 * Points of an apply where a test can stop the process (to prove that a
 * kill at any of them leaves a state rollback restores):
 *  - after-backup: the first file's backup is saved, the live file is not yet replaced;
 *  - between-nodes: one node's files are all written, the next node's not yet;
 *  - after-reload: every script and reload ran, nothing is verified.
 */
export const CHECKPOINTS = ['after-backup', 'between-nodes', 'after-reload'] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

export interface ExecuteOptions {
  hosts: Readonly<Record<string, Host>>;
  verify?: Verifier;
  /**
   * Checked once after every reload and before the per-node verification:
   * does the service answer as a whole (a request through the VIP)? A
   * failure rolls everything back, like a failed verification.
   */
  trace?: () => Promise<VerifyResult>;
  /** Backup root for every node (default DEFAULT_BACKUP_ROOT). */
  backupRoot?: string;
  /** Backup root per node, where nodes differ (a lab node keeps its own files under /etc only). */
  backupRoots?: Readonly<Record<string, string>>;
  /** Names this apply's backup folder; default: an ISO timestamp. */
  stamp?: string;
  onProgress?: (e: ProgressEvent) => void;
  /** Called at each checkpoint; a test hook (the wizard kills itself here under LVS_WIZARD_KILL_AT). */
  checkpoint?: (point: Checkpoint, node: string) => void | Promise<void>;
}

export interface ApplyFailure {
  node: string;
  step: string;
  message: string;
  output: string;
}

export interface ExecuteResult {
  ok: boolean;
  /** Files that were (and still are, when ok) replaced. */
  changed: Array<{ node: string; path: string }>;
  journal: JournalEntry[];
  stamp: string;
  failure?: ApplyFailure;
  rolledBack: boolean;
  verified: Array<{ node: string; details: string[] }>;
}

class StepFailed extends Error {
  constructor(readonly failure: ApplyFailure) {
    super(failure.message);
  }
}

/** A stamp that sorts by time and is a safe directory name: 2024-05-01T10-00-00-000Z. */
export function newStamp(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

export function journalPath(backupRoot: string, stamp: string): string {
  return `${backupRoot}/${stamp}/journal.json`;
}

export async function execute(plans: readonly NodePlan[], opts: ExecuteOptions): Promise<ExecuteResult> {
  const stamp = opts.stamp ?? newStamp();
  const rootOf = (node: string) => opts.backupRoots?.[node] ?? opts.backupRoot ?? DEFAULT_BACKUP_ROOT;
  const emit = opts.onProgress ?? (() => undefined);
  const checkpoint = opts.checkpoint ?? (() => undefined);
  const journal: JournalEntry[] = [];
  const journals = new Map<string, NodeJournal>();
  const verified: ExecuteResult['verified'] = [];
  const ran: Array<{ node: string; step: Extract<Step, { kind: 'run' }> }> = [];

  for (const p of plans) {
    if (!opts.hosts[p.node]) {
      return {
        ok: false,
        changed: [],
        journal,
        stamp,
        rolledBack: false,
        verified,
        failure: { node: p.node, step: 'connect', message: `no target for node ${p.node}`, output: '' },
      };
    }
  }
  const save = (node: string) => saveNodeJournal(opts.hosts[node]!, rootOf(node), journals.get(node)!);

  try {
    // Phase 1: every file on every node, validated before it replaces anything.
    for (const [i, p] of plans.entries()) {
      const host = opts.hosts[p.node]!;
      emit({ kind: 'node-start', node: p.node });
      for (const step of p.steps) {
        if (step.kind !== 'write-file') continue;
        const current = await host.readFile(step.path);
        if (current === step.content) {
          emit({ kind: 'unchanged', node: p.node, path: step.path });
          continue;
        }
        await validateCandidate(host, p.node, step, stamp);
        const entry: JournalEntry = { node: p.node, path: step.path };
        if (current !== undefined) entry.backup = `${rootOf(p.node)}/${stamp}${step.path}`;
        // Write-ahead: the journal names the file and its backup before either is touched.
        let nj = journals.get(p.node);
        if (!nj) journals.set(p.node, (nj = { stamp, node: p.node, status: 'writing', entries: [], reloads: [] }));
        nj.entries.push(entry);
        journal.push(entry);
        await save(p.node);
        if (entry.backup) {
          await backupFile(host, p.node, step.path, entry.backup);
          await checkpoint('after-backup', p.node);
        }
        await host.writeFile(step.path, step.content, step.mode);
        emit({ kind: 'written', node: p.node, path: step.path, ...(entry.backup ? { backup: entry.backup } : {}) });
        const post = postWriteValidatorArgv(step.validator);
        if (post) {
          const r = await host.run(post);
          if (r.exitCode !== 0) {
            throw new StepFailed({ node: p.node, step: `validate ${step.path}`, message: `${post.join(' ')} rejected ${step.path}`, output: `${r.stderr}${r.stdout}` });
          }
          emit({ kind: 'validated', node: p.node, path: step.path, tool: post[0]! });
        }
      }
      const nj = journals.get(p.node);
      if (nj) {
        nj.status = 'written';
        await save(p.node);
        if (i < plans.length - 1) await checkpoint('between-nodes', p.node);
      }
    }

    // Phase 2: scripts and reloads, only where something changed.
    for (const p of plans) {
      const host = opts.hosts[p.node]!;
      for (const step of p.steps) {
        if (step.kind !== 'run') continue;
        if (step.onlyIfChanged && !journals.has(p.node)) {
          emit({ kind: 'skipped', node: p.node, argv: step.argv, why: 'no changes' });
          continue;
        }
        if (step.alsoAfterRollback && journals.has(p.node)) {
          // Recorded before it runs: a kill during the reload still leaves a journal that reloads again after rollback.
          journals.get(p.node)!.reloads.push(step.argv);
          await save(p.node);
        }
        const r = await host.run(step.argv, step.input !== undefined ? { input: step.input, timeoutMs: 120_000 } : { timeoutMs: 120_000 });
        ran.push({ node: p.node, step });
        if (r.exitCode !== 0) {
          throw new StepFailed({ node: p.node, step: step.why, message: `${describeArgv(step.argv)} exited ${r.exitCode} on ${host.describe()}`, output: `${r.stderr}${r.stdout}` });
        }
        emit({ kind: 'ran', node: p.node, argv: step.argv, why: step.why });
      }
    }
    if (journals.size > 0) await checkpoint('after-reload', plans[plans.length - 1]!.node);

    // Phase 3: the service as a whole, then each node by the caller's checks (the doctor's, for the wizard).
    if (opts.trace && journals.size > 0) {
      const t = await opts.trace();
      if (!t.ok) throw new StepFailed({ node: '-', step: 'trace', message: 'the service does not answer through its VIP after the apply', output: t.details.join('\n') });
    }
    if (opts.verify) {
      for (const p of plans) {
        const v = p.steps.find((s): s is Extract<Step, { kind: 'verify' }> => s.kind === 'verify');
        if (!v) continue;
        const res = await opts.verify(p.node, v.role, opts.hosts[p.node]!);
        verified.push({ node: p.node, details: res.details });
        if (!res.ok) throw new StepFailed({ node: p.node, step: 'verify', message: `verification failed on ${p.node}`, output: res.details.join('\n') });
        emit({ kind: 'verified', node: p.node, details: res.details });
      }
    }
    for (const [node, nj] of journals) {
      nj.status = 'done';
      await save(node);
    }
    return { ok: true, changed: journal.map((j) => ({ node: j.node, path: j.path })), journal, stamp, rolledBack: false, verified };
  } catch (e) {
    const failure: ApplyFailure =
      e instanceof StepFailed ? e.failure : { node: '?', step: 'apply', message: e instanceof Error ? e.message : String(e), output: '' };
    emit({ kind: 'failed', node: failure.node, message: failure.message });
    let rolledBack = true;
    try {
      await rollback(journal, opts.hosts, emit);
    } catch (r) {
      rolledBack = false;
      failure.output = `${failure.output}${failure.output ? '\n' : ''}rollback stopped: ${r instanceof Error ? r.message : String(r)} (lvs-wizard rollback --to ${stamp} tries again)`;
    }
    // Bring daemons back on the restored files.
    const again = new Set<string>();
    for (const { node, step } of ran) {
      if (!step.alsoAfterRollback || again.has(`${node}\0${step.argv.join(' ')}`)) continue;
      again.add(`${node}\0${step.argv.join(' ')}`);
      await opts.hosts[node]!.run(step.argv).catch(() => undefined);
    }
    if (rolledBack) {
      for (const [node, nj] of journals) {
        nj.status = 'rolled-back';
        await save(node).catch(() => undefined);
      }
    }
    return { ok: false, changed: [], journal, stamp, failure, rolledBack, verified };
  }
}

async function validateCandidate(host: Host, node: string, step: Extract<Step, { kind: 'write-file' }>, stamp: string): Promise<void> {
  const base = step.path.split('/').pop()!;
  const candidate = `/tmp/lvs-toolkit-${stamp}-${base}`;
  const argv = validatorArgv(step.validator, candidate);
  if (!argv) return;
  await host.writeFile(candidate, step.content, 0o600);
  try {
    const r = await host.run(argv, { timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const output = `${r.stderr}${r.stdout}`.split(candidate).join(step.path);
      throw new StepFailed({ node, step: `validate ${step.path}`, message: `${argv[0]} rejected ${step.path} (exit ${r.exitCode}); nothing was changed by it`, output });
    }
  } finally {
    await host.run(['rm', '-f', candidate]);
  }
}

/**
 * The backup is a copy by `cp -p`: the same bytes (text or not), mode,
 * owner and times, so a restore is byte-identical and keeps the mtime.
 */
const BACKUP_SCRIPT = 'set -e; mkdir -p -- "$(dirname -- "$2")"; cp -p -- "$1" "$2.part"; mv -f -- "$2.part" "$2"';
/** Restore atomically (copy beside the file, then rename over it); exit 3 when the backup was never made. */
const RESTORE_SCRIPT = '[ -e "$1" ] || exit 3; set -e; cp -p -- "$1" "$2.lvs-restore"; mv -f -- "$2.lvs-restore" "$2"';

async function backupFile(host: Host, node: string, path: string, backup: string): Promise<void> {
  const r = await host.run(['sh', '-c', BACKUP_SCRIPT, 'sh', path, backup], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new StepFailed({ node, step: `back up ${path}`, message: `cannot copy ${path} to ${backup} on ${host.describe()}`, output: r.stderr });
}

/** Write a node's journal (atomically, like every file the engine writes). */
export async function saveNodeJournal(host: Host, root: string, nj: NodeJournal): Promise<void> {
  await host.writeFile(journalPath(root, nj.stamp), `${JSON.stringify(nj, null, 2)}\n`, 0o600);
}

/** Read a node's journal of one apply; undefined when that node has none (it was not touched). */
export async function readNodeJournal(host: Host, backupRoot: string, stamp: string): Promise<NodeJournal | undefined> {
  const text = await host.readFile(journalPath(backupRoot, stamp));
  if (text === undefined) return undefined;
  const j = JSON.parse(text) as Partial<NodeJournal> & { entries: JournalEntry[] };
  // Journals of earlier versions had no status or reloads: they were written after the node's files.
  return { stamp: j.stamp ?? stamp, node: j.node ?? j.entries[0]?.node ?? '?', status: j.status ?? 'written', entries: j.entries, reloads: j.reloads ?? [] };
}

/** The stamps of journals on a node that never reached done or rolled-back (an apply that was killed). */
export async function unfinishedJournals(host: Host, backupRoot: string): Promise<string[]> {
  const r = await host.run(['sh', '-c', 'for f in "$1"/*/journal.json; do [ -e "$f" ] && grep -qE \'"status": "(writing|written)"\' "$f" && basename "$(dirname "$f")"; done; exit 0', 'sh', backupRoot], {
    timeoutMs: 60_000,
  });
  return r.stdout.split('\n').filter((l) => /^[0-9A-Za-z._-]+$/.test(l));
}

/**
 * Undo in reverse order: restore backups, remove files that did not exist.
 * An entry whose backup was never made (the process stopped between the
 * journal and the copy) left its file untouched: it is skipped.
 */
export async function rollback(journal: readonly JournalEntry[], hosts: Readonly<Record<string, Host>>, emit: (e: ProgressEvent) => void = () => undefined): Promise<void> {
  for (const j of [...journal].reverse()) {
    const host = hosts[j.node];
    if (!host) continue;
    if (j.backup) {
      const r = await host.run(['sh', '-c', RESTORE_SCRIPT, 'sh', j.backup, j.path], { timeoutMs: 60_000 });
      if (r.exitCode === 3) continue;
      if (r.exitCode !== 0) throw new Error(`cannot restore ${j.path} from ${j.backup} on ${host.describe()}: ${r.stderr.trim()}`);
    } else {
      await host.run(['rm', '-f', j.path]);
    }
    emit({ kind: 'rolled-back', node: j.node, path: j.path });
  }
}

function describeArgv(argv: readonly string[]): string {
  return argv[0] === 'sh' && argv[1] === '-s' ? 'the setup script' : argv.join(' ');
}
