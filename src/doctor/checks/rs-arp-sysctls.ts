/**
 * C23, the settings half: a DR/TUN real server holds the VIP, and Linux
 * answers ARP for any local address on any interface unless `arp_ignore` ≥ 1
 * (reply only for addresses of the asking interface) and announces it as the
 * source of its own ARP requests unless `arp_announce` = 2. The kernel uses
 * max(conf/all, conf/IFACE) for both (Documentation/networking/ip-sysctl.rst),
 * so the effective value on the interface facing the director is what counts.
 */
import { effectiveSysctl, type Check } from '../check.js';
import { hasMode, isRealServer, readSysctl, realServerMemberships, routeGet, skip, sysctlFix, directorAddresses, type SysctlWant } from '../cde-support.js';

export interface RsArpObservation {
  iface: string;
  /** How the interface was chosen: the route to the director, or the design. */
  ifaceFrom: string;
  all: { arpIgnore?: number; arpAnnounce?: number };
  dev: { arpIgnore?: number; arpAnnounce?: number };
}

export const check: Check<RsArpObservation> = {
  id: 'rs-arp-sysctls',
  title: 'ARP leak of the VIP: arp_ignore ≥ 1 and arp_announce = 2 on the real server',
  section: 'C',
  sources: ['LVS KB "Using arp_announce/arp_ignore to disable ARP"', 'kernel ip-sysctl.rst (arp_ignore, arp_announce)', 'metallb#153'],
  appliesTo: (ctx) => isRealServer(ctx) && hasMode(ctx, 'dr', 'tun'),
  async detect(host, ctx) {
    const rs = realServerMemberships(ctx.model, ctx.node)[0]?.rs;
    let iface = rs?.interface ?? 'eth0';
    let ifaceFrom = rs ? 'the design' : 'the default (eth0)';
    const dip = directorAddresses(ctx.model)[0];
    if (dip) {
      const r = await routeGet(host, dip);
      if (r && 'dev' in r && r.dev) {
        iface = r.dev;
        ifaceFrom = `ip route get ${dip} (director)`;
      }
    }
    const read = async (dev: string) => {
      const arpIgnore = await readSysctl(host, `net/ipv4/conf/${dev}/arp_ignore`);
      const arpAnnounce = await readSysctl(host, `net/ipv4/conf/${dev}/arp_announce`);
      return { ...(arpIgnore !== undefined ? { arpIgnore } : {}), ...(arpAnnounce !== undefined ? { arpAnnounce } : {}) };
    };
    return { iface, ifaceFrom, all: await read('all'), dev: await read(iface) };
  },
  evaluate(obs) {
    const ignore = effectiveSysctl(obs.all.arpIgnore, obs.dev.arpIgnore);
    const announce = effectiveSysctl(obs.all.arpAnnounce, obs.dev.arpAnnounce);
    const evidence = [
      `interface facing the director: ${obs.iface} (from ${obs.ifaceFrom})`,
      `net.ipv4.conf.all.arp_ignore = ${obs.all.arpIgnore ?? 'unreadable'}, net.ipv4.conf.${obs.iface}.arp_ignore = ${obs.dev.arpIgnore ?? 'unreadable'} → effective ${ignore ?? '?'}`,
      `net.ipv4.conf.all.arp_announce = ${obs.all.arpAnnounce ?? 'unreadable'}, net.ipv4.conf.${obs.iface}.arp_announce = ${obs.dev.arpAnnounce ?? 'unreadable'} → effective ${announce ?? '?'}`,
    ];
    if (ignore === undefined || announce === undefined) return [skip('cannot read the ARP sysctls under /proc/sys/net/ipv4/conf', evidence)];
    const bad: string[] = [];
    if (ignore < 1) bad.push(`arp_ignore is ${ignore} (must be ≥ 1): this server answers ARP for the VIP it holds`);
    // arp_ignore 8 means "never reply": legal, but then the RIP is unreachable too.
    if (ignore >= 8) bad.push(`arp_ignore is ${ignore}: this server answers no ARP at all, its own address included`);
    if (announce !== 2) bad.push(`arp_announce is ${announce} (must be 2): the VIP can be the source of this server's ARP requests`);
    if (bad.length === 0) return [{ status: 'pass', message: `ARP for the VIP is suppressed on ${obs.iface} (arp_ignore ${ignore}, arp_announce ${announce})`, evidence }];
    const wants: SysctlWant[] = [
      { path: 'net/ipv4/conf/all/arp_ignore', value: 1 },
      { path: `net/ipv4/conf/${obs.iface}/arp_ignore`, value: 1 },
      { path: 'net/ipv4/conf/all/arp_announce', value: 2 },
      { path: `net/ipv4/conf/${obs.iface}/arp_announce`, value: 2 },
    ];
    return [
      {
        status: 'fail',
        message: `ARP leak of the VIP: ${bad.join('; ')}`,
        evidence,
        fix: sysctlFix('clients and routers must learn the VIP from the director alone; the kernel takes the larger of conf/all and the interface', wants),
      },
    ];
  },
};
