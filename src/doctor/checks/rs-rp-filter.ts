/**
 * C24 (TUN): the decapsulated packet arrives on tunl0 with the client's
 * source address, whose reverse path is not tunl0; strict reverse-path
 * filtering (rp_filter = 1) drops it silently, and the SYN never gets its
 * SYN-ACK (seed 002). The kernel uses max(conf/all, conf/IFACE) for rp_filter
 * (ip-sysctl.rst), so both tunl0 and the interface the tunnel packets come in
 * on must end up at 0 or 2 (loose).
 */
import { effectiveSysctl, type Check } from '../check.js';
import { directorAddresses, hasMode, isRealServer, readSysctl, realServerMemberships, routeGet, skip, sysctlFix, type SysctlWant } from '../cde-support.js';

export interface RsRpFilterObservation {
  ingress: string;
  all?: number;
  /** Per interface; undefined when the interface (and so its conf dir) does not exist. */
  ifaces: Record<string, number | undefined>;
}

export const check: Check<RsRpFilterObservation> = {
  id: 'rs-rp-filter',
  title: 'TUN real server: rp_filter 0 or 2 on tunl0 and the ingress interface',
  section: 'C',
  sources: ['journal.petrausch.info "Things I learned about IPVS on OpenStack"', 'katran#47', 'kernel ip-sysctl.rst (rp_filter)', 'seed 002'],
  appliesTo: (ctx) => isRealServer(ctx) && hasMode(ctx, 'tun'),
  async detect(host, ctx) {
    let ingress = realServerMemberships(ctx.model, ctx.node)[0]?.rs.interface ?? 'eth0';
    const dip = directorAddresses(ctx.model)[0];
    if (dip) {
      const r = await routeGet(host, dip);
      if (r && 'dev' in r && r.dev) ingress = r.dev;
    }
    const ifaces: Record<string, number | undefined> = {};
    for (const i of ['tunl0', ingress]) ifaces[i] = await readSysctl(host, `net/ipv4/conf/${i}/rp_filter`);
    const all = await readSysctl(host, 'net/ipv4/conf/all/rp_filter');
    return { ingress, ...(all !== undefined ? { all } : {}), ifaces };
  },
  evaluate(obs) {
    const evidence = [`net.ipv4.conf.all.rp_filter = ${obs.all ?? 'unreadable'}`];
    const bad: string[] = [];
    const wants: SysctlWant[] = [];
    for (const [iface, v] of Object.entries(obs.ifaces)) {
      if (v === undefined) {
        evidence.push(`net.ipv4.conf.${iface}.rp_filter: no such interface`);
        continue;
      }
      const eff = effectiveSysctl(obs.all, v)!;
      evidence.push(`net.ipv4.conf.${iface}.rp_filter = ${v} → effective max(all, ${iface}) = ${eff}`);
      if (eff === 1) {
        bad.push(iface);
        if (v === 1) wants.push({ path: `net/ipv4/conf/${iface}/rp_filter`, value: 0 });
      }
    }
    if (obs.ifaces['tunl0'] === undefined) return [skip('tunl0 does not exist: see rs-tunnel', evidence)];
    if (bad.length === 0) return [{ status: 'pass', message: `reverse-path filtering lets decapsulated packets through (${Object.keys(obs.ifaces).join(', ')})`, evidence }];
    if (obs.all === 1) wants.unshift({ path: 'net/ipv4/conf/all/rp_filter', value: 0 });
    return [
      {
        status: 'fail',
        message: `strict rp_filter on ${bad.join(' and ')}: decapsulated client packets on tunl0 are dropped as martians and no SYN-ACK is sent`,
        evidence,
        fix: sysctlFix('the client’s address is not routed via tunl0, so strict reverse-path filtering drops what the tunnel delivers; the kernel takes max(all, iface)', wants),
      },
    ];
  },
};
