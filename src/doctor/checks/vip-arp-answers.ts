/**
 * C23, the active test: from a neighbour (the client, or the director that
 * does not hold the VIP), `arping` the VIP; exactly one MAC must answer, and
 * it must be the MAC of the director holding the VIP. A second MAC is a real
 * server (or a host proxy-ARPing) leaking the VIP, whatever its sysctls say.
 * The probe never runs from the VIP holder itself: it would not hear its own
 * answer. metallb#153: "do an arping and see how many servers respond (it
 * must be 1)".
 */
import type { Check, Finding } from '../check.js';
import { hasMode, ipAddrs, linkMacs, peersOf, routeGet, runTool, skip } from '../cde-support.js';
import type { Host } from '../../host/types.js';

export interface VipArpProbe {
  vip: string;
  /** The directors holding the VIP (this node included) and the MAC of the interface it is on. */
  holders: Array<{ node: string; ifname: string; mac?: string }>;
  /** Set when the probe was not run, with the reason. */
  notRun?: string;
  prober?: { node: string; iface: string };
  arpingExit?: number;
  arpingOutput?: string;
  /** Distinct MACs that answered (lower case). */
  answers: string[];
  /** Known MACs of the lab/peer nodes: mac → "node ifname". */
  owners: Record<string, string>;
}

export interface VipArpObservation {
  probes: VipArpProbe[];
}

/** Pure: the replying MACs of iputils arping ("Unicast reply from 10.0.0.100 [FE:26:10:95:43:64]  2.542ms"). */
export function arpingReplies(text: string): string[] {
  const macs = new Set<string>();
  for (const m of text.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)) macs.add(m[1]!.toLowerCase());
  return [...macs];
}

async function macsOf(name: string, host: Host, owners: Record<string, string>): Promise<void> {
  const macs = await linkMacs(host);
  for (const [ifname, mac] of Object.entries(macs ?? {})) owners[mac] ??= `${name} ${ifname}`;
}

