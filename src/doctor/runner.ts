/**
 * The runner: every check that applies to a target, its detect run in
 * parallel (bounded, with a time limit), then its pure evaluate. A throw or a
 * hang becomes an `error` result naming the check and the host: the doctor
 * never dies with a check (DESIGN rule 3).
 */
import type { Installation, Mode, PlatformType } from '../core/model.js';
import type { Host } from '../host/types.js';
import type { Check, CheckContext, Result, Role } from './check.js';

/** One machine to check in one role: where it is, what it is, what the design says. */
export interface Target {
  /** The node's name (lab node name, design node name, host name). */
  node: string;
  role: Role;
  host: Host;
  platform: PlatformType;
  modes: Mode[];
  model?: Installation;
}

export type RunnerEvent =
  /** Every (check, target) pair that will run, before the first starts. */
  | { kind: 'planned'; jobs: Array<{ id: string; node: string }> }
  | { kind: 'started'; id: string; node: string }
  | { kind: 'finished'; id: string; node: string; results: Result[] };

export interface RunnerOptions {
  /** Run only these check ids (the CLI validates them first). */
  only?: readonly string[];
  /** Detects running at once; a remote host answers slower than it computes. */
  concurrency?: number;
  /** A detect that takes longer than this is reported as an error ("timed out"). */
  timeoutMs?: number;
  onEvent?: (e: RunnerEvent) => void;
}

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_DETECT_TIMEOUT_MS = 20_000;

/** The context each check sees for a target; peers are every other target by node name. */
export function contextFor(target: Target, targets: readonly Target[]): CheckContext {
  const peers = new Map<string, { role: Role; host: Host }>();
  for (const t of targets) if (t.node !== target.node && !peers.has(t.node)) peers.set(t.node, { role: t.role, host: t.host });
  return {
    node: target.node,
    role: target.role,
    platform: target.platform,
    modes: target.modes,
    ...(target.model ? { model: target.model } : {}),
    peers,
  };
}

interface Job {
  check: Check<unknown>;
  target: Target;
  ctx: CheckContext;
}

/**
 * Results come back in target order, then check order, whatever order the
 * detects finish in: two runs of the same machine read the same.
 */
export async function runChecks(targets: readonly Target[], checks: readonly Check<any>[], opts: RunnerOptions = {}): Promise<Result[]> {
  const emit = opts.onEvent ?? (() => undefined);
  const selected = opts.only && opts.only.length > 0 ? checks.filter((c) => opts.only!.includes(c.id)) : checks;
  const jobs: Job[] = [];
  const early: Array<Result[] | undefined> = [];
  for (const target of targets) {
    const ctx = contextFor(target, targets);
    for (const check of selected) {
      let applies: boolean;
      try {
        applies = check.appliesTo(ctx);
      } catch (e) {
        early[jobs.length] = [errorResult(check, target, `appliesTo threw: ${messageOf(e)}`)];
        jobs.push({ check, target, ctx });
        continue;
      }
      if (applies) jobs.push({ check, target, ctx });
    }
  }
  emit({ kind: 'planned', jobs: jobs.map((j) => ({ id: j.check.id, node: j.target.node })) });

  const out: Result[][] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i]!;
      emit({ kind: 'started', id: job.check.id, node: job.target.node });
      out[i] = early[i] ?? (await runOne(job, opts.timeoutMs ?? DEFAULT_DETECT_TIMEOUT_MS));
      emit({ kind: 'finished', id: job.check.id, node: job.target.node, results: out[i]! });
    }
  };
  const width = Math.max(1, Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, jobs.length));
  await Promise.all(Array.from({ length: width }, worker));
  return out.flat();
}

async function runOne(job: Job, timeoutMs: number): Promise<Result[]> {
  const { check, target, ctx } = job;
  let obs: unknown;
  try {
    obs = await withTimeout(check.detect(target.host, ctx), timeoutMs);
  } catch (e) {
    return [errorResult(check, target, e instanceof DetectTimeout ? `timed out after ${Math.round(timeoutMs / 1000)} s reading ${target.host.describe()}` : `detect failed: ${messageOf(e)}`)];
  }
  try {
    return check.evaluate(obs, ctx).map((f) => ({ ...f, id: check.id, title: check.title, host: target.node, role: target.role }));
  } catch (e) {
    return [errorResult(check, target, `evaluate failed: ${messageOf(e)}`)];
  }
}

class DetectTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DetectTimeout()), ms);
    timer.unref();
  });
  // A detect that ends after its limit must not surface as an unhandled rejection.
  p.catch(() => undefined);
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

function errorResult(check: Check<unknown>, target: Target, message: string): Result {
  return { id: check.id, title: check.title, host: target.node, role: target.role, status: 'error', message, evidence: [] };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Counts by status: the summary line and the JSON summary. */
export function summarize(results: readonly Result[]): Record<Result['status'], number> {
  const s = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

/** Exit code 1 when something fails; warnings and errors count only under --strict. */
export function hasFailure(results: readonly Result[], strict: boolean): boolean {
  return results.some((r) => r.status === 'fail' || (strict && (r.status === 'warn' || r.status === 'error')));
}
