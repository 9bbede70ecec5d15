/**
 * lvs-doctor --lab against a real DR lab: every node reported in its role,
 * then one break (ARP sysctls on rs1) found as a failure on rs1 and repaired
 * by --fix --yes through the apply engine.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabDesign } from '../../src/lab/topology.js';
import { ROOT } from '../helpers/fixtures.js';
import { LabCli } from './helpers.js';
import { readFileSync } from 'node:fs';

const DOCTOR = join(ROOT, 'dist', 'bin', 'lvs-doctor.js');
const lab = new LabCli('doctor-cli');

interface JsonReport {
  checks: Array<{ id: string; status: string; host: string; role: string; message: string; evidence: string[]; fix: { commands: string[][] } | null }>;
  summary: Record<'pass' | 'warn' | 'fail' | 'skip' | 'error', number>;
}

function doctor(args: string[]): { report: JsonReport; code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [DOCTOR, '--lab', '--json', ...args], { encoding: 'utf8', env: { ...process.env, LVS_LAB_STATE: lab.state }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  try {
    return { report: JSON.parse(r.stdout) as JsonReport, code: r.status, stderr: r.stderr };
  } catch {
    throw new Error(`lvs-doctor ${args.join(' ')} gave no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

beforeAll(() => {
  lab.ok(['up', '--example', 'dr']);
});
afterAll(() => lab.down());

describe('lvs-doctor --lab on a DR lab', () => {
  it('reports every node in its role, and breaks and repairs rs1 ARP sysctls', () => {
    const design = JSON.parse(readFileSync(join(lab.state, 'design.json'), 'utf8')) as LabDesign;
    const healthy = doctor([]);
    const counts = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
    for (const c of healthy.report.checks) counts[c.status as keyof typeof counts]++;
    expect(healthy.report.summary).toEqual(counts);
    for (const n of design.nodes) {
      const reach = healthy.report.checks.find((c) => c.host === n.name && c.id === 'host-reachable');
      expect(reach, n.name).toMatchObject({ status: 'pass', role: n.role });
    }
    expect(new Set(healthy.report.checks.map((c) => c.host))).toEqual(new Set(design.nodes.map((n) => n.name)));
    expect(healthy.code, healthy.stderr).toBe(healthy.report.summary.fail > 0 ? 1 : 0);
    const before = healthy.report.checks.find((c) => c.id === 'rs-arp-sysctls' && c.host === 'rs1');
    expect(before?.status, JSON.stringify(before)).toBe('pass');

    // Break: rs1 answers ARP for the VIP again (all and eth0, since the kernel takes the max).
    for (const k of ['all', 'eth0', 'lo']) lab.exec('rs1', ['sysctl', '-w', `net.ipv4.conf.${k}.arp_ignore=0`, `net.ipv4.conf.${k}.arp_announce=0`]);
    const broken = doctor(['rs-arp-sysctls']);
    expect(broken.code).toBe(1);
    const fail = broken.report.checks.filter((c) => c.status === 'fail');
    expect(fail.map((c) => `${c.id}@${c.host}`)).toEqual(['rs-arp-sysctls@rs1']);
    expect(fail[0]!.fix?.commands.length).toBeGreaterThan(0);

    const fixed = doctor(['rs-arp-sysctls', '--fix', '--yes']);
    expect(fixed.stderr).toContain('applied');
    expect(fixed.report.checks.filter((c) => c.status === 'fail'), fixed.stderr).toEqual([]);
    expect(fixed.report.checks.find((c) => c.id === 'rs-arp-sysctls' && c.host === 'rs1')?.status).toBe('pass');
    expect(fixed.code).toBe(0);
    const now = lab.exec('rs1', ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.eth0.arp_ignore']).stdout.trim().split('\n').map(Number);
    expect(Math.max(...now)).toBeGreaterThanOrEqual(1);

    // A fresh run (no --fix) agrees: the repair is real, not the re-run's view.
    expect(doctor(['rs-arp-sysctls']).code).toBe(0);
  });
});
