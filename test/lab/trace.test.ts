/**
 * lvs-trace against the real IPVS kernel (issue 5): on a healthy lab of each
 * mode every traced connection completes (exit 0); then the lab is broken the
 * way a user's was, traffic is sent, and `lvs-trace VIP --lab --json` must
 * name the point where the packets stop and the doctor check that explains
 * it (exit 1). The trace and `lvs-lab traffic` run in parallel, both spawned
 * here, as a user would run them in two terminals.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceReport } from '../../src/capture/types.js';
import { ROOT } from '../helpers/fixtures.js';
import { LabCli } from './helpers.js';

const TRACE_BIN = join(ROOT, 'dist', 'bin', 'lvs-trace.js');
const LAB_BIN = join(ROOT, 'dist', 'bin', 'lvs-lab.js');
const VIP = '10.0.0.100:80';
const REQUESTS = 6;

/** A lab in the tracer's own state dir (never a lab a person or another test runs). */
class TraceLab extends LabCli {
  override readonly state = process.env.LVS_LAB_STATE_TRACE ?? '/run/lvs-toolkit/lab-trace';
}

interface Spawned {
  stdout: string;
  stderr: string;
  code: number | null;
}

function spawnNode(argv: string[], env: NodeJS.ProcessEnv, onStderr?: (text: string) => void): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

/** `lvs-trace VIP --lab --count N --json` while `lvs-lab traffic --count N` runs; the parsed report and exit code. */
async function traceWhileTraffic(lab: LabCli): Promise<{ report: TraceReport; code: number | null; raw: string }> {
  const env = { ...process.env, LVS_LAB_STATE: lab.state };
  let ready!: () => void;
  const capturing = new Promise<void>((resolve) => (ready = resolve));
  const trace = spawnNode([TRACE_BIN, VIP, '--lab', '--count', String(REQUESTS), '--duration', '150', '--json'], env, (err) => {
    if (err.includes('capturing at')) ready();
  });
  // The traffic starts once every capture point runs (or the trace already ended, failing).
  await Promise.race([capturing, trace]);
  const traffic = await spawnNode([LAB_BIN, 'traffic', '--count', String(REQUESTS), '--json'], env);
  const t = await trace;
  const raw = `lvs-trace exit ${t.code}\n${t.stdout}\n${t.stderr}\nlvs-lab traffic exit ${traffic.code}\n${traffic.stdout}\n${traffic.stderr}`;
  let report: TraceReport;
  try {
    report = JSON.parse(t.stdout) as TraceReport;
  } catch {
    throw new Error(`lvs-trace printed no JSON:\n${raw}`);
  }
  return { report, code: t.code, raw };
}

function summary(r: TraceReport): string {
  return JSON.stringify(
    {
      flows: r.flows.map((f) => ({ backend: f.backend, ok: f.verdict.ok, after: f.verdict.stoppedAfter, before: f.verdict.stoppedBefore, check: f.verdict.check, cause: f.verdict.cause, hops: f.hops.map((h) => `${h.point}${h.seen ? '+' : '-'}`).join(' ') })),
      points: r.points,
      notes: r.notes,
    },
    null,
    2,
  );
}

const LAB_MS = 600_000;

describe.sequential('lvs-trace --lab', () => {
describe.each([
  {
    example: 'nat',
    points: ['client:eth0', 'dir1:eth0', 'dir1:eth1', 'rs1:eth0', 'rs2:eth0'],
    break: {
      what: 'an nft drop of the VIP on the director',
      node: 'dir1',
      argv: ['nft', 'insert', 'rule', 'inet', 'lvs_toolkit', 'input', 'ip', 'daddr', '10.0.0.100', 'tcp', 'dport', '80', 'drop'],
      backends: ['rs1', 'rs2'],
      stoppedAfter: 'dir1:eth0',
      check: 'director-firewall',
    },
  },
  {
    example: 'dr',
    points: ['client:eth0', 'rs1:eth0', 'rs2:eth0'],
    break: {
      what: 'the VIP removed from lo on rs1',
      node: 'rs1',
      argv: ['ip', 'addr', 'del', '10.0.0.100/32', 'dev', 'lo'],
      backends: ['rs1'],
      stoppedAfter: 'rs1:eth0',
      check: 'rs-vip',
    },
  },
  {
    example: 'tun',
    points: ['client:eth0', 'dir1:eth0', 'rs1:eth0', 'rs1:tunl0', 'rs2:eth0', 'rs2:tunl0'],
    break: {
      what: 'rp_filter=1 on rs1 (all, tunl0, eth0)',
      node: 'rs1',
      argv: ['sysctl', '-w', 'net.ipv4.conf.all.rp_filter=1', 'net.ipv4.conf.tunl0.rp_filter=1', 'net.ipv4.conf.eth0.rp_filter=1'],
      backends: ['rs1'],
      stoppedAfter: 'rs1:tunl0',
      check: 'rs-rp-filter',
    },
  },
])('lvs-trace --lab on the $example example', ({ example, points, break: brk }) => {
  const lab = new TraceLab(example);

  beforeAll(() => {
    lab.run(['down'], 120_000);
    lab.ok(['up', '--example', example], LAB_MS);
  }, LAB_MS);

  afterAll(() => {
    lab.down();
  }, 180_000);

  it('a healthy lab: every connection completes, exit 0, every point captured', async () => {
    const { report, code, raw } = await traceWhileTraffic(lab);
    expect(code, raw).toBe(0);
    expect(report.flows.length, summary(report)).toBeGreaterThanOrEqual(REQUESTS);
    expect(report.flows.filter((f) => !f.verdict.ok), summary(report)).toEqual([]);
    expect(new Set(report.flows.map((f) => f.backend)), summary(report)).toEqual(new Set(['rs1', 'rs2']));
    for (const p of points) expect(report.points.find((x) => x.name === p)?.received ?? 0, `${p}\n${summary(report)}`).toBeGreaterThan(0);
    expect(report.points.every((p) => p.dropped === 0), summary(report)).toBe(true);
  }, LAB_MS);

  it(`broken by ${brk.what}: the trace names ${brk.check} after ${brk.stoppedAfter}`, async () => {
    const r = lab.exec(brk.node, brk.argv);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const { report, code, raw } = await traceWhileTraffic(lab);
    expect(code, raw).toBe(1);
    const broken = report.flows.filter((f) => brk.backends.includes(f.backend ?? '') || (brk.check === 'director-firewall' && f.backend === null));
    expect(broken.length, summary(report)).toBeGreaterThan(0);
    for (const f of broken) {
      expect({ ok: f.verdict.ok, stoppedAfter: f.verdict.stoppedAfter, check: f.verdict.check }, summary(report)).toEqual({ ok: false, stoppedAfter: brk.stoppedAfter, check: brk.check });
    }
    // The other real server still serves: its connections complete.
    for (const f of report.flows.filter((x) => x.backend !== null && !brk.backends.includes(x.backend))) expect(f.verdict.ok, summary(report)).toBe(true);
  }, LAB_MS);
});
});
