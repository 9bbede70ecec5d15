/**
 * The real lvs-trace command, spawned as a user runs it (npm run build
 * first): its help, its usage errors (exit 2), captures read back with
 * `-r POINT=FILE` from lab recordings (exit 0 healthy, 1 stopped), and a live
 * capture in throw-away namespaces whose `-w` pcaps tshark counts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceReport } from '../../src/capture/types.js';
import { ROOT } from '../helpers/fixtures.js';
import { run } from '../helpers/netns.js';

const BIN = join(ROOT, 'dist', 'bin', 'lvs-trace.js');
const PCAPS = join(ROOT, 'fixtures', 'pcaps');

function trace(args: string[], prefix: string[] = []): { stdout: string; stderr: string; code: number | null } {
  const argv = [...prefix, process.execPath, BIN, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvs-trace-bin-'));
  const svc = (mode: string, rsNet: string) =>
    `services:\n  - { name: web, vip: 10.0.0.100, ports: [80], scheduler: rr, mode: ${mode}, realServers: [{ name: rs1, address: ${rsNet}.11 }, { name: rs2, address: ${rsNet}.12 }] }\n`;
  writeFileSync(join(dir, 'dr.yaml'), `directors: [{ name: dir1, interfaces: [{ name: eth0, address: 10.0.0.1/24 }] }]\n${svc('dr', '10.0.0')}`);
  writeFileSync(join(dir, 'nat.yaml'), `directors: [{ name: dir1, interfaces: [{ name: eth0, address: 10.0.0.1/24 }, { name: eth1, address: 10.0.1.1/24 }] }]\n${svc('nat', '10.0.1')}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lvs-trace --help and usage', () => {
  it('documents the sources, --count, the JSON shape and the exit codes', () => {
    const r = trace(['--help']);
    expect(r.code).toBe(0);
    for (const s of ['--lab', '--at HOST:IFACE', '-r POINT=FILE', '-w, --write DIR', '--count N', '--duration S', '"stoppedAfter"', '"dropped"', 'CAP_NET_RAW', 'tcpdump missing', 'rx_dropped']) expect(r.stdout).toContain(s);
  });

  it('bad usage exits 2 with what was expected', () => {
    expect(trace([])).toMatchObject({ code: 2, stderr: expect.stringContaining('which VIP? give VIP[:PORT]') });
    expect(trace(['10.0.0.100', '--count', 'many'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--count expects a positive whole number, got "many"') });
    expect(trace(['10.0.0.300:80', '--config', join(dir, 'dr.yaml')])).toMatchObject({ code: 2, stderr: expect.stringContaining('bad VIP "10.0.0.300:80"') });
    const r = trace(['10.0.0.100:80', '--config', join(dir, 'dr.yaml'), '-r', `rs9:eth0=${join(PCAPS, 'healthy-dr', 'rs1.pcap')}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-r names no point of this trace: rs9:eth0');
    expect(r.stderr).toContain('the points are: dir1:eth0, rs1:eth0, rs2:eth0');
  });
});

describe('lvs-trace -r (lab recordings)', () => {
  const files = (scenario: string, map: Record<string, string>) => Object.entries(map).flatMap(([p, f]) => ['-r', `${p}=${join(PCAPS, scenario, f)}`]);

  it('healthy DR: every connection completes, exit 0, the JSON has the documented shape', () => {
    const r = trace(['10.0.0.100:80', '--config', join(dir, 'dr.yaml'), '--json', ...files('healthy-dr', { 'dir1:eth0': 'dir1-eth0.pcap', 'rs1:eth0': 'rs1.pcap', 'rs2:eth0': 'rs2.pcap' })]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as TraceReport;
    expect(report.flows.length).toBeGreaterThan(0);
    expect(report.flows.every((f) => f.verdict.ok)).toBe(true);
    expect(Object.keys(report.flows[0]!).sort()).toEqual(['backend', 'client', 'hops', 'verdict', 'vip']);
    expect(Object.keys(report.flows[0]!.verdict).sort()).toEqual(['cause', 'check', 'ok', 'stoppedAfter', 'stoppedBefore']);
    expect(report.points.map((p) => ({ name: p.name, host: p.host, dropped: p.dropped }))).toEqual([
      { name: 'dir1:eth0', host: 'file', dropped: null },
      { name: 'rs1:eth0', host: 'file', dropped: null },
      { name: 'rs2:eth0', host: 'file', dropped: null },
    ]);
  });

  it('NAT with the director firewall dropping the VIP: stopped at the director, director-firewall, exit 1 (plain text)', () => {
    const r = trace(['10.0.0.100:80', '--config', join(dir, 'nat.yaml'), ...files('nat-director-firewall', { 'dir1:eth0': 'dir1-eth0.pcap' })]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^STOPPED 10\.0\.0\.\d+:\d+ → 10\.0\.0\.100:80: after dir1:eth0: .*\[lvs-doctor director-firewall\]$/m);
    expect(r.stdout).toMatch(/connections?: 0 completed, \d+ stopped$/m);
  });
});

describe('lvs-trace live, in namespaces', () => {
  it('captures on this machine with cap and through a netns Host with tcpdump; -w pcaps match tshark; --count stops it', async () => {
    const a = `lvstb-a-${process.pid}`;
    const b = `lvstb-b-${process.pid}`;
    const out = join(dir, 'w');
    try {
      for (const ns of [a, b]) expect(run(['ip', 'netns', 'add', ns]).exitCode).toBe(0);
      expect(run(['ip', '-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]).exitCode).toBe(0);
      run(['ip', '-n', a, 'addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
      run(['ip', '-n', b, 'addr', 'add', '10.0.0.50/24', 'dev', 'eth0']);
      for (const ns of [a, b]) for (const l of ['lo', 'eth0']) run(['ip', '-n', ns, 'link', 'set', l, 'up']);
      const mac = (JSON.parse(run(['ip', '-n', a, '-j', 'link', 'show', 'eth0']).stdout) as Array<{ address: string }>)[0]!.address;
      // The client reaches the VIP at the director's MAC; no IPVS here, so nothing is forwarded.
      run(['ip', '-n', b, 'neigh', 'add', '10.0.0.100', 'lladdr', mac, 'dev', 'eth0']);
      const p = spawn('ip', ['netns', 'exec', a, process.execPath, BIN, '10.0.0.100:80', '--config', join(dir, 'dr.yaml'), '--at', `netns:${b}:eth0=client`, '--count', '2', '--duration', '60', '--json', '-w', out]);
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const started = new Promise<void>((resolve) => p.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), stderr.includes('capturing at') && resolve())));
      const exited = new Promise<number | null>((resolve) => p.on('close', resolve));
      await Promise.race([started, exited]);
      for (let i = 0; i < 2; i++) run(['ip', 'netns', 'exec', b, 'timeout', '1', 'busybox', 'wget', '-q', '-O', '-', 'http://10.0.0.100/']);
      const code = await exited;
      expect(code, stderr).toBe(1);
      const report = JSON.parse(stdout) as TraceReport;
      expect(report.flows, stderr).toHaveLength(2);
      for (const f of report.flows) expect(f.verdict).toMatchObject({ ok: false, stoppedAfter: 'dir1:eth0', check: 'director-firewall' });
      expect(report.points.map((x) => x.name)).toEqual(['dir1:eth0', `${b}:eth0`]);
      expect(report.flows[0]!.hops.map((h) => h.point)).toEqual([`${b}:eth0`, 'dir1:eth0']);
      for (const pt of report.points) {
        expect(pt.received).toBeGreaterThanOrEqual(2);
        expect(pt.dropped).toBe(0);
        const file = join(out, `${pt.name.replace(/[^A-Za-z0-9._-]/g, '_')}.pcap`);
        const t = run(['tshark', '-r', file, '-T', 'fields', '-e', 'frame.number']);
        expect(t.exitCode, t.stderr).toBe(0);
        expect(t.stdout.split('\n').filter(Boolean).length).toBe(pt.received);
      }
    } finally {
      for (const ns of [a, b]) run(['ip', 'netns', 'del', ns]);
    }
  });
});
