/**
 * `--fix`: a finding's fix carried out through the apply engine, so it gets
 * what every apply gets — the candidate validated by the real tool, a backup,
 * an atomic write, and a rollback of every file when a command fails.
 * fix.files become write-file steps whose content is the current file plus
 * the lines it lacks; fix.commands run in order on the finding's host.
 */
import { execute, type ExecuteResult, type ProgressEvent } from '../apply/execute.js';
import type { NodePlan, Step } from '../apply/plan.js';
import type { Validator } from '../core/render/types.js';
import type { Host } from '../host/types.js';
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

/** Pure: the plan for one finding, given the current text and mode of each file it touches. */
export function fixPlan(result: Result, current: ReadonlyMap<string, { text?: string; mode?: number }>): NodePlan {
  const fix = result.fix!;
  const steps: Step[] = [];
  for (const f of fix.files) {
    const cur = current.get(f.path);
    const content = withLines(cur?.text, f.lines);
    if (cur?.text !== undefined && content === cur.text) continue;
    steps.push({ kind: 'write-file', node: result.host, path: f.path, content, mode: cur?.mode ?? 0o644, validator: validatorForPath(f.path), description: `${result.id}: ${fix.why}` });
  }
  for (const argv of fix.commands) {
    steps.push({ kind: 'run', node: result.host, argv, why: `${result.id}: ${fix.why}`, onlyIfChanged: false, alsoAfterRollback: false });
  }
  // 'director' and the other node roles only name the verify step, which a fix does not use.
  return { node: result.host, role: 'director', steps };
}

export interface ApplyFixOptions {
  backupRoot?: string;
  onProgress?: (e: ProgressEvent) => void;
}

/** Read what the fix's files hold now, plan, execute on the finding's host. */
export async function applyFix(result: Result, host: Host, opts: ApplyFixOptions = {}): Promise<ExecuteResult> {
  const current = new Map<string, { text?: string; mode?: number }>();
  for (const f of result.fix?.files ?? []) {
    const text = await host.readFile(f.path);
    const st = text === undefined ? undefined : await host.run(['stat', '-c', '%a', f.path]);
    const mode = st && st.exitCode === 0 && /^[0-7]+$/.test(st.stdout.trim()) ? parseInt(st.stdout.trim(), 8) : undefined;
    current.set(f.path, { ...(text !== undefined ? { text } : {}), ...(mode !== undefined ? { mode } : {}) });
  }
  return execute([fixPlan(result, current)], {
    hosts: { [result.host]: host },
    // One backup folder per fix: two fixes in the same second must not share one.
    stamp: `${new Date().toISOString().replace(/[:.]/g, '-')}-${result.id}`,
    ...(opts.backupRoot ? { backupRoot: opts.backupRoot } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}
