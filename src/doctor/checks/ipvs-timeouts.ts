/**
 * B16: IPVS forgets an idle TCP connection after its tcp timeout (900 s by
 * default, `ipvsadm -Ln --timeout`); the first TCP keepalive comes after
 * net.ipv4.tcp_keepalive_time (7200 s by default, per network namespace
 * since 4.13). An idle long-lived connection is then silently dropped
 * (kubernetes#84041, kubermatic/kubelb#539).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { mapLimit, NOT_INSTALLED, readSysctl, skip } from '../ab-support.js';

export interface IpvsTimeoutsObservation {
  /** undefined: ipvsadm missing or its output not understood. */
  timeouts: { tcp: number; tcpfin: number; udp: number } | undefined;
  raw: string;
  /** tcp_keepalive_time of this node and of the real servers reachable as peers. */
  keepalive: Array<{ node: string; value: number | undefined }>;
}

const KA = 'net/ipv4/tcp_keepalive_time';

async function detect(host: Host, ctx: CheckContext): Promise<IpvsTimeoutsObservation> {
  const r = await host.run(['ipvsadm', '-Ln', '--timeout']);
  const m = /Timeout \(tcp tcpfin udp\):\s*(\d+)\s+(\d+)\s+(\d+)/.exec(r.stdout);
  const reals = [...(ctx.peers ?? new Map())].filter(([, p]) => p.role === 'real-server');
  const keepalive = await mapLimit([[ctx.node, host] as const, ...reals.map(([name, p]) => [name, p.host] as const)], 3, async ([node, h]) => ({ node, value: (await readSysctl(h, KA)).value }));
  return { timeouts: m ? { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) } : undefined, raw: r.exitCode === NOT_INSTALLED ? '(ipvsadm not installed)' : r.stdout.trim(), keepalive };
}

function evaluate(o: IpvsTimeoutsObservation): Finding[] {
  const evidence = [`$ ipvsadm -Ln --timeout`, o.raw, ...o.keepalive.map((k) => `${k.node}: net.ipv4.tcp_keepalive_time = ${k.value ?? '(absent)'}`)];
  if (!o.timeouts) return [skip('the IPVS timeouts could not be read (ipvsadm missing or IPVS not loaded)', evidence)];
  const known = o.keepalive.filter((k): k is { node: string; value: number } => k.value !== undefined);
  const longer = known.filter((k) => k.value >= o.timeouts!.tcp);
  if (longer.length === 0) return [{ status: 'pass', message: `TCP keepalives (${known.map((k) => k.value).join(', ') || 'unknown'} s) come before IPVS forgets an idle connection (${o.timeouts.tcp} s)`, evidence }];
  const max = Math.max(...longer.map((k) => k.value));
  return [
    {
      status: 'warn',
      message: `IPVS forgets an idle TCP connection after ${o.timeouts.tcp} s, but the first keepalive comes after ${max} s (${longer.map((k) => k.node).join(', ')}): long-idle connections break on their next packet`,
      evidence,
      fix: {
        why: `either raise the IPVS tcp timeout above the keepalive time (keepalived: global_defs { lvs_timeouts tcp ${max + 60} }, kept in keepalived.conf), or make the applications send keepalives more often than every ${o.timeouts.tcp} s (net.ipv4.tcp_keepalive_time below it on clients and real servers)`,
        commands: [['ipvsadm', '--set', String(max + 60), String(o.timeouts.tcpfin), String(o.timeouts.udp)]],
        files: [],
      },
    },
  ];
}

export const check: Check<IpvsTimeoutsObservation> = {
  id: 'ipvs-timeouts',
  title: 'IPVS idle timeout is longer than the TCP keepalive time',
  section: 'B',
  sources: ['kubermatic/kubelb#539', 'kubernetes#84041', 'kubernetes PR#85517', 'kube-router#911', 'ipvsadm(8) --set'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
