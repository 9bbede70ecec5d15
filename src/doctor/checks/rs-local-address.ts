/**
 * B18: a real-server address that is an address of the director itself makes
 * IPVS use the Local method, whatever -g/-i/-m says (ipvsadm(8)).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { designL4Services, parseProcIpVs, readAddrs, skip, type IpvsService, type LinkAddrs } from '../ab-support.js';

export interface RsLocalObservation {
  links: LinkAddrs[] | undefined;
  live: IpvsService[] | undefined;
}

async function detect(host: Host): Promise<RsLocalObservation> {
  const [a, table] = await Promise.all([readAddrs(host), host.readFile('/proc/net/ip_vs')]);
  return { links: a?.links, live: table === undefined ? undefined : parseProcIpVs(table) };
}

function evaluate(o: RsLocalObservation, ctx: CheckContext): Finding[] {
  if (!o.links) return [skip('ip is not installed: the local addresses are unknown')];
  const local = new Map(o.links.flatMap((l) => l.addrs.map((a) => [a, l.ifname] as const)));
  const reals = new Map<string, string>();
  for (const s of designL4Services(ctx.model)) for (const r of s.realServers) reals.set(r.address, `${s.name}: ${r.name} ${r.address} (${s.mode})`);
  for (const s of o.live ?? []) for (const r of s.reals) if (!reals.has(r.address)) reals.set(r.address, `${s.address || `fwmark ${s.fwmark}`}: ${r.address}:${r.port} (${r.forward})`);
  const evidence = [`local addresses: ${[...local.entries()].map(([a, i]) => `${a} (${i})`).join(', ')}`, ...[...reals.values()].map((r) => `real server ${r}`)];
  if (reals.size === 0) return [skip('no real server known (no design, and the IPVS table lists none)', evidence)];
  const hits = [...reals.keys()].filter((a) => local.has(a));
  if (hits.length === 0) return [{ status: 'pass', message: 'no real server is an address of this director', evidence }];
  return [
    {
      status: 'warn',
      message: `real server ${hits.join(', ')} is an address of this director: IPVS delivers to it locally (method Local), not by NAT/DR/TUN`,
      evidence,
      fix: {
        why: 'ipvsadm(8): a real server whose address is local to the director is served by the Local method. If the director is meant to serve too, that is fine; otherwise correct the real-server address. In a pair, see also backup-only and director-rp-filter',
        commands: [],
        files: [],
      },
    },
  ];
}

export const check: Check<RsLocalObservation> = {
  id: 'rs-local-address',
  title: 'No real server is an address of the director',
  section: 'B',
  sources: ['ipvsadm(8)', 'kube-vip/kube-vip#825', 'keepalived#2450'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
