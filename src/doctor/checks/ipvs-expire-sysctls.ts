/**
 * B14: when a real server is removed, IPVS keeps its existing connections
 * unless expire_nodest_conn = 1 (a UDP client that keeps sending sticks to a
 * dead server forever); when it is quiesced (weight 0), persistence
 * templates keep sending new connections to it unless
 * expire_quiescent_template = 1 (ipvs-sysctl.rst; keepalived#2163).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { designL4Services, parseProcIpVs, readSysctls, skip, sysctlFix, sysctlLine, type IpvsService } from '../ab-support.js';

export interface IpvsExpireObservation {
  expireNodestConn: number | undefined;
  expireQuiescentTemplate: number | undefined;
  live: IpvsService[] | undefined;
}

const NODEST = 'net/ipv4/vs/expire_nodest_conn';
const QUIESCENT = 'net/ipv4/vs/expire_quiescent_template';

async function detect(host: Host): Promise<IpvsExpireObservation> {
  const [v, table] = await Promise.all([readSysctls(host, [NODEST, QUIESCENT]), host.readFile('/proc/net/ip_vs')]);
  return { expireNodestConn: v[NODEST], expireQuiescentTemplate: v[QUIESCENT], live: table === undefined ? undefined : parseProcIpVs(table) };
}

function evaluate(o: IpvsExpireObservation, ctx: CheckContext): Finding[] {
  const evidence = [sysctlLine(NODEST, o.expireNodestConn), sysctlLine(QUIESCENT, o.expireQuiescentTemplate)];
  if (o.expireNodestConn === undefined || o.expireQuiescentTemplate === undefined) return [skip('the IPVS sysctls are not readable (ip_vs not loaded, or hidden in a container)', evidence)];
  const design = designL4Services(ctx.model);
  const udp = [...design.filter((s) => s.protocol === 'udp').map((s) => s.name), ...(ctx.model ? [] : (o.live ?? []).filter((s) => s.protocol === 'UDP').map((s) => `${s.address}:${s.port}`))];
  const persistent = [
    ...design.filter((s) => s.persistence).map((s) => s.name),
    ...(ctx.model ? [] : (o.live ?? []).filter((s) => s.persistent).map((s) => (s.protocol === 'FWM' ? `fwmark ${s.fwmark}` : `${s.address}:${s.port}`))),
  ];
  if (udp.length) evidence.push(`UDP services: ${udp.join(', ')}`);
  if (persistent.length) evidence.push(`persistent services: ${persistent.join(', ')}`);
  const findings: Finding[] = [];
  if (ctx.model?.ipvsSysctls.expireQuiescentTemplate && o.expireQuiescentTemplate !== 1) {
    findings.push({ status: 'fail', message: 'the design asks for expire_quiescent_template = 1, and it is 0 here', evidence, fix: sysctlFix('the design sets it: persistence templates of a weight-0 real server expire', [{ path: QUIESCENT, value: 1 }]) });
  } else if (persistent.length && o.expireQuiescentTemplate !== 1) {
    findings.push({
      status: 'warn',
      message: `persistent services (${persistent.join(', ')}) with expire_quiescent_template = 0: clients with a template keep going to a real server whose weight was set to 0`,
      evidence,
      fix: sysctlFix('a quiesced (weight 0) real server should stop receiving persistent clients (ipvs-sysctl.rst, expire_quiescent_template; ldirectord(8) quiescent)', [{ path: QUIESCENT, value: 1 }]),
    });
  }
  if (udp.length && o.expireNodestConn !== 1) {
    findings.push({
      status: 'warn',
      message: `UDP services (${udp.join(', ')}) with expire_nodest_conn = 0: a client that keeps sending stays bound to a removed real server`,
      evidence,
      fix: sysctlFix('connections to a removed real server expire at once instead of holding UDP flows on a dead server (ipvs-sysctl.rst, expire_nodest_conn; LVS KB "Troubleshooting")', [{ path: NODEST, value: 1 }]),
    });
  }
  if (findings.length) return findings;
  if (!udp.length && !persistent.length) return [{ status: 'pass', message: 'no UDP and no persistent service: these settings do not matter here', evidence }];
  return [{ status: 'pass', message: 'connections and templates of removed or quiesced real servers expire', evidence }];
}

export const check: Check<IpvsExpireObservation> = {
  id: 'ipvs-expire-sysctls',
  title: 'Connections to removed or drained real servers expire',
  section: 'B',
  sources: ['Documentation/networking/ipvs-sysctl.rst', 'keepalived#2163', 'ldirectord(8) quiescent', 'kube-router#544'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
