/**
 * C28: the real server's own firewall must accept new connections to
 * VIP:port (DR/TUN: the destination is the VIP; NAT: the RIP and real-server
 * port). The rulesets are read (`nft -j list ruleset`, `iptables-save -c`)
 * and the verdict for a new TCP/UDP packet through prerouting and input is
 * worked out by firewall-packet.ts, the same reading the director's checks
 * use; a drop behind a selector it cannot judge is a warning, not a failure.
 * The fix inserts the accept first in the chain that drops: an accept in a
 * base chain of its own does not help, since every base chain on the hook
 * runs and a drop in any of them ends the packet (nft(8), "Chains").
 */
import type { Check, Finding } from '../check.js';
import { acceptFix, readFirewall, type FirewallRead } from '../ab-support.js';
import { isRealServer, realServerMemberships, skip } from '../cde-support.js';
import { packetVerdict } from '../firewall-packet.js';

export interface RsFirewallObservation {
  firewall: FirewallRead;
}

export const check: Check<RsFirewallObservation> = {
  id: 'rs-firewall',
  title: 'Real-server firewall accepts the service (VIP:port)',
  section: 'C',
  sources: ['nft(8) base chains and policies', 'nftables wiki "Ruleset debug/tracing"', 'RHEL 7 Load Balancer Administration §3.2'],
  appliesTo: (ctx) => isRealServer(ctx) && ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun'),
  async detect(host) {
    return { firewall: await readFirewall(host) };
  },
  evaluate(obs, ctx) {
    const { rules, notes } = obs.firewall;
    if (rules.nftJson === undefined && rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: no firewall to judge', notes)];
    const ms = realServerMemberships(ctx.model, ctx.node).filter((m) => m.service.mode === 'nat' || m.service.mode === 'dr' || m.service.mode === 'tun');
    if (ms.length === 0) return [skip('no design names this node as a real server: the service is unknown (give --config)')];
    const findings: Finding[] = [];
    for (const { service, rs: me } of ms) {
      const daddr = service.mode === 'nat' ? me.address : service.vip;
      const ports = service.mode === 'nat' || me.port !== 0 ? [me.port || service.ports[0]!] : service.ports;
      for (const port of ports) {
        const v = packetVerdict(rules, { protocol: service.protocol, daddr, dport: port, ctState: 'new' }, ['prerouting', 'input']);
        const what = `new ${service.protocol.toUpperCase()} to ${daddr}:${port}`;
        if (v.verdict === 'accept') {
          findings.push({ status: 'pass', message: `the firewall accepts ${service.protocol}/${port} to ${daddr}`, evidence: [...notes, `${what}: accepted${v.by.length ? ` by ${v.by[v.by.length - 1]}` : ' (no rule or policy drops it)'}`] });
          continue;
        }
        const evidence = [...notes, `${what}: ${v.verdict}`, ...v.by.map((b) => `decided by: ${b}`), ...v.doubts.map((d) => `not modelled: ${d}`)];
        findings.push({
          status: v.verdict === 'drop' ? 'fail' : 'warn',
          message: v.verdict === 'drop' ? `the firewall drops ${service.protocol}/${port} to ${daddr}: ${v.by[v.by.length - 1] ?? ''}` : `the firewall may drop ${service.protocol}/${port} to ${daddr} (a rule this reading cannot judge decides)`,
          evidence,
          ...(v.decidedIn
            ? {
                fix: acceptFix(
                  `the director sends ${service.name}’s connections to ${daddr}:${port} here; accept them before the rule or policy that drops them`,
                  v.decidedIn,
                  ['ip', 'daddr', daddr, service.protocol, 'dport', String(port)],
                  ['-d', daddr, '-p', service.protocol, '--dport', String(port)],
                ),
              }
            : {}),
        });
      }
    }
    return findings;
  },
};