export const check: Check<VipArpObservation> = {
  id: 'vip-arp-answers',
  title: 'Exactly one MAC (the director’s) answers ARP for the VIP',
  section: 'C',
  sources: ['metallb#153', 'LVS KB "ARP Issues in LVS/DR and LVS/TUN Clusters"', 'kube-router#561'],
  appliesTo: (ctx) => ctx.role === 'director' && hasMode(ctx, 'dr', 'tun'),
  async detect(host, ctx) {
    const vips = [...new Set((ctx.model?.services ?? []).filter((s) => s.mode === 'dr' || s.mode === 'tun').map((s) => s.vip))];
    const directors = [{ name: ctx.node, host }, ...peersOf(ctx, 'director')];
    const addrs = await Promise.all(directors.map(async (d) => ({ name: d.name, ifaces: await ipAddrs(d.host) })));
    const probes: VipArpProbe[] = [];
    for (const vip of vips) {
      const holders = addrs.flatMap((d) =>
        (d.ifaces ?? []).filter((i) => i.addrs.some((a) => a.local === vip)).map((i) => ({ node: d.name, ifname: i.ifname, ...(i.mac ? { mac: i.mac.toLowerCase() } : {}) })),
      );
      const probe: VipArpProbe = { vip, holders, answers: [], owners: {} };
      probes.push(probe);
      if (!holders.some((h) => h.node === ctx.node) && holders.length > 0) {
        probe.notRun = `${holders.map((h) => h.node).join(', ')} holds the VIP: the probe runs on its behalf`;
        continue;
      }
      const holderNames = new Set(holders.map((h) => h.node));
      const prober = peersOf(ctx, 'client')[0] ?? peersOf(ctx, 'director').find((d) => !holderNames.has(d.name));
      if (!prober) {
        probe.notRun = 'no neighbour to probe from (needs the client or the other director as a peer: --client HOST or --lab)';
        continue;
      }
      const route = await routeGet(prober.host, vip);
      if (!route) {
        probe.notRun = `ip is not installed on ${prober.name}`;
        continue;
      }
      if ('error' in route || !route.dev) {
        probe.notRun = `${prober.name} has no route to ${vip}: ${'error' in route ? route.error : 'no device'}`;
        continue;
      }
      if (route.gateway) {
        probe.notRun = `${prober.name} reaches ${vip} via ${route.gateway}: not on the VIP's segment, ARP cannot be probed from there`;
        continue;
      }
      probe.prober = { node: prober.name, iface: route.dev };
      const r = await runTool(prober.host, ['arping', '-c', '2', '-w', '3', '-I', route.dev, vip], 10_000);
      if (!r) {
        probe.notRun = `arping is not installed on ${prober.name}`;
        continue;
      }
      probe.arpingExit = r.exitCode;
      probe.arpingOutput = (r.stdout + r.stderr).trim();
      probe.answers = arpingReplies(r.stdout);
      await Promise.all([{ name: ctx.node, host }, ...[...(ctx.peers ?? [])].map(([name, p]) => ({ name, host: p.host }))].map((n) => macsOf(n.name, n.host, probe.owners)));
      // `ip -4 addr` omits the link address: take the holder's MAC from `ip link`.
      for (const h of probe.holders) {
        const mac = Object.entries(probe.owners).find(([, who]) => who === `${h.node} ${h.ifname}`)?.[0];
        if (mac && !h.mac) h.mac = mac;
      }
    }
    return { probes };
  },
  evaluate(obs, ctx) {
    if (obs.probes.length === 0) return [skip('no DR or TUN VIP in the design to probe (give --config)')];
    return obs.probes.flatMap((p): Finding | Finding[] => {
      const evidence = [
        `holders of ${p.vip}: ${p.holders.length ? p.holders.map((h) => `${h.node} ${h.ifname} ${h.mac ?? '(no MAC)'}`).join(', ') : 'none'}`,
        ...(p.prober ? [`${p.prober.node}$ arping -c 2 -w 3 -I ${p.prober.iface} ${p.vip} (exit ${p.arpingExit})`, ...(p.arpingOutput ?? '').split('\n')] : []),
      ];
      if (p.notRun) return skip(`ARP probe of ${p.vip} not run here: ${p.notRun}`, evidence);
      const name = (mac: string) => `${mac}${p.owners[mac] ? ` (${p.owners[mac]})` : ''}`;
      const expected = new Set(p.holders.flatMap((h) => (h.mac ? [h.mac] : [])));
      const strangers = p.answers.filter((m) => !expected.has(m));
      if (p.answers.length === 0) {
        return {
          status: 'fail',
          message: `nobody answers ARP for ${p.vip} on ${p.prober!.node}'s segment${p.holders.length ? '' : ': no director holds the VIP'}`,
          evidence,
          fix: {
            why: 'clients reach the VIP only through the MAC that answers its ARP; the holder must answer (is keepalived running, is the VIP up?)',
            commands: [['ip', '-4', 'addr', 'show'], ['arping', '-c', '2', '-I', p.prober!.iface, p.vip]],
            files: [],
          },
        };
      }
      if (strangers.length === 0 && p.answers.length === 1) {
        return { status: 'pass', message: `only ${name(p.answers[0]!)} answers ARP for ${p.vip}`, evidence };
      }
      const message = `${p.answers.length} MACs answer ARP for ${p.vip}: ${p.answers.map(name).join(', ')}; only the VIP holder's (${[...expected].join(', ') || 'none'}) may`;
      if (strangers.length === 0) {
        // Every answer is a holder's: two directors hold the VIP, a split brain, not a leak; no sysctl cures it.
        return { status: 'fail', message, evidence, fix: { why: `more than one director holds ${p.vip}: see vrrp-split-brain and vrrp-firewall for why both became MASTER`, commands: [], files: [] } };
      }
      const leakers = [...new Set(strangers.map((m) => p.owners[m]?.split(' ')[0]).filter((x): x is string => !!x))];
      const sysctls = {
        commands: [
          ['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1'],
          ['sysctl', '-w', 'net.ipv4.conf.all.arp_announce=2'],
        ],
        files: [{ path: '/etc/sysctl.d/60-lvs-toolkit.conf', lines: ['net.ipv4.conf.all.arp_ignore = 1', 'net.ipv4.conf.all.arp_announce = 2'] }],
      };
      if (leakers.length === 0) {
        return { status: 'fail', message, evidence, fix: { why: 'every answer but the holder’s sends clients past the director; the answering MAC is none of the known nodes: find the host that owns it (a proxy-ARPing container host? see openvz-venet-vip) and set arp_ignore=1, arp_announce=2 there', commands: [], files: [] } };
      }
      // One finding per leaking node, its fix carried out there (the subject), not on the director that probed.
      return leakers.map((leaker) => ({
        status: 'fail' as const,
        message: `${message}: ${leaker} leaks it`,
        evidence,
        subject: leaker,
        fix: { why: `${leaker} answers ARP for the VIP and pulls clients past the director: on ${leaker} set arp_ignore=1 and arp_announce=2 (see rs-arp-sysctls), or suppress the host's proxy ARP (openvz-venet-vip)`, ...sysctls },
      }));
    });
  },
};
