/**
 * B12: the real servers' replies cross the NAT director's FORWARD hook
 * (before IPVS rewrites them back to the VIP, so they still carry the
 * real server's address and port). Docker and LXD set FORWARD to DROP; in
 * nftables every base chain on the forward hook runs, so one `policy drop`
 * anywhere wins (moby#39439, canonical/lxd#8716).
 */
import { cidrContains } from '../../core/net.js';
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { acceptFix, designL4Services, modesOf, parseProcIpVs, readFirewall, skip, thisDirector, type FirewallRead, type IpvsService } from '../ab-support.js';
import { dropPolicies, packetVerdict, type Packet } from '../firewall-packet.js';

export interface ForwardPolicyObservation {
  firewall: FirewallRead;
  live: IpvsService[] | undefined;
}

async function detect(host: Host): Promise<ForwardPolicyObservation> {
  const [firewall, table] = await Promise.all([readFirewall(host), host.readFile('/proc/net/ip_vs')]);
  return { firewall, live: table === undefined ? undefined : parseProcIpVs(table) };
}

/** The NAT real servers whose replies must cross the forward hook. */
function natReplies(o: ForwardPolicyObservation, ctx: CheckContext): Array<{ packet: Packet; label: string }> {
  const d = thisDirector(ctx);
  const iifOf = (rip: string) => d?.interfaces.find((i) => i.address !== undefined && cidrContains(i.address, rip))?.name;
  const out = new Map<string, { packet: Packet; label: string }>();
  for (const s of designL4Services(ctx.model).filter((x) => x.mode === 'nat')) {
    for (const r of s.realServers) {
      const ports = r.port === 0 ? s.ports : [r.port];
      for (const port of ports) {
        const iif = iifOf(r.address);
        out.set(`${s.protocol} ${r.address}:${port}`, { packet: { protocol: s.protocol, saddr: r.address, sport: port, ...(iif ? { iif } : {}) }, label: `${s.name}: reply from ${r.name} ${r.address}:${port}/${s.protocol}` });
      }
    }
  }
  if (!ctx.model) {
    for (const s of o.live ?? []) {
      if (s.protocol !== 'TCP' && s.protocol !== 'UDP') continue;
      const protocol = s.protocol === 'TCP' ? 'tcp' : 'udp';
      for (const r of s.reals.filter((x) => x.forward === 'Masq')) {
        out.set(`${protocol} ${r.address}:${r.port}`, { packet: { protocol, saddr: r.address, sport: r.port }, label: `reply from ${r.address}:${r.port}/${protocol}` });
      }
    }
  }
  return [...out.values()];
}

function evaluate(o: ForwardPolicyObservation, ctx: CheckContext): Finding[] {
  if (!modesOf(ctx, o.live).includes('nat')) return [skip('no NAT service on this director: IPVS DR/TUN packets do not cross the forward hook')];
  const policies = dropPolicies(o.firewall.rules, 'forward');
  const evidence = [...o.firewall.notes, ...(policies.length ? policies : ['no base chain on the forward hook has policy drop'])];
  if (o.firewall.rules.nftJson === undefined && o.firewall.rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: the ruleset is unknown', evidence)];
  const replies = natReplies(o, ctx);
  if (replies.length === 0) return [skip('no NAT real server known (no design, and the IPVS table lists none)', evidence)];
  const findings: Finding[] = [];
  for (const { packet, label } of replies) {
    const v = packetVerdict(o.firewall.rules, packet, ['prerouting', 'forward']);
    if (v.verdict === 'accept') continue;
    const nftSel = [...(packet.iif ? ['iifname', packet.iif] : []), 'ip', 'saddr', packet.saddr!, packet.protocol, 'sport', String(packet.sport)];
    const iptSel = [...(packet.iif ? ['-i', packet.iif] : []), '-s', packet.saddr!, '-p', packet.protocol, '--sport', String(packet.sport)];
    findings.push({
      status: v.verdict === 'drop' ? 'fail' : 'warn',
      message: `${label}: ${v.verdict === 'drop' ? 'dropped' : 'may be dropped'} in the forward hook, so NAT clients get no answer`,
      evidence: [...evidence, ...v.by.map((b) => `decided by: ${b}`), ...v.doubts.map((d) => `not modelled: ${d}`)],
      ...(v.decidedIn
        ? {
            fix: acceptFix(
              'NAT replies leave through the director\'s forward hook with the real server\'s address and port: accept them before the drop (for Docker, in DOCKER-USER; or stop Docker from changing the policy with "iptables": false)',
              v.decidedIn,
              nftSel,
              iptSel,
            ),
          }
        : {}),
    });
  }
  if (findings.length > 0) return findings;
  return [{ status: 'pass', message: `the forward hook lets the NAT replies through (${replies.length} real server port${replies.length === 1 ? '' : 's'})`, evidence }];
}

export const check: Check<ForwardPolicyObservation> = {
  id: 'forward-policy',
  title: 'The forward hook lets NAT replies through',
  section: 'B',
  sources: ['moby#39439', 'canonical/lxd#8716', 'docker/for-linux#103', 'moby PR#28257', 'nft(8) base chains'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.includes('nat')),
  detect,
  evaluate,
};
