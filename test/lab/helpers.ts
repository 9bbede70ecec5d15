/**
 * Drive the real lvs-lab binary as a user would, against a state dir of the
 * test's own (LVS_LAB_STATE), so lab tests never touch a lab a person runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/fixtures.js';

export const LAB_BIN = join(ROOT, 'dist', 'bin', 'lvs-lab.js');

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export class LabCli {
  readonly state: string;
  constructor(name: string) {
    this.state = mkdtempSync(join(tmpdir(), `lvs-labtest-${name}-`));
    rmSync(this.state, { recursive: true, force: true });
  }

  run(args: string[], timeoutMs = 300_000): CliResult {
    const r = spawnSync(process.execPath, [LAB_BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, LVS_LAB_STATE: this.state },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status };
  }

  /** Run and insist on exit 0, showing what the tool said otherwise. */
  ok(args: string[], timeoutMs?: number): string {
    const r = this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`lvs-lab ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  exec(node: string, argv: string[]): CliResult {
    return this.run(['exec', node, '--', ...argv], 60_000);
  }

  traffic(count: number): { vips: Array<{ vip: string; requests: number; failed: number; byBackend: Record<string, number>; latencyMs: { p50: number; max: number } }> } {
    const r = this.run(['traffic', '--count', String(count), '--json'], 300_000);
    try {
      return JSON.parse(r.stdout);
    } catch {
      throw new Error(`lvs-lab traffic gave no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  down(): void {
    this.run(['down'], 120_000);
    rmSync(this.state, { recursive: true, force: true });
  }
}

/** `ipvsadm -Ln --stats` of a director, as rows. */
export function ipvsStats(text: string): Array<{ kind: 'service' | 'real'; addr: string; conns: number; inPkts: number; outPkts: number }> {
  const rows = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(TCP|UDP|FWM|->)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (!m) continue;
    rows.push({ kind: m[1] === '->' ? ('real' as const) : ('service' as const), addr: m[2]!, conns: Number(m[3]), inPkts: Number(m[4]), outPkts: Number(m[5]) });
  }
  return rows;
}
