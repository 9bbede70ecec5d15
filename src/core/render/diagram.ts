/**
 * A plain-text picture of a design: who the client talks to, what the
 * director does to the packet in this mode, and which way the replies go —
 * the thing people get wrong about DR and TUN. Pure; the wizard and
 * `lvs-wizard --lab` print it.
 */
import { isL4, type Installation, type NormalizedService } from '../model.js';
import { addressOf } from '../net.js';
import { directorNatAddress } from '../validate.js';

const REWRITE: Record<NormalizedService['mode'], string> = {
  nat: 'rewrites the destination to a real server (DNAT) and the replies back (SNAT)',
  dr: 'rewrites only the destination MAC: the real servers must share its L2 segment',
  tun: 'wraps each packet in IP-in-IP to the real server',
  nginx: 'nginx terminates the connection and opens a new one to a real server',
  haproxy: 'HAProxy terminates the connection and opens a new one to a real server',
};

const RS_NEEDS: Record<NormalizedService['mode'], string> = {
  nat: 'default route via the director',
  dr: 'VIP on lo, arp_ignore=1, arp_announce=2',
  tun: 'ipip, VIP on tunl0, rp_filter 0',
  nginx: 'nothing special',
  haproxy: 'nothing special',
};

const REPLIES: Record<NormalizedService['mode'], string> = {
  nat: 'replies: real server -> director (its gateway) -> client',
  dr: 'replies: real server -> client directly, from the VIP (the director sees only requests)',
  tun: 'replies: real server -> client directly, from the VIP (the director sees only requests)',
  nginx: 'replies: real server -> balancer -> client',
  haproxy: 'replies: real server -> balancer -> client',
};

export function renderDiagram(m: Installation, client?: string): string {
  const out: string[] = [];
  for (const s of m.services) {
    const ports = s.ports.join('+');
    const head = isL4(s.mode) ? `${s.mode.toUpperCase()}, ${s.scheduler}${s.persistence ? `, sticky ${s.persistence.timeout}s` : ''}` : `${s.mode}, ${s.scheduler}`;
    out.push(`client${client ? ` ${client}` : ''}`);
    out.push('   |');
    out.push(`   |  ${s.protocol.toUpperCase()} ${s.vip}:${ports}${s.fwmark !== undefined ? ` (fwmark ${s.fwmark})` : ''}  [${head}]`);
    out.push('   v');
    const dirs = m.directors.map((d, i) => {
      const addr = d.interfaces.map((f) => (f.address ? addressOf(f.address) : f.name)).join('/');
      const role = m.directors.length === 2 ? (i === 0 ? ' MASTER' : ' BACKUP') : '';
      return `${d.name} ${addr}${role}`;
    });
    out.push(`${dirs.join('  |  ')}${m.vrrp ? `   (VRRP v${m.vrrp.version}, advert ${m.vrrp.advertInt}s, ${m.vrrp.transport})` : ''}`);
    out.push(`   |  ${REWRITE[s.mode]}`);
    if (s.mode === 'nat') {
      const gw = directorNatAddress(m);
      if (gw) out.push(`   |  real servers' gateway: ${gw}${m.natRouter ? ' (floats with the VIP)' : ''}`);
    }
    s.realServers.forEach((r, i) => {
      const last = i === s.realServers.length - 1;
      out.push(`   ${last ? '`' : '+'}--> ${r.name} ${r.address}${r.port && r.port !== s.ports[0] ? `:${r.port}` : ''}  weight ${r.weight}${i === 0 ? `   (${RS_NEEDS[s.mode]})` : ''}`);
    });
    out.push(REPLIES[s.mode]);
    out.push('');
  }
  return out.join('\n');
}
