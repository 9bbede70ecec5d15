/**
 * The IPVS table as `ipvsadm-restore` input: the very lines `ipvsadm -Sn`
 * prints (ipvsadm 1.31), so a saved table and a generated one diff cleanly.
 *
 *   -A -t VIP:PORT -s SCHED [-p TIMEOUT [-M MASK]]     (-u for UDP, -f MARK for a firewall mark)
 *   -a -t VIP:PORT -r RIP:PORT -g|-m|-i -w WEIGHT      (-i lines end in --tun-type ipip)
 *
 * ipvsadm(8): `-M` matters only with `-p`; `ipvsadm -S` prints it only when
 * the mask is not 255.255.255.255. A fwmark real server keeps its port as the
 * model says (0: the client's destination port, printed as `:0`).
 * The table carries no names, checks, timers or directors: see projectIpvsadm.
 */
import type { Installation, L4Mode, NormalizedService } from '../model.js';
import { isL4 } from '../model.js';
import type { Problem } from '../problems.js';

const FORWARD_FLAG: Record<L4Mode, string> = { dr: '-g', nat: '-m', tun: '-i' };

/** One IPVS virtual service as the table holds it. */
export interface IpvsVirtual {
  service: NormalizedService;
  /** `-t 10.0.0.1:80`, `-u 10.0.0.1:53` or `-f 80`. */
  selector: string;
  /** The virtual port (0 for fwmark). */
  port: number;
  realServers: { address: string; port: number; weight: number }[];
}

/**
 * IPVS knows one port per virtual service: a non-fwmark service with several
 * ports is several virtual services. A real server that follows the
 * service's port (the default) follows each of them; one with its own port
 * keeps it.
 */
export function ipvsVirtuals(model: Installation): IpvsVirtual[] {
  const out: IpvsVirtual[] = [];
  for (const s of model.services) {
    if (!isL4(s.mode)) continue;
    if (s.fwmark !== undefined) {
      out.push({ service: s, selector: `-f ${s.fwmark}`, port: 0, realServers: s.realServers.map((r) => ({ address: r.address, port: r.port, weight: r.weight })) });
      continue;
    }
    const flag = s.protocol === 'udp' ? '-u' : '-t';
    for (const p of s.ports) {
      out.push({
        service: s,
        selector: `${flag} ${s.vip}:${p}`,
        port: p,
        realServers: s.realServers.map((r) => ({ address: r.address, port: r.port === s.ports[0] ? p : r.port, weight: r.weight })),
      });
    }
  }
  return out;
}

/** What the IPVS table cannot hold of the model (all warnings: the table is still right for what it holds). */
export function ipvsadmProblems(model: Installation): Problem[] {
  const out: Problem[] = [];
  model.services.forEach((s, i) => {
    if (!isL4(s.mode)) out.push({ severity: 'warning', path: `services[${i}].mode`, message: `${s.mode} is a layer-7 proxy: not in the IPVS table` });
  });
  out.push({
    severity: 'warning',
    path: 'services',
    message: 'the IPVS table has no health checks: nothing removes a dead real server',
    hint: 'run keepalived or ldirectord to check the real servers',
  });
  return out;
}

/** Model -> ipvsadm-restore input (`ipvsadm -Sn` syntax). Layer-7 services are left out. */
export function renderIpvsadm(model: Installation): string {
  const lines: string[] = [];
  for (const v of ipvsVirtuals(model)) {
    const s = v.service;
    let add = `-A ${v.selector} -s ${s.scheduler}`;
    if (s.persistence) {
      add += ` -p ${s.persistence.timeout}`;
      if (s.persistence.netmask !== undefined && s.persistence.netmask !== '255.255.255.255') add += ` -M ${s.persistence.netmask}`;
    }
    lines.push(add);
    const mode = s.mode as L4Mode;
    for (const r of v.realServers) {
      const tun = mode === 'tun' ? ' --tun-type ipip' : '';
      lines.push(`-a ${v.selector} -r ${r.address}:${r.port} ${FORWARD_FLAG[mode]} -w ${r.weight}${tun}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
