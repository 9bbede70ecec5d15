/**
 * C27: DR and TUN forward the client's packet unchanged but for the MAC or an
 * outer header, so the real server sees the VIP's port: a different real
 * server port cannot be honoured ("port-mapping is only available … with
 * masq", ldirectord(8)). Read in the design and in the live table
 * (`ipvsadm -Ln`: Route/Tunnel entries whose port differs from the service's).
 */
import type { Check, Finding } from '../check.js';
import { hasMode, runTool, skip } from '../cde-support.js';

export interface PortMappingObservation {
  /** `ipvsadm -Ln` text, when ipvsadm ran. */
  table?: string;
}

/** Pure: Route/Tunnel destinations of `ipvsadm -Ln` whose port differs from their service's. */
export function liveMismatches(table: string): string[] {
  const out: string[] = [];
  let svc: { vip: string; port: number } | undefined;
  for (const line of table.split('\n')) {
    const s = /^(TCP|UDP|SCTP)\s+(\d+\.\d+\.\d+\.\d+):(\d+)/.exec(line);
    if (s) {
      svc = { vip: s[2]!, port: Number(s[3]) };
      continue;
    }
    if (/^FWM/.test(line)) {
      svc = undefined;
      continue;
    }
    const r = /^\s+->\s+(\d+\.\d+\.\d+\.\d+):(\d+)\s+(Route|Tunnel)\b/.exec(line);
    if (r && svc && Number(r[2]) !== svc.port) out.push(`${svc.vip}:${svc.port} -> ${r[1]}:${r[2]} ${r[3]}`);
  }
  return out;
}

export const check: Check<PortMappingObservation> = {
  id: 'port-mapping',
  title: 'No port mapping in DR/TUN (real server port = service port)',
  section: 'C',
  sources: ['ldirectord(8) "port-mapping is only available … with masq"', 'ipvsadm(8)'],
  appliesTo: (ctx) => ctx.role === 'director' && hasMode(ctx, 'dr', 'tun'),
  async detect(host) {
    const r = await runTool(host, ['ipvsadm', '-Ln']);
    return r && r.exitCode === 0 ? { table: r.stdout } : {};
  },
  evaluate(obs, ctx) {
    const findings: Finding[] = [];
    const design: string[] = [];
    for (const s of ctx.model?.services ?? []) {
      if (s.mode !== 'dr' && s.mode !== 'tun') continue;
      if (s.fwmark !== undefined) continue;
      for (const r of s.realServers) if (r.port !== 0 && !s.ports.includes(r.port)) design.push(`${s.name}: ${s.vip}:${s.ports.join(',')} -> ${r.name} ${r.address}:${r.port} (${s.mode.toUpperCase()})`);
    }
    const live = obs.table ? liveMismatches(obs.table) : [];
    const evidence = [...design.map((d) => `design: ${d}`), ...live.map((l) => `ipvsadm -Ln: ${l}`)];
    if (!ctx.model && obs.table === undefined) return [skip('neither a design nor the IPVS table (ipvsadm) to read')];
    if (design.length === 0 && live.length === 0) {
      findings.push({ status: 'pass', message: 'every DR/TUN real server listens on its service’s port', evidence: obs.table === undefined ? ['ipvsadm not available: design only'] : ['design and ipvsadm -Ln agree: no mapping'] });
      return findings;
    }
    findings.push({
      status: 'fail',
      message: 'port mapping requested in DR/TUN: the real server receives the VIP’s port, not the one configured',
      evidence,
      fix: {
        why: 'DR and TUN leave the TCP header alone; only NAT (masquerading) rewrites the port. Make the ports equal (let the server listen on the VIP port) or use NAT',
        commands: [],
        files: [],
      },
    });
    return findings;
  },
};
