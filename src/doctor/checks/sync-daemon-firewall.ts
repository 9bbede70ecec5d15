/**
 * B21: the IPVS connection-sync daemon sends UDP to 224.0.0.81 port 8848
 * (`sync_ports` ports from there, ipvs-sysctl.rst); a firewall that drops it
 * silently loses every connection on failover.
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { acceptFix, NOT_INSTALLED, readFirewall, readSysctl, skip, type FirewallRead } from '../ab-support.js';
import { packetVerdict, type Hook, type Packet } from '../firewall-packet.js';

export interface SyncDaemonFirewallObservation {
  firewall: FirewallRead;
  /** `ipvsadm -L --daemon` lines; undefined when ipvsadm is missing. */
  daemons: string[] | undefined;
  syncPorts: number | undefined;
}

export const SYNC_GROUP = '224.0.0.81';
export const SYNC_PORT = 8848;

async function detect(host: Host): Promise<SyncDaemonFirewallObservation> {
  const [firewall, d, ports] = await Promise.all([readFirewall(host), host.run(['ipvsadm', '-L', '--daemon']), readSysctl(host, 'net/ipv4/vs/sync_ports')]);
  return {
    firewall,
    daemons: d.exitCode === NOT_INSTALLED ? undefined : d.stdout.split('\n').filter((l) => l.trim() !== ''),
    syncPorts: ports.value,
  };
}

function evaluate(o: SyncDaemonFirewallObservation, ctx: CheckContext): Finding[] {
  const designed = ctx.model?.vrrp?.syncDaemon;
  const evidence = [`$ ipvsadm -L --daemon${o.daemons === undefined ? ': not installed' : ''}`, ...(o.daemons ?? []), `net.ipv4.vs.sync_ports = ${o.syncPorts ?? '(absent)'}`, ...o.firewall.notes];
  const liveIfaces = (o.daemons ?? []).map((l) => /mcast=([^,\s)]+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  const ifaces = [...new Set([...(designed ? [designed.interface] : []), ...liveIfaces])];
  if (ifaces.length === 0) return [skip('no connection-sync daemon is configured or running', evidence)];
  if (o.firewall.rules.nftJson === undefined && o.firewall.rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: the ruleset is unknown', evidence)];
  const ports = Array.from({ length: Math.max(1, o.syncPorts ?? 1) }, (_, i) => SYNC_PORT + i);
  const findings: Finding[] = [];
  for (const iface of ifaces) {
    for (const port of ports) {
      const cases: Array<{ label: string; packet: Packet; hooks: Hook[]; nft: string[]; ipt: string[] }> = [
        { label: `sync from the peer on ${iface} (UDP ${SYNC_GROUP}:${port})`, packet: { protocol: 'udp', daddr: SYNC_GROUP, dport: port, iif: iface }, hooks: ['prerouting', 'input'], nft: ['iifname', iface, 'ip', 'daddr', SYNC_GROUP, 'udp', 'dport', String(port)], ipt: ['-i', iface, '-d', SYNC_GROUP, '-p', 'udp', '--dport', String(port)] },
        { label: `sync to the peer on ${iface} (UDP ${SYNC_GROUP}:${port})`, packet: { protocol: 'udp', daddr: SYNC_GROUP, dport: port, oif: iface }, hooks: ['output'], nft: ['oifname', iface, 'ip', 'daddr', SYNC_GROUP, 'udp', 'dport', String(port)], ipt: ['-o', iface, '-d', SYNC_GROUP, '-p', 'udp', '--dport', String(port)] },
      ];
      for (const c of cases) {
        const v = packetVerdict(o.firewall.rules, c.packet, c.hooks);
        if (v.verdict === 'accept') continue;
        findings.push({
          status: v.verdict === 'drop' ? 'fail' : 'warn',
          message: `${c.label}: ${v.verdict === 'drop' ? 'dropped' : 'may be dropped'}: connections are not synchronised and are lost on failover`,
          evidence: [...evidence, ...v.by.map((b) => `decided by: ${b}`), ...v.doubts.map((d) => `not modelled: ${d}`)],
          ...(v.decidedIn ? { fix: acceptFix('the sync daemon\'s multicast must pass in both directions (ipvs-sysctl.rst sync_ports; keepalived.conf(5) lvs_sync_daemon)', v.decidedIn, c.nft, c.ipt) } : {}),
        });
      }
    }
  }
  if (findings.length > 0) return findings;
  return [{ status: 'pass', message: `the firewall lets the sync daemon's UDP ${SYNC_GROUP}:${ports.join(',')} through on ${ifaces.join(', ')}`, evidence }];
}

export const check: Check<SyncDaemonFirewallObservation> = {
  id: 'sync-daemon-firewall',
  title: 'The connection-sync daemon\'s traffic is allowed',
  section: 'B',
  sources: ['Documentation/networking/ipvs-sysctl.rst (sync_ports)', 'keepalived.conf(5) lvs_sync_daemon'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
