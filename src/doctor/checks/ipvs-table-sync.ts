/**
 * D38: the checker and the IPVS table out of sync: a real server that answers
 * is missing from `ipvsadm -Ln` (recovered but never re-added; a frozen
 * checker), or one that does not answer still takes traffic (weight > 0).
 * Liveness is our own TCP connect from the director to RIP:check-port (DIP →
 * RIP, never through the VIP: IPVS does not balance locally originated
 * connections).
 */
import type { Check, Finding } from '../check.js';
import type { ServiceManager } from '../../apply/plan.js';
import type { NormalizedService } from '../../core/model.js';
import { detectServiceManager, directorServices, keepalivedReload, runTool, skip } from '../cde-support.js';
import { checkPort } from '../../core/render/keepalived.js';

export interface IpvsSyncObservation {
  table?: string;
  probes: Array<{ service: string; rs: string; address: string; port: number; alive: boolean }>;
  /** How keepalived is reloaded here (the lab's nodes and many containers have no systemd). */
  serviceManager?: ServiceManager;
}

const FORWARD_FLAG = { nat: '-m', dr: '-g', tun: '-i' } as const;

/** `ipvsadm -a` putting a real server of the design back, with the design's method and weight (ipvsadm(8)). */
function addBack(s: NormalizedService, rsName: string): string[] | undefined {
  const rs = s.realServers.find((r) => r.name === rsName);
  if (!rs || (s.mode !== 'nat' && s.mode !== 'dr' && s.mode !== 'tun')) return undefined;
  const port = rs.port || s.ports[0]!;
  return ['ipvsadm', '-a', s.protocol === 'udp' ? '-u' : '-t', `${s.vip}:${s.ports[0]}`, '-r', `${rs.address}:${port}`, FORWARD_FLAG[s.mode], '-w', String(rs.weight)];
}

/** Pure: real servers (addr:port → weight) under VIP:port in `ipvsadm -Ln`. */
export function tableReals(table: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  let cur: Map<string, number> | undefined;
  for (const line of table.split('\n')) {
    const s = /^(TCP|UDP)\s+(\S+)/.exec(line);
    if (s) {
      cur = new Map();
      out.set(`${s[1]!.toLowerCase()} ${s[2]}`, cur);
      continue;
    }
    if (/^FWM/.test(line)) {
      cur = undefined;
      continue;
    }
    const r = /^\s+->\s+(\S+)\s+\S+\s+(\d+)/.exec(line);
    if (r && cur) cur.set(r[1]!, Number(r[2]));
  }
  return out;
}

export const check: Check<IpvsSyncObservation> = {
  id: 'ipvs-table-sync',
  title: 'IPVS table matches the real servers that answer',
  section: 'D',
  sources: ['keepalived#2523', 'keepalived#373', 'keepalived#649', 'keepalived#2295'],
  appliesTo: (ctx) => ctx.role === 'director',
  async detect(host, ctx) {
    const r = await runTool(host, ['ipvsadm', '-Ln']);
    const probes: IpvsSyncObservation['probes'] = [];
    for (const s of directorServices(ctx.model)) {
      if (s.protocol !== 'tcp' || s.fwmark !== undefined) continue;
      for (const rs of s.realServers) {
        const port = checkPort(s.healthCheck, s, rs.port);
        // bash's /dev/tcp: a plain connect, argv only (address and port are positional parameters, never spliced into the script).
        const p = await host.run(['timeout', '2', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', rs.address, String(port)], { timeoutMs: 5_000 });
        probes.push({ service: s.name, rs: rs.name, address: rs.address, port, alive: p.exitCode === 0 });
      }
    }
    return { ...(r && r.exitCode === 0 ? { table: r.stdout } : {}), probes, serviceManager: await detectServiceManager(host) };
  },
  evaluate(obs, ctx) {
    if (obs.table === undefined) return [skip('ipvsadm is not installed or cannot read the table here')];
    if (obs.probes.length === 0) return [skip('no TCP service with real servers in the design to compare with (give --config)')];
    const table = tableReals(obs.table);
    const findings: Finding[] = [];
    for (const s of directorServices(ctx.model)) {
      const probes = obs.probes.filter((p) => p.service === s.name);
      if (probes.length === 0) continue;
      const reals = table.get(`${s.protocol} ${s.vip}:${s.ports[0]}`);
      const evidence = [`ipvsadm -Ln ${s.protocol.toUpperCase()} ${s.vip}:${s.ports[0]}: ${reals ? [...reals].map(([a, w]) => `${a} weight ${w}`).join(', ') || 'no real servers' : 'service absent'}`, ...probes.map((p) => `connect ${p.address}:${p.port} from here: ${p.alive ? 'answers' : 'no answer'}`)];
      const missing = probes.filter((p) => p.alive && !(reals && [...reals.keys()].some((k) => k.startsWith(`${p.address}:`))));
      const stale = probes.filter((p) => !p.alive && reals && [...reals].some(([k, w]) => k.startsWith(`${p.address}:`) && w > 0));
      if (missing.length === 0 && stale.length === 0) {
        findings.push({ status: 'pass', message: `${s.name}: the table holds exactly the real servers that answer`, evidence });
        continue;
      }
      const parts = [...missing.map((p) => `${p.rs} answers but is not in the table`), ...stale.map((p) => `${p.rs} does not answer but still takes traffic`)];
      // With the virtual service gone altogether only keepalived can rebuild it.
      const adds = reals ? missing.flatMap((p) => { const a = addBack(s, p.rs); return a ? [a] : []; }) : [];
      const reload = keepalivedReload(obs.serviceManager ?? 'direct');
      findings.push({
        status: 'fail',
        message: `${s.name}: the IPVS table is out of sync with the real servers: ${parts.join('; ')}`,
        evidence,
        fix: {
          why: `keepalived’s checker adds and removes real servers; when the table disagrees with reality an entry was changed by hand or the checker is stuck: ${adds.length ? 'put the answering real servers back as the design says, then ' : ''}make keepalived re-read its configuration (${obs.serviceManager === 'systemd' ? 'systemd' : 'no systemd here: SIGHUP through its pid file'})`,
          commands: [...adds, reload],
          files: [],
        },
      });
    }
    return findings;
  },
};
