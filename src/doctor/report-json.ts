/**
 * `--json`: the documented shape (issue 4), for scripts and the lab tests:
 * {"checks":[{"id","title","status","host","role","message","evidence","fix":{"why","commands","files"}|null}],
 *  "summary":{"pass","warn","fail","skip","error"}}
 * `message` (the finding's sentence) is there because without it a `fail`
 * says which check but not what it found; `fix` is null when there is none.
 */
import type { Fix, Result, Status } from './check.js';
import { summarize } from './runner.js';

export interface JsonCheck {
  id: string;
  title: string;
  status: Status;
  host: string;
  role: Result['role'];
  message: string;
  evidence: string[];
  fix: Fix | null;
}

export interface JsonReport {
  checks: JsonCheck[];
  summary: Record<Status, number>;
}

export function toJsonReport(results: readonly Result[]): JsonReport {
  return {
    checks: results.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      host: r.host,
      role: r.role,
      message: r.message,
      evidence: r.evidence,
      fix: r.fix ? { why: r.fix.why, commands: r.fix.commands, files: r.fix.files } : null,
    })),
    summary: summarize(results),
  };
}

export function renderJson(results: readonly Result[]): string {
  return `${JSON.stringify(toJsonReport(results), null, 2)}\n`;
}
