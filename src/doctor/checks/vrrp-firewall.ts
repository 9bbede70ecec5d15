/**
 * D29: VRRP adverts are IP protocol 112; a director whose input firewall
 * drops them never hears its peer and becomes MASTER too (split brain). Read
 * on each director for an advert from the peer director's address.
 */
import type { Check, Finding } from '../check.js';
import { designVrrp, readRulesets, skip } from '../cde-support.js';
import { inputVerdict, type RulesetObservation } from '../firewall-verdict.js';
import { addressOf } from '../../core/net.js';
import { NFT_PATH, IPTABLES_PATH } from '../../core/render/real-server.js';

export interface VrrpFirewallObservation {
  rulesets?: RulesetObservation;
}

export const check: Check<VrrpFirewallObservation> = {
  id: 'vrrp-firewall',
  title: 'The firewall lets VRRP (IP protocol 112) in',
  section: 'D',
  sources: ['keepalived#950', 'keepalived#1528', 'keepalived#2649', 'keepalived INSTALL "Running in an AWS container"'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.model === undefined || designVrrp(ctx.model) !== undefined),
  async detect(host) {
    const rulesets = await readRulesets(host);
    return rulesets ? { rulesets } : {};
  },
  evaluate(obs, ctx) {
    if (!obs.rulesets) return [skip('neither nft nor iptables is installed: no firewall to read', ['nft: exit 127', 'iptables: exit 127'])];
    const vrrp = designVrrp(ctx.model);
    const peer = ctx.model?.directors.find((d) => d.name !== ctx.node);
    const me = ctx.model?.directors.find((d) => d.name === ctx.node);
    const findings: Finding[] = [];
    for (const inst of vrrp?.instances ?? [{ name: 'VRRP', vrid: 0, interface: undefined, addresses: [] }]) {
      const peerAddr = peer?.interfaces.find((i) => i.name === inst.interface)?.address ?? peer?.interfaces[0]?.address;
      const saddr = peerAddr ? addressOf(peerAddr) : undefined;
      const daddr = vrrp?.transport === 'unicast' && me ? me.interfaces.find((i) => i.name === inst.interface)?.address : undefined;
      const v = inputVerdict(obs.rulesets, { protocol: 'vrrp', ...(saddr ? { saddr } : {}), ...(daddr ? { daddr: addressOf(daddr) } : { daddr: '224.0.0.18' }), ...(inst.interface ? { iif: inst.interface } : {}) });
      const evidence = [`VRRP advert${saddr ? ` from ${saddr}` : ''}${inst.interface ? ` on ${inst.interface}` : ''}: ${v.verdict} (${v.by})`, ...obs.rulesets.notes];
      if (v.verdict === 'accept') {
        findings.push({ status: 'pass', message: `the firewall accepts VRRP adverts for ${inst.name}`, evidence });
        continue;
      }
      const sel = `${inst.interface ? `iifname "${inst.interface}" ` : ''}${saddr ? `ip saddr ${saddr} ` : ''}ip protocol vrrp accept`;
      findings.push({
        status: v.verdict === 'drop' ? 'fail' : 'warn',
        message: `${v.verdict === 'drop' ? 'the firewall drops' : 'the firewall may drop'} VRRP adverts (protocol 112) for ${inst.name}: this director will not hear its peer and takes the VIP too (split brain)`,
        evidence,
        fix: {
          why: `keepalived decides MASTER/BACKUP from the peer’s adverts; without them both directors hold the VIP (on an iptables host: iptables -I INPUT ${inst.interface ? `-i ${inst.interface} ` : ''}${saddr ? `-s ${saddr}/32 ` : ''}-p vrrp -j ACCEPT, kept in ${IPTABLES_PATH})`,
          commands: [
            ['nft', 'add', 'table', 'inet', 'lvs_toolkit'],
            ['nft', 'add', 'chain', 'inet', 'lvs_toolkit', 'input', '{ type filter hook input priority -10 ; }'],
            ['nft', 'insert', 'rule', 'inet', 'lvs_toolkit', 'input', ...sel.split(' ')],
          ],
          files: [
            { path: NFT_PATH, lines: [sel] },
          ],
        },
      });
    }
    return findings;
  },
};
