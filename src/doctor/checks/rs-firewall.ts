/**
 * C28: the real server's own firewall must accept new connections to
 * VIP:port (DR/TUN: the destination is the VIP; NAT: the RIP and real-server
 * port). The rulesets are read (nft, legacy iptables) and the verdict for a
 * new TCP/UDP packet is worked out by firewall-verdict.ts; a drop behind a
 * selector we cannot judge is a warning, not a failure.
 */
import type { Check, Finding } from '../check.js';
import { isRealServer, readRulesets, realServerMemberships, skip } from '../cde-support.js';
import { inputVerdict, type RulesetObservation } from '../firewall-verdict.js';
import { IPTABLES_PATH, NFT_PATH } from '../../core/render/real-server.js';

export interface RsFirewallObservation {
  rulesets?: RulesetObservation;
}

export const check: Check<RsFirewallObservation> = {
  id: 'rs-firewall',
  title: 'Real-server firewall accepts the service (VIP:port)',
  section: 'C',
  sources: ['nftables wiki "Ruleset debug/tracing"', 'xtables-monitor(8)', 'RHEL 7 Load Balancer Administration §3.2'],
  appliesTo: (ctx) => isRealServer(ctx) && ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun'),
  async detect(host) {
    const rulesets = await readRulesets(host);
    return rulesets ? { rulesets } : {};
  },
  evaluate(obs, ctx) {
    if (!obs.rulesets) return [skip('neither nft nor iptables is installed: no firewall to read', ['nft: exit 127', 'iptables: exit 127'])];
    const rs = obs.rulesets;
    const ms = realServerMemberships(ctx.model, ctx.node).filter((m) => m.service.mode === 'nat' || m.service.mode === 'dr' || m.service.mode === 'tun');
    if (ms.length === 0) return [skip('no design names this node as a real server: the service is unknown (give --config)')];
    const findings: Finding[] = [];
    for (const { service, rs: me } of ms) {
      const daddr = service.mode === 'nat' ? me.address : service.vip;
      const ports = service.mode === 'nat' || me.port !== 0 ? [me.port || service.ports[0]!] : service.ports;
      for (const port of ports) {
        const v = inputVerdict(rs, { protocol: service.protocol, daddr, dport: port });
        const evidence = [`new ${service.protocol.toUpperCase()} to ${daddr}:${port}: ${v.verdict} (${v.by})`, ...rs.notes, rs.nft !== undefined ? 'read: nft list ruleset' : '', rs.iptablesLegacy !== undefined ? 'read: iptables-save (legacy)' : ''].filter(Boolean);
        if (v.verdict === 'accept') {
          findings.push({ status: 'pass', message: `the firewall accepts ${service.protocol}/${port} to ${daddr}`, evidence });
          continue;
        }
        const nftRule = `add rule inet lvs_toolkit input ip daddr ${daddr} ${service.protocol} dport ${port} accept`;
        const fix = {
          why: `the director forwards ${service.name}’s connections to ${daddr}:${port} here; the input hook must accept them before any drop`,
          commands: [
            ['nft', 'add', 'table', 'inet', 'lvs_toolkit'],
            ['nft', 'add', 'chain', 'inet', 'lvs_toolkit', 'input', '{ type filter hook input priority -10 ; }'],
            ['nft', ...nftRule.split(' ')],
          ],
          files: [
            { path: NFT_PATH, lines: [`ip daddr ${daddr} ${service.protocol} dport ${port} accept`] },
            { path: `${IPTABLES_PATH} (iptables hosts)`, lines: [`-A INPUT -d ${daddr}/32 -p ${service.protocol} --dport ${port} -j ACCEPT`] },
          ],
        };
        findings.push({
          status: v.verdict === 'drop' ? 'fail' : 'warn',
          message: v.verdict === 'drop' ? `the firewall drops ${service.protocol}/${port} to ${daddr}: ${v.by}` : `the firewall may drop ${service.protocol}/${port} to ${daddr} (a rule we cannot judge precedes it): ${v.by}`,
          evidence,
          fix,
        });
      }
    }
    return findings;
  },
};
