/**
 * B9: reverse-path filtering on the director. The kernel uses
 * max(conf/all, conf/IFACE) (ip-sysctl.rst, rp_filter). Strict mode is right
 * while each arm only receives what its routes point at; with asymmetric
 * routes, or a director that is also a real server (keepalived#1827), it
 * drops packets silently — the kernel counts them in IPReversePathFilter.
 */
import type { Host } from '../../host/types.js';
import { effectiveSysctl, type Check, type CheckContext, type Finding } from '../check.js';
import { designL4Services, parseProcIpVs, readAddrs, readSysctls, sysctlFix, thisDirector, type LinkAddrs } from '../ab-support.js';

export interface DirectorRpFilterObservation {
  all: number | undefined;
  interfaces: Array<{ name: string; rpFilter: number | undefined; acceptLocal: number | undefined }>;
  acceptLocalAll: number | undefined;
  /** TcpExt IPReversePathFilter from /proc/net/netstat: packets dropped by the check since boot. */
  rpDrops: number | undefined;
  /** Real-server addresses (design or live table) that are addresses of this node. */
  localRealServers: string[];
}

/** A counter of /proc/net/netstat ("TcpExt: … IPReversePathFilter …" header line, values on the next). */
export function netstatCounter(text: string, name: string): number | undefined {
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 1) {
    const head = lines[i]!.trim().split(/\s+/);
    const vals = lines[i + 1]!.trim().split(/\s+/);
    if (head[0] !== vals[0]) continue;
    const k = head.indexOf(name);
    if (k > 0) return Number(vals[k]);
  }
  return undefined;
}

async function detect(host: Host, ctx: CheckContext): Promise<DirectorRpFilterObservation> {
  const [addrs, netstat, table] = await Promise.all([readAddrs(host), host.readFile('/proc/net/netstat'), host.readFile('/proc/net/ip_vs')]);
  const links: LinkAddrs[] = addrs?.links ?? [];
  const designIfaces = thisDirector(ctx)?.interfaces.map((i) => i.name);
  const names = designIfaces ?? links.filter((l) => l.up && l.ifname !== 'lo' && l.addrs.length > 0).map((l) => l.ifname);
  const paths = ['net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/all/accept_local', ...names.flatMap((n) => [`net/ipv4/conf/${n}/rp_filter`, `net/ipv4/conf/${n}/accept_local`])];
  const v = await readSysctls(host, paths);
  const local = new Set(links.flatMap((l) => l.addrs));
  const rs = new Set([...designL4Services(ctx.model).flatMap((s) => s.realServers.map((r) => r.address)), ...(table ? parseProcIpVs(table).flatMap((s) => s.reals.map((r) => r.address)) : [])]);
  return {
    all: v['net/ipv4/conf/all/rp_filter'],
    acceptLocalAll: v['net/ipv4/conf/all/accept_local'],
    interfaces: names.map((n) => ({ name: n, rpFilter: v[`net/ipv4/conf/${n}/rp_filter`], acceptLocal: v[`net/ipv4/conf/${n}/accept_local`] })),
    rpDrops: netstat === undefined ? undefined : netstatCounter(netstat, 'IPReversePathFilter'),
    localRealServers: [...rs].filter((a) => local.has(a)),
  };
}

function evaluate(o: DirectorRpFilterObservation): Finding[] {
  const eff = o.interfaces.map((i) => ({ ...i, effective: effectiveSysctl(o.all, i.rpFilter) }));
  const evidence = [
    ...eff.map((i) => `rp_filter ${i.name}: conf/all = ${o.all ?? '?'}, conf/${i.name} = ${i.rpFilter ?? '?'} → effective ${i.effective ?? '?'}`),
    `accept_local: conf/all = ${o.acceptLocalAll ?? '?'}${o.interfaces.map((i) => `, conf/${i.name} = ${i.acceptLocal ?? '?'}`).join('')}`,
    `/proc/net/netstat TcpExt IPReversePathFilter = ${o.rpDrops ?? '(not readable)'}`,
    ...(o.localRealServers.length ? [`real servers that are addresses of this node: ${o.localRealServers.join(', ')}`] : []),
  ];
  const strict = eff.filter((i) => i.effective === 1);
  const filtering = eff.filter((i) => (i.effective ?? 0) > 0);
  const loose = sysctlFix('loose mode (2) accepts a packet when any route leads back to its source, so asymmetric paths survive; 0 on an outside arm would accept spoofed sources', [
    { path: 'net/ipv4/conf/all/rp_filter', value: 2 },
    ...filtering.map((i) => ({ path: `net/ipv4/conf/${i.name}/rp_filter`, value: 2 })),
  ]);
  const findings: Finding[] = [];
  if (o.localRealServers.length > 0 && filtering.length > 0) {
    // IN_DEV_ACCEPT_LOCAL is an OR of conf/all and conf/IFACE.
    const acceptLocal = o.acceptLocalAll === 1 || o.interfaces.some((i) => i.acceptLocal === 1);
    if (!acceptLocal) {
      findings.push({
        status: 'warn',
        message: `this director is also a real server (${o.localRealServers.join(', ')}) and reverse-path filtering with accept_local = 0 drops packets whose source is one of its own addresses`,
        evidence,
        fix: {
          ...sysctlFix('keepalived#1827: replies arriving with a local source address fail the reverse-path check; accept_local = 1 with loose rp_filter lets them in. Caution: a node reaching its own VIP with accept_local = 1 has produced routing loops until TTL expiry', [
            { path: 'net/ipv4/conf/all/accept_local', value: 1 },
            { path: 'net/ipv4/conf/all/rp_filter', value: 2 },
            ...filtering.map((i) => ({ path: `net/ipv4/conf/${i.name}/rp_filter`, value: 2 })),
          ]),
        },
      });
    }
  }
  if ((o.rpDrops ?? 0) > 0 && strict.length > 0) {
    findings.push({
      status: 'warn',
      message: `the kernel has dropped ${o.rpDrops} packets for failing strict reverse-path filtering (on ${strict.map((i) => i.name).join(', ')}): asymmetric routes through this director lose packets`,
      evidence,
      fix: loose,
    });
  }
  if (findings.length > 0) return findings;
  return [{ status: 'pass', message: `reverse-path filtering drops nothing here (effective ${eff.map((i) => `${i.name}=${i.effective ?? '?'}`).join(', ') || 'no interfaces'})`, evidence }];
}

export const check: Check<DirectorRpFilterObservation> = {
  id: 'director-rp-filter',
  title: 'Reverse-path filtering and accept_local on the director',
  section: 'B',
  sources: ['keepalived#1827', 'Documentation/networking/ip-sysctl.rst (rp_filter, accept_local)'],
  appliesTo: (ctx) => ctx.role === 'director' || ctx.role === 'balancer',
  detect,
  evaluate,
};
