/**
 * B (firewall): the director's own firewall must let clients reach
 * VIP:port (IPVS takes the packet at LOCAL_IN, after the filter chains of
 * prerouting and input) and let VRRP adverts (IP protocol 112) in from the
 * peer and out to it. Judged per packet on the rules read from
 * `nft -j list ruleset` and `iptables-save -c` (see firewall-packet.ts for
 * what is modelled and what is not).
 */
import { effectiveVrrp, unicastPair } from '../../core/render/keepalived.js';
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { acceptFix, parseProcIpVs, readFirewall, skip, type FirewallRead, type IpvsService } from '../ab-support.js';
import { packetVerdict, type Hook, type Packet } from '../firewall-packet.js';

export interface DirectorFirewallObservation {
  firewall: FirewallRead;
  live: IpvsService[] | undefined;
}

async function detect(host: Host): Promise<DirectorFirewallObservation> {
  const [firewall, table] = await Promise.all([readFirewall(host), host.readFile('/proc/net/ip_vs')]);
  return { firewall, live: table === undefined ? undefined : parseProcIpVs(table) };
}

interface Probe {
  label: string;
  packet: Packet;
  hooks: Hook[];
  nft: string[];
  ipt: string[];
}

function probes(o: DirectorFirewallObservation, ctx: CheckContext): Probe[] {
  const out: Probe[] = [];
  const service = (label: string, protocol: 'tcp' | 'udp', vip: string, port: number) =>
    out.push({
      label,
      packet: { protocol, daddr: vip, dport: port, ctState: 'new' },
      hooks: ['prerouting', 'input'],
      nft: ['ip', 'daddr', vip, protocol, 'dport', String(port)],
      ipt: ['-d', vip, '-p', protocol, '--dport', String(port)],
    });
  if (ctx.model) {
    for (const s of ctx.model.services) for (const port of s.ports) service(`clients to ${s.name} ${s.vip}:${port}/${s.protocol}`, s.protocol, s.vip, port);
    const vrrp = effectiveVrrp(ctx.model);
    const me = ctx.model.directors.findIndex((d) => d.name === ctx.node);
    if (vrrp && me >= 0 && ctx.model.directors.length === 2) {
      for (const inst of vrrp.instances) {
        const pair = unicastPair(ctx.model, vrrp, me, inst.interface);
        const dst = pair?.peer ? pair.src : '224.0.0.18';
        out.push({
          label: `VRRP adverts of ${inst.name} from the peer${pair ? ` ${pair.peer}` : ''} on ${inst.interface}`,
          packet: { protocol: 'vrrp', daddr: dst, iif: inst.interface, ...(pair ? { saddr: pair.peer } : {}) },
          hooks: ['prerouting', 'input'],
          nft: ['iifname', inst.interface, 'ip', 'protocol', 'vrrp', ...(pair ? ['ip', 'saddr', pair.peer] : [])],
          ipt: ['-i', inst.interface, '-p', 'vrrp', ...(pair ? ['-s', pair.peer] : [])],
        });
        out.push({
          label: `VRRP adverts of ${inst.name} to the peer${pair ? ` ${pair.peer}` : ' (224.0.0.18)'} on ${inst.interface}`,
          packet: { protocol: 'vrrp', daddr: pair?.peer ?? '224.0.0.18', oif: inst.interface, ...(pair ? { saddr: pair.src } : {}) },
          hooks: ['output'],
          nft: ['oifname', inst.interface, 'ip', 'protocol', 'vrrp'],
          ipt: ['-o', inst.interface, '-p', 'vrrp'],
        });
      }
    }
  } else {
    for (const s of o.live ?? []) {
      if ((s.protocol === 'TCP' || s.protocol === 'UDP') && s.address) {
        const p = s.protocol === 'TCP' ? 'tcp' : 'udp';
        service(`clients to ${s.address}:${s.port}/${p}`, p, s.address, s.port);
      }
    }
  }
  return out;
}

function evaluate(o: DirectorFirewallObservation, ctx: CheckContext): Finding[] {
  if (o.firewall.rules.nftJson === undefined && o.firewall.rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: the ruleset is unknown', o.firewall.notes)];
  const list = probes(o, ctx);
  if (list.length === 0) return [skip('no service known: no design, and the IPVS table is empty or not readable', o.firewall.notes)];
  const findings: Finding[] = [];
  const passed: string[] = [];
  for (const p of list) {
    const v = packetVerdict(o.firewall.rules, p.packet, p.hooks);
    if (v.verdict === 'accept') {
      passed.push(`${p.label}: accepted${v.by.length ? ` by ${v.by[v.by.length - 1]}` : ' (no rule or policy drops it)'}`);
      continue;
    }
    const evidence = [...o.firewall.notes, ...v.by.map((b) => `decided by: ${b}`), ...v.doubts.map((d) => `not modelled: ${d}`)];
    findings.push({
      status: v.verdict === 'drop' ? 'fail' : 'warn',
      message: `${p.label}: ${v.verdict === 'drop' ? 'dropped' : 'may be dropped'} by this node's firewall (${p.hooks.join(', ')})`,
      evidence,
      ...(v.decidedIn ? { fix: acceptFix(`accept ${p.label} before the rule or policy that drops it`, v.decidedIn, p.nft, p.ipt) } : {}),
    });
  }
  if (findings.length > 0) return findings;
  return [
    {
      status: 'pass',
      message: `the firewall lets through ${list.length} kind${list.length === 1 ? '' : 's'} of packet the services and VRRP need`,
      evidence: [...o.firewall.notes, ...passed, 'not modelled: netdev/bridge families, named sets, marks, rate limits, rules with iptables extensions other than tcp/udp/multiport/conntrack/state/comment'],
    },
  ];
}

export const check: Check<DirectorFirewallObservation> = {
  id: 'director-firewall',
  title: 'The director\'s firewall lets clients reach the VIPs and VRRP through',
  section: 'B',
  sources: ['nft(8) base chains and policies', 'iptables-extensions(8)', 'keepalived.conf(5) vrrp (IP protocol 112)'],
  appliesTo: (ctx) => ctx.role === 'director' || ctx.role === 'balancer',
  detect,
  evaluate,
};
