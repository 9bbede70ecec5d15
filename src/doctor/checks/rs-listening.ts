/**
 * C22 (the service side): in DR and TUN the packet reaches the real server
 * still addressed to the VIP, so the service must listen on the VIP or on a
 * wildcard address; a daemon bound to the RIP only answers the director's
 * health check (sent to the RIP) and resets every client, so keepalived keeps
 * the server in the table while clients fail (LVS-HOWTO "LVS-DR": "the
 * service on the realserver must listen on the VIP"). In NAT the director
 * rewrites the destination to the RIP, so listening on the RIP is right.
 * Read from `ss -Hltn` / `ss -Hlun` (iproute2's ss(8)).
 */
import type { Check, Finding } from '../check.js';
import { isRealServer, realServerMemberships, runTool, skip } from '../cde-support.js';

/** A listening socket: its address as ss prints it ("0.0.0.0", "*", "::", "10.0.0.11"), the device it is bound to, its port. */
export interface ListeningSocket {
  protocol: 'tcp' | 'udp';
  address: string;
  device?: string;
  port: number;
}

export interface RsListeningObservation {
  /** Undefined when ss is not installed. */
  sockets?: ListeningSocket[];
  /** The ss commands read and how they ended, for the evidence. */
  read: string[];
}

/**
 * Pure: the local address column of `ss -Hl[tu]n` lines
 * ("LISTEN 0 4096 0.0.0.0:80 0.0.0.0:*", "UNCONN 0 0 [::]:53 [::]:*",
 * "LISTEN 0 5 127.0.0.53%lo:53 0.0.0.0:*", "LISTEN 0 511 *:80 *:*").
 */
export function parseSsListening(text: string, protocol: 'tcp' | 'udp'): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const m = /^(\[[^\]]*\]|[^\s]*?)(?:%(\S+))?:(\d+)$/.exec(cols[3]!);
    if (!m) continue;
    out.push({ protocol, address: m[1]!.replace(/^\[|\]$/g, ''), ...(m[2] ? { device: m[2] } : {}), port: Number(m[3]) });
  }
  return out;
}

const WILDCARDS = new Set(['0.0.0.0', '*', '::']);

/** Whether a socket takes IPv4 packets addressed to `addr` (an IPv4-mapped v6 address counts; `::` is dual-stack unless bindv6only). */
function takes(s: ListeningSocket, addr: string): boolean {
  return WILDCARDS.has(s.address) || s.address === addr || s.address === `::ffff:${addr}`;
}

export const check: Check<RsListeningObservation> = {
  id: 'rs-listening',
  title: 'The service listens on the VIP (DR/TUN) or the RIP (NAT), not only elsewhere',
  section: 'C',
  sources: ['LVS-HOWTO "LVS-DR" (services listen on the VIP)', 'ss(8)', 'katran#241'],
  appliesTo: (ctx) => isRealServer(ctx) && ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun'),
  async detect(host, ctx) {
    const protocols = new Set(realServerMemberships(ctx.model, ctx.node).map((m) => m.service.protocol));
    if (protocols.size === 0) protocols.add('tcp');
    const sockets: ListeningSocket[] = [];
    const read: string[] = [];
    for (const p of [...protocols].sort()) {
      const argv = ['ss', '-Hl', p === 'tcp' ? '-t' : '-u', '-n'];
      const r = await runTool(host, argv);
      if (!r) return { read: ['ss: exit 127 (command not found)'] };
      read.push(`${argv.join(' ')}: exit ${r.exitCode}`);
      if (r.exitCode === 0) sockets.push(...parseSsListening(r.stdout, p));
    }
    return { sockets, read };
  },
  evaluate(obs, ctx) {
    if (!obs.sockets) return [skip('ss is not installed here: cannot list the listening sockets', obs.read)];
    const ms = realServerMemberships(ctx.model, ctx.node).filter((m) => m.service.mode === 'nat' || m.service.mode === 'dr' || m.service.mode === 'tun');
    if (ms.length === 0) return [skip('no design names this node as a real server: the service is unknown (give --config)')];
    const findings: Finding[] = [];
    for (const { service, rs } of ms) {
      const want = service.mode === 'nat' ? rs.address : service.vip;
      const ports = service.mode === 'nat' || rs.port !== 0 ? [rs.port || service.ports[0]!] : service.ports;
      for (const port of ports) {
        const on = obs.sockets.filter((s) => s.protocol === service.protocol && s.port === port);
        const evidence = [...obs.read, on.length ? `${service.protocol}/${port} listening on: ${on.map((s) => `${s.address}${s.device ? `%${s.device}` : ''}`).join(', ')}` : `nothing listens on ${service.protocol}/${port}`];
        const good = on.filter((s) => takes(s, want) && (s.device === undefined || s.device !== 'lo'));
        if (good.length > 0) {
          findings.push({ status: 'pass', message: `${service.name}: ${service.protocol}/${port} listens on ${good.map((s) => s.address).join(', ')}, which takes packets to ${want}`, evidence });
          continue;
        }
        const where = service.mode === 'nat' ? `the RIP ${want} (NAT rewrites the destination to it)` : `the VIP ${want} or 0.0.0.0 (${service.mode.toUpperCase()} delivers packets still addressed to the VIP)`;
        findings.push({
          status: 'fail',
          message: on.length
            ? `${service.name}: ${service.protocol}/${port} listens only on ${on.map((s) => s.address).join(', ')}: clients sent here get a reset; it must listen on ${where}`
            : `${service.name}: nothing listens on ${service.protocol}/${port}: start the service, listening on ${where}`,
          evidence,
          // No command: the bind address is the daemon's own configuration (nginx `listen`, Apache `Listen`, …), a person's edit.
          fix: {
            why: `make the service listen on 0.0.0.0:${port} or ${want}:${port} (e.g. nginx \`listen ${port};\`, Apache \`Listen ${port}\`) and restart it; the health check alone cannot tell, since it connects to the RIP`,
            commands: [],
            files: [],
          },
        });
      }
    }
    return findings;
  },
};
