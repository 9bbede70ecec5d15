/**
 * Drive the real lvs-doctor binary against a lab started by `LabCli`, with
 * that lab's LVS_LAB_STATE, so doctor tests read and repair only their own lab.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/fixtures.js';
import type { LabCli } from './helpers.js';

export const DOCTOR_BIN = join(ROOT, 'dist', 'bin', 'lvs-doctor.js');

/** One entry of `lvs-doctor --json` (issue 4's documented shape). */
export interface DoctorCheck {
  id: string;
  title: string;
  status: 'pass' | 'warn' | 'fail' | 'skip' | 'error';
  host: string;
  role: string;
  message?: string;
  evidence: string[];
  fix: { why: string; commands: string[][]; files: unknown[] } | null;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  summary: Record<DoctorCheck['status'], number>;
  code: number | null;
}

function runDoctor(lab: LabCli, args: string[]): { stdout: string; stderr: string; code: number | null } {
  const r = spawnSync(process.execPath, [DOCTOR_BIN, '--lab', '--json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LVS_LAB_STATE: lab.state },
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status };
}

/** `lvs-doctor --lab --json [ids…]`, parsed; throws with what the tool said when it printed no JSON. */
export function doctor(lab: LabCli, ids: string[] = []): DoctorReport {
  const r = runDoctor(lab, ids);
  try {
    const parsed = JSON.parse(r.stdout) as Omit<DoctorReport, 'code'>;
    return { ...parsed, code: r.code };
  } catch {
    throw new Error(`lvs-doctor --lab --json ${ids.join(' ')} gave no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * `lvs-doctor --lab --json --fix --yes ids…`: applies the fixes of those
 * checks' findings. Its stdout is the JSON report followed by the plain log of
 * each fix, so the caller gets the raw text (for assertion messages).
 */
export function doctorFix(lab: LabCli, ids: string[]): { code: number | null; output: string } {
  const r = runDoctor(lab, ['--fix', '--yes', ...ids]);
  return { code: r.code, output: `${r.stdout}\n${r.stderr}` };
}

/** The failed (or errored) checks of a report, as `id@host` with the message, for readable assertions. */
export function failures(report: DoctorReport): Array<{ id: string; host: string; status: string; message: string }> {
  return report.checks
    .filter((c) => c.status === 'fail' || c.status === 'error')
    .map((c) => ({ id: c.id, host: c.host, status: c.status, message: c.message ?? c.evidence.join(' | ') }));
}
