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
 * checks' findings. With --json its stdout must be one JSON document (the
 * report after the fixes) and the log of each fix goes to stderr: a stdout
 * that does not parse is an error here, whatever the exit code.
 */
export function doctorFix(lab: LabCli, ids: string[]): { code: number | null; output: string; report: Omit<DoctorReport, 'code'> } {
  const r = runDoctor(lab, ['--fix', '--yes', ...ids]);
  let report: Omit<DoctorReport, 'code'>;
  try {
    report = JSON.parse(r.stdout) as Omit<DoctorReport, 'code'>;
  } catch {
    throw new Error(`lvs-doctor --fix --json: stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return { code: r.code, output: `${r.stdout}\n${r.stderr}`, report };
}

/** The failed (or errored) checks of a report, as `id@host` with the message, for readable assertions. */
export function failures(report: DoctorReport): Array<{ id: string; host: string; status: string; message: string }> {
  return report.checks
    .filter((c) => c.status === 'fail' || c.status === 'error')
    .map((c) => ({ id: c.id, host: c.host, status: c.status, message: c.message ?? c.evidence.join(' | ') }));
}
