/**
 * C22: a DR real server must hold the VIP on `lo` as a /32, a TUN real server
 * on `tunl0`; without it the kernel drops (or RSTs) packets addressed to the
 * VIP. A wider prefix on lo makes the whole subnet local (every address in
 * it is then "ours" and unreachable), and the VIP on the interface facing
 * the director is announced by ARP: both are failures.
 */
import type { Check, Finding } from '../check.js';
import { hasMode, ipAddrs, isRealServer, missingToolSkip, realServerMemberships, setupScriptFix, skip, type IfaceAddrs } from '../cde-support.js';

export interface RsVipObservation {
  /** `ip -j -4 addr show`; undefined when `ip` is missing. */
  ifaces?: IfaceAddrs[];
  /**
   * Whether tunl0 exists, from `ip -j link show tunl0`: read only when the
   * node serves TUN and tunl0 is not among `ifaces` (`ip -4 addr` leaves out
   * a link without an IPv4 address, which is exactly a tunl0 whose VIP was
   * removed).
   */
  tunl0Exists?: boolean;
}

export const check: Check<RsVipObservation> = {
  id: 'rs-vip',
  title: 'VIP configured on the real server (DR: /32 on lo; TUN: on tunl0)',
  section: 'C',
  sources: ['katran#241', 'iqiyi/dpvs#312', 'LVS-HOWTO "The ARP Problem"'],
  appliesTo: (ctx) => isRealServer(ctx) && hasMode(ctx, 'dr', 'tun'),
  async detect(host, ctx) {
    const ifaces = await ipAddrs(host);
    if (!ifaces) return {};
    if (!hasMode(ctx, 'tun') || ifaces.some((i) => i.ifname === 'tunl0')) return { ifaces };
    const link = await host.run(['ip', '-j', 'link', 'show', 'tunl0'], { timeoutMs: 10_000 });
    return { ifaces, tunl0Exists: link.exitCode === 0 && link.stdout.includes('"tunl0"') };
  },
  evaluate(obs, ctx) {
    if (!obs.ifaces) return [missingToolSkip('ip', 'list the addresses')];
    const ms = realServerMemberships(ctx.model, ctx.node).filter((m) => m.service.mode === 'dr' || m.service.mode === 'tun');
    if (ms.length === 0) return [skip('no design names this node as a DR or TUN real server: the VIPs are unknown (give --config)')];
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const { service } of ms) {
      const key = `${service.vip}/${service.mode}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const dev = service.mode === 'dr' ? 'lo' : 'tunl0';
      const holders = obs.ifaces.flatMap((i) => i.addrs.filter((a) => a.local === service.vip).map((a) => ({ ifname: i.ifname, prefixlen: a.prefixlen })));
      const evidence = holders.length ? holders.map((h) => `${service.vip}/${h.prefixlen} on ${h.ifname}`) : [`${service.vip} is on no interface (ip -4 addr)`];
      if (service.mode === 'tun' && !obs.ifaces.some((i) => i.ifname === 'tunl0') && obs.tunl0Exists !== true) {
        findings.push(skip(`tunl0 does not exist, so the VIP ${service.vip} cannot be on it: see rs-tunnel`, evidence));
        continue;
      }
      const right = holders.find((h) => h.ifname === dev);
      const elsewhere = holders.filter((h) => h.ifname !== dev);
      const addNow = ['ip', 'addr', 'replace', `${service.vip}/32`, 'dev', dev];
      if (right && right.prefixlen === 32 && elsewhere.length === 0) {
        findings.push({ status: 'pass', message: `${service.vip}/32 is on ${dev} (${service.mode.toUpperCase()})`, evidence });
        continue;
      }
      if (!right && elsewhere.length === 0) {
        findings.push({
          status: 'fail',
          message: `the VIP ${service.vip} is not on ${dev}: this real server drops or resets what the director sends it (${service.mode.toUpperCase()} keeps the VIP as destination)`,
          evidence,
          fix: setupScriptFix(`${service.mode.toUpperCase()} delivers packets still addressed to the VIP; the kernel accepts them only if the VIP is local`, [addNow]),
        });
        continue;
      }
      const commands: string[][] = [];
      for (const h of elsewhere) commands.push(['ip', 'addr', 'del', `${service.vip}/${h.prefixlen}`, 'dev', h.ifname]);
      if (right && right.prefixlen !== 32) commands.push(['ip', 'addr', 'del', `${service.vip}/${right.prefixlen}`, 'dev', dev]);
      commands.push(addNow);
      const why = elsewhere.length
        ? `the VIP on ${elsewhere.map((h) => h.ifname).join(', ')} is answered by ARP and routed as a normal address: it belongs on ${dev} only`
        : `a /${right!.prefixlen} on ${dev} makes the whole subnet local to this server: the VIP belongs there as a /32`;
      findings.push({ status: 'fail', message: `the VIP ${service.vip} is configured wrongly: ${why}`, evidence, fix: setupScriptFix(why, commands, [addNow]) });
    }
    return findings;
  },
};
