/**
 * D29: VRRP adverts are IP protocol 112; a director whose input firewall
 * drops them never hears its peer and becomes MASTER too (split brain). The
 * packet judged is an advert from the peer (unicast to this director, or to
 * 224.0.0.18) on the instance's interface, through prerouting and input, by
 * the same reading of the ruleset as director-firewall (firewall-packet.ts);
 * the fix inserts the accept first in the chain that drops it.
 */
import type { Check, Finding } from '../check.js';
import { unicastPair } from '../../core/render/keepalived.js';
import { acceptFix, readFirewall, type FirewallRead } from '../ab-support.js';
import { designVrrp, skip } from '../cde-support.js';
import { packetVerdict, type Packet } from '../firewall-packet.js';

export interface VrrpFirewallObservation {
  firewall: FirewallRead;
}

export const check: Check<VrrpFirewallObservation> = {
  id: 'vrrp-firewall',
  title: 'The firewall lets VRRP (IP protocol 112) in',
  section: 'D',
  sources: ['keepalived#950', 'keepalived#1528', 'keepalived#2649', 'keepalived INSTALL "Running in an AWS container"'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.model === undefined || designVrrp(ctx.model) !== undefined),
  async detect(host) {
    return { firewall: await readFirewall(host) };
  },
  evaluate(obs, ctx) {
    const { rules, notes } = obs.firewall;
    if (rules.nftJson === undefined && rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: no firewall to judge', notes)];
    const vrrp = designVrrp(ctx.model);
    const me = ctx.model ? ctx.model.directors.findIndex((d) => d.name === ctx.node) : -1;
    const instances = vrrp?.instances.map((i) => ({ name: i.name, iface: i.interface as string | undefined })) ?? [{ name: 'VRRP', iface: undefined }];
    const findings: Finding[] = [];
    for (const inst of instances) {
      const pair = ctx.model && vrrp && me >= 0 && inst.iface ? unicastPair(ctx.model, vrrp, me, inst.iface) : undefined;
      const packet: Packet = { protocol: 'vrrp', daddr: pair?.peer ? pair.src : '224.0.0.18', ...(pair?.peer ? { saddr: pair.peer } : {}), ...(inst.iface ? { iif: inst.iface } : {}) };
      const v = packetVerdict(rules, packet, ['prerouting', 'input']);
      const what = `VRRP advert${packet.saddr ? ` from ${packet.saddr}` : ''} to ${packet.daddr}${inst.iface ? ` on ${inst.iface}` : ''}`;
      if (v.verdict === 'accept') {
        findings.push({ status: 'pass', message: `the firewall accepts VRRP adverts for ${inst.name}`, evidence: [...notes, `${what}: accepted${v.by.length ? ` by ${v.by[v.by.length - 1]}` : ' (no rule or policy drops it)'}`] });
        continue;
      }
      const nftSel = [...(inst.iface ? ['iifname', inst.iface] : []), ...(packet.saddr ? ['ip', 'saddr', packet.saddr] : []), 'ip', 'protocol', 'vrrp'];
      const iptSel = [...(inst.iface ? ['-i', inst.iface] : []), ...(packet.saddr ? ['-s', packet.saddr] : []), '-p', 'vrrp'];
      findings.push({
        status: v.verdict === 'drop' ? 'fail' : 'warn',
        message: `${v.verdict === 'drop' ? 'the firewall drops' : 'the firewall may drop'} VRRP adverts (protocol 112) for ${inst.name}: this director will not hear its peer and takes the VIP too (split brain)`,
        evidence: [...notes, `${what}: ${v.verdict}`, ...v.by.map((b) => `decided by: ${b}`), ...v.doubts.map((d) => `not modelled: ${d}`)],
        ...(v.decidedIn ? { fix: acceptFix('keepalived decides MASTER/BACKUP from the peer’s adverts; accept them before the rule or policy that drops them', v.decidedIn, nftSel, iptSel) } : {}),
      });
    }
    return findings;
  },
};
