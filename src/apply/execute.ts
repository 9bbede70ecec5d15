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

export interface ExecuteOptions {
  hosts: Readonly<Record<string, Host>>;
  verify?: Verifier;
  backupRoot?: string;
  /** Names this apply's backup folder; default: an ISO timestamp. */
  stamp?: string;
  onProgress?: (e: ProgressEvent) => void;
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

export async function execute(plans: readonly NodePlan[], opts: ExecuteOptions): Promise<ExecuteResult> {
  const stamp = opts.stamp ?? new Date().toISOString().replace(/[:.]/g, '-');
  const backupRoot = opts.backupRoot ?? DEFAULT_BACKUP_ROOT;
  const emit = opts.onProgress ?? (() => undefined);
  const journal: JournalEntry[] = [];
  const changedNodes = new Set<string>();
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

  try {
    // Phase 1: every file on every node, validated before it replaces anything.
    for (const p of plans) {
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
        if (current !== undefined) {
          const st = await host.run(['stat', '-c', '%a', step.path]);
          if (st.exitCode === 0 && /^[0-7]+$/.test(st.stdout.trim())) entry.previousMode = parseInt(st.stdout.trim(), 8);
          entry.backup = `${backupRoot}/${stamp}${step.path}`;
          await host.writeFile(entry.backup, current, 0o600);
        }
        await host.writeFile(step.path, step.content, step.mode);
        journal.push(entry);
        changedNodes.add(p.node);
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
      if (journal.some((j) => j.node === p.node)) {
        await saveJournal(host, backupRoot, stamp, journal.filter((j) => j.node === p.node));
      }
    }

    // Phase 2: scripts and reloads, only where something changed.
    for (const p of plans) {
      const host = opts.hosts[p.node]!;
      for (const step of p.steps) {
        if (step.kind !== 'run') continue;
        if (step.onlyIfChanged && !changedNodes.has(p.node)) {
          emit({ kind: 'skipped', node: p.node, argv: step.argv, why: 'no changes' });
          continue;
        }
        const r = await host.run(step.argv, step.input !== undefined ? { input: step.input, timeoutMs: 120_000 } : { timeoutMs: 120_000 });
        if (r.exitCode !== 0) {
          throw new StepFailed({ node: p.node, step: step.why, message: `${describeArgv(step.argv)} exited ${r.exitCode} on ${host.describe()}`, output: `${r.stderr}${r.stdout}` });
        }
        ran.push({ node: p.node, step });
        emit({ kind: 'ran', node: p.node, argv: step.argv, why: step.why });
      }
    }

    // Phase 3: verification by the caller's checks (the doctor's, for the wizard).
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
    return { ok: true, changed: journal.map((j) => ({ node: j.node, path: j.path })), journal, stamp, rolledBack: false, verified };
  } catch (e) {
    const failure: ApplyFailure =
      e instanceof StepFailed ? e.failure : { node: '?', step: 'apply', message: e instanceof Error ? e.message : String(e), output: '' };
    emit({ kind: 'failed', node: failure.node, message: failure.message });
    await rollback(journal, opts.hosts, emit);
    // Bring daemons back on the restored files.
    const again = new Set<string>();
    for (const { node, step } of ran) {
      if (!step.alsoAfterRollback || again.has(`${node}\0${step.argv.join(' ')}`)) continue;
      again.add(`${node}\0${step.argv.join(' ')}`);
      await opts.hosts[node]!.run(step.argv).catch(() => undefined);
    }
    return { ok: false, changed: [], journal, stamp, failure, rolledBack: true, verified };
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

async function saveJournal(host: Host, root: string, stamp: string, entries: JournalEntry[]): Promise<void> {
  await host.writeFile(`${root}/${stamp}/journal.json`, `${JSON.stringify({ stamp, entries }, null, 2)}\n`, 0o600);
}

/** Undo in reverse order: restore backups, remove files that did not exist. */
export async function rollback(journal: readonly JournalEntry[], hosts: Readonly<Record<string, Host>>, emit: (e: ProgressEvent) => void = () => undefined): Promise<void> {
  for (const j of [...journal].reverse()) {
    const host = hosts[j.node];
    if (!host) continue;
    if (j.backup) {
      const old = await host.readFile(j.backup);
      if (old !== undefined) await host.writeFile(j.path, old, j.previousMode ?? 0o644);
    } else {
      await host.run(['rm', '-f', j.path]);
    }
    emit({ kind: 'rolled-back', node: j.node, path: j.path });
  }
}

function describeArgv(argv: readonly string[]): string {
  return argv[0] === 'sh' && argv[1] === '-s' ? 'the setup script' : argv.join(' ');
}
