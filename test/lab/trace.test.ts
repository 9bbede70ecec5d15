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

type Cmd = [node: string, argv: string[]];

/** A way the lab is broken, how it is put back, and what the trace must say about it. */
interface Break {
  what: string;
  /** Run in order before the trace (each must exit 0). */
  breaks: Cmd[];
  /** Run in order after the trace, pass or fail, so the next break starts from a healthy lab. */
  repairs: Cmd[];
  /** A stop on the flows to these backends (null: the director sent the connection nowhere)... */
  stop?: { backends: Array<string | null>; stoppedAfter: Record<string, string>; check: string };
  /** ...or a finding beside the flows, which complete (with `stop`: a note the trace must also give). */
  note?: string;
}

const HTTPD_ON = (addr: string): string[] => [
  'sh',
  '-c',
  `kill "$(cat /run/httpd-80.pid)"; sleep 0.3; busybox httpd -f -p ${addr}:80 -h /run/www-80 </dev/null >/dev/null 2>&1 & echo $! > /run/httpd-80.pid`,
];
const ARP_SYSCTLS = (ignore: number, announce: number): string[] => [
  'sysctl',
  '-w',
  ...['all', 'eth0', 'lo'].map((i) => `net.ipv4.conf.${i}.arp_ignore=${ignore}`),
  ...['all', 'eth0'].map((i) => `net.ipv4.conf.${i}.arp_announce=${announce}`),
];
/** A drop in a base chain of a table of its own: every base chain on the hook runs, and a drop in any wins. */
const NFT_DROP = (match: string): string[] => ['nft', `add table inet labtest; add chain inet labtest in { type filter hook input priority -10; }; add rule inet labtest in ${match} drop`];
const NFT_UNDO = ['nft', 'delete', 'table', 'inet', 'labtest'];
const NAT_WEIGHT = (rip: string, w: number): Cmd => ['dir1', ['ipvsadm', '-e', '-t', '10.0.0.100:80', '-r', `${rip}:80`, '-m', '-w', String(w)]];

