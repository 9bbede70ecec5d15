/**
 * B10: with net.ipv4.vs.conntrack = 0, IPVS connections are invisible to
 * netfilter's connection tracking: a NAT reply then looks like a SYN-ACK out
 * of nowhere and `ct state invalid drop` eats it (kubernetes#17470).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { modesOf, parseProcIpVs, readFirewall, readSysctl, skip, sysctlFix, sysctlLine, type FirewallRead, type IpvsService } from '../ab-support.js';
import { conntrackRules } from '../firewall-packet.js';

export interface VsConntrackObservation {
  conntrack: number | undefined;
  firewall: FirewallRead;
  live: IpvsService[] | undefined;
}

async function detect(host: Host): Promise<VsConntrackObservation> {
  const [ct, firewall, table] = await Promise.all([readSysctl(host, 'net/ipv4/vs/conntrack'), readFirewall(host), host.readFile('/proc/net/ip_vs')]);
  return { conntrack: ct.value, firewall, live: table === undefined ? undefined : parseProcIpVs(table) };
}

function evaluate(o: VsConntrackObservation, ctx: CheckContext): Finding[] {
  const ct = conntrackRules(o.firewall.rules);
  const evidence = [sysctlLine('net/ipv4/vs/conntrack', o.conntrack), ...o.firewall.notes, ...ct.matches.map((r) => `conntrack match: ${r}`)];
  if (o.conntrack === undefined) return [skip('net.ipv4.vs.conntrack is not readable (ip_vs not loaded, or hidden in a container)', evidence)];
  if (o.firewall.rules.nftJson === undefined && o.firewall.rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: the ruleset is unknown', evidence)];
  const fix = sysctlFix('keep netfilter connection tracking for IPVS connections so stateful rules see them (ipvs-sysctl.rst, conntrack; needs CONFIG_IP_VS_NFCT)', [{ path: 'net/ipv4/vs/conntrack', value: 1 }]);
  if (o.conntrack === 1) return [{ status: 'pass', message: 'IPVS keeps connection tracking (vs.conntrack = 1)', evidence }];
  if (ctx.model?.ipvsSysctls.conntrack) {
    return [{ status: 'fail', message: 'the design asks for net.ipv4.vs.conntrack = 1, and it is 0 here', evidence, fix }];
  }
  if (ct.matches.length === 0) return [{ status: 'pass', message: 'no firewall rule matches on connection state, so vs.conntrack = 0 hides nothing', evidence }];
  const nat = modesOf(ctx, o.live).includes('nat');
  if (nat && ct.invalidDrops.length > 0) {
    return [
      {
        status: 'fail',
        message: 'vs.conntrack = 0 on a NAT director whose firewall drops ct state invalid: the real servers\' replies are untracked SYN-ACKs and get dropped',
        evidence: [...evidence, ...ct.invalidDrops.map((r) => `drops invalid: ${r}`)],
        fix,
      },
    ];
  }
  return [
    {
      status: 'warn',
      message: 'the firewall matches on connection state but IPVS connections are not tracked (vs.conntrack = 0): stateful rules do not see them',
      evidence,
      fix,
    },
  ];
}

export const check: Check<VsConntrackObservation> = {
  id: 'vs-conntrack',
  title: 'IPVS connections are visible to stateful firewall rules',
  section: 'B',
  sources: ['Documentation/networking/ipvs-sysctl.rst (conntrack)', 'kubernetes#17470'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