const MODES: Array<{ example: string; points: string[]; breaks: Break[] }> = [
  {
    example: 'nat',
    points: ['client:eth0', 'dir1:eth0', 'dir1:eth1', 'rs1:eth0', 'rs2:eth0'],
    breaks: [
      {
        what: 'an nft drop of the VIP on the director',
        breaks: [['dir1', NFT_DROP('ip daddr 10.0.0.100 tcp dport 80')]],
        repairs: [['dir1', NFT_UNDO]],
        stop: { backends: [null], stoppedAfter: { null: 'dir1:eth0' }, check: 'director-firewall' },
      },
      {
        what: 'every real server quiesced (weight 0)',
        breaks: [NAT_WEIGHT('10.0.1.11', 0), NAT_WEIGHT('10.0.1.12', 0)],
        repairs: [NAT_WEIGHT('10.0.1.11', 1), NAT_WEIGHT('10.0.1.12', 1)],
        stop: { backends: [null], stoppedAfter: { null: 'dir1:eth0' }, check: 'ipvs-table-sync' },
      },
      {
        what: "rs1's default route via rs2 instead of the director",
        breaks: [['rs1', ['ip', 'route', 'replace', 'default', 'via', '10.0.1.12', 'dev', 'eth0']]],
        repairs: [['rs1', ['ip', 'route', 'replace', 'default', 'via', '10.0.1.1', 'dev', 'eth0']]],
        stop: { backends: ['rs1'], stoppedAfter: { rs1: 'rs1:eth0' }, check: 'rs-nat-route' },
      },
    ],
  },
  {
    example: 'dr',
    points: ['client:eth0', 'rs1:eth0', 'rs2:eth0'],
    breaks: [
      {
        what: 'the VIP removed from lo on rs1',
        breaks: [['rs1', ['ip', 'addr', 'del', '10.0.0.100/32', 'dev', 'lo']]],
        repairs: [['rs1', ['ip', 'addr', 'add', '10.0.0.100/32', 'dev', 'lo']]],
        stop: { backends: ['rs1'], stoppedAfter: { rs1: 'rs1:eth0' }, check: 'rs-vip' },
      },
      {
        what: "rs1's web server listening on its RIP only",
        breaks: [['rs1', HTTPD_ON('10.0.0.11')]],
        repairs: [['rs1', HTTPD_ON('0.0.0.0')]],
        stop: { backends: ['rs1'], stoppedAfter: { rs1: 'rs1:eth0' }, check: 'rs-listening' },
      },
      {
        what: 'rs1 answering ARP for the VIP (arp_ignore/arp_announce 0)',
        breaks: [['rs1', ARP_SYSCTLS(0, 0)], ['client', ['ip', 'neigh', 'flush', 'dev', 'eth0']]],
        repairs: [['rs1', ARP_SYSCTLS(1, 2)], ['client', ['ip', 'neigh', 'flush', 'dev', 'eth0']]],
        note: 'vip-arp-answers',
      },
      {
        what: 'the backup director dropping VRRP (two masters)',
        breaks: [
          ['dir2', NFT_DROP('ip protocol 112')],
          ['dir2', ['sleep', '3']],
        ],
        repairs: [['dir2', NFT_UNDO], ['dir2', ['sleep', '3']], ['client', ['ip', 'neigh', 'flush', 'dev', 'eth0']]],
        note: 'vrrp-split-brain',
      },
    ],
  },
  {
    example: 'tun',
    points: ['client:eth0', 'dir1:eth0', 'rs1:eth0', 'rs1:tunl0', 'rs2:eth0', 'rs2:tunl0'],
    breaks: [
      {
        what: 'rp_filter=1 on rs1 (all, tunl0, eth0)',
        breaks: [['rs1', ['sysctl', '-w', 'net.ipv4.conf.all.rp_filter=1', 'net.ipv4.conf.tunl0.rp_filter=1', 'net.ipv4.conf.eth0.rp_filter=1']]],
        repairs: [['rs1', ['sysctl', '-w', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.tunl0.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0']]],
        stop: { backends: ['rs1'], stoppedAfter: { rs1: 'rs1:tunl0' }, check: 'rs-rp-filter' },
      },
      {
        // Last: one VM kernel, so this unloads ipip for rs2 as well; the lab goes down after it.
        what: 'the ipip module unloaded (kernel-wide in the lab: rs1 and rs2)',
        breaks: [['rs1', ['modprobe', '-r', 'ipip']]],
        repairs: [],
        stop: { backends: ['rs1', 'rs2'], stoppedAfter: { rs1: 'rs1:eth0', rs2: 'rs2:eth0' }, check: 'rs-tunnel' },
        // tunl0 went with the module: those points cannot capture, and the trace says why instead of giving up.
        note: 'rs-tunnel',
      },
    ],
  },
];

describe.sequential('lvs-trace --lab', () => {
  describe.each(MODES)('lvs-trace --lab on the $example example', ({ example, points, breaks }) => {
    const lab = new TraceLab(example);

    beforeAll(() => {
      lab.run(['down'], 120_000);
      lab.ok(['up', '--example', example], LAB_MS);
    }, LAB_MS);

    afterAll(() => {
      lab.down();
    }, 180_000);

    const run = (cmds: Cmd[]) => {
      for (const [node, argv] of cmds) {
        const r = lab.exec(node, argv);
        expect(r.code, `${node}: ${argv.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      }
    };

    it('a healthy lab: every connection completes, exit 0, every point captured', async () => {
      const { report, code, raw } = await traceWhileTraffic(lab);
      expect(code, raw).toBe(0);
      expect(report.flows.length, summary(report)).toBeGreaterThanOrEqual(REQUESTS);
      expect(report.flows.filter((f) => !f.verdict.ok), summary(report)).toEqual([]);
      expect(new Set(report.flows.map((f) => f.backend)), summary(report)).toEqual(new Set(['rs1', 'rs2']));
      for (const p of points) expect(report.points.find((x) => x.name === p)?.received ?? 0, `${p}\n${summary(report)}`).toBeGreaterThan(0);
      expect(report.points.every((p) => p.dropped === 0), summary(report)).toBe(true);
    }, LAB_MS);

    for (const brk of breaks) {
      const says = brk.stop ? `names ${brk.stop.check} after ${Object.values(brk.stop.stoppedAfter).join(', ')}` : `notes ${brk.note}`;
      it(`broken by ${brk.what}: the trace ${says}`, async () => {
        run(brk.breaks);
        try {
          const { report, code, raw } = await traceWhileTraffic(lab);
          if (brk.stop) {
            const stop = brk.stop;
            expect(code, raw).toBe(1);
            const broken = report.flows.filter((f) => stop.backends.includes(f.backend));
            expect(broken.length, summary(report)).toBeGreaterThan(0);
            for (const f of broken) {
              expect({ ok: f.verdict.ok, stoppedAfter: f.verdict.stoppedAfter, check: f.verdict.check }, summary(report)).toEqual({ ok: false, stoppedAfter: stop.stoppedAfter[String(f.backend)], check: stop.check });
            }
            // The other real server still serves: its connections complete.
            for (const f of report.flows.filter((x) => !stop.backends.includes(x.backend))) expect(f.verdict.ok, summary(report)).toBe(true);
            if (brk.note) expect((report.notes ?? []).map((n) => n.check), summary(report)).toContain(brk.note);
          } else {
            expect(code, raw).toBe(0);
            expect(report.flows.length, summary(report)).toBeGreaterThanOrEqual(REQUESTS);
            expect((report.notes ?? []).map((n) => n.check), summary(report)).toContain(brk.note);
          }
        } finally {
          run(brk.repairs);
        }
      }, LAB_MS);
    }
  });
});
