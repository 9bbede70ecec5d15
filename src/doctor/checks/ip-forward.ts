/**
 * B7: a NAT director routes the real servers' replies back to the clients,
 * which needs net.ipv4.ip_forward = 1 — in its own network namespace: a new
 * namespace starts with 0 (moby#38723).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { modesOf, parseProcIpVs, readSysctl, skip, sysctlFix, sysctlLine, type IpvsService } from '../ab-support.js';

export interface IpForwardObservation {
  ipForward: number | undefined;
  live: IpvsService[] | undefined;
}

async function detect(host: Host): Promise<IpForwardObservation> {
  const [fwd, table] = await Promise.all([readSysctl(host, 'net/ipv4/ip_forward'), host.readFile('/proc/net/ip_vs')]);
  return { ipForward: fwd.value, live: table === undefined ? undefined : parseProcIpVs(table) };
}

function evaluate(o: IpForwardObservation, ctx: CheckContext): Finding[] {
  const evidence = [sysctlLine('net/ipv4/ip_forward', o.ipForward)];
  if (!modesOf(ctx, o.live).includes('nat')) return [skip('no NAT service on this director (the design says so, or the IPVS table has no Masq real server)', evidence)];
  if (o.ipForward === 1) return [{ status: 'pass', message: 'IP forwarding is on, as NAT needs', evidence }];
  return [
    {
      status: 'fail',
      message: 'IP forwarding is off: a NAT director drops the real servers\' replies instead of routing them to the clients',
      evidence,
      fix: sysctlFix('LVS-NAT: the replies of the real servers pass through the director and must be forwarded (RHEL Load Balancer Administration, "Turning on Packet Forwarding")', [
        { path: 'net/ipv4/ip_forward', value: 1 },
      ]),
    },
  ];
}

export const check: Check<IpForwardObservation> = {
  id: 'ip-forward',
  title: 'IP forwarding is on for a NAT director',
  section: 'B',
  sources: ['RHEL 7 Load Balancer Administration §3.7', 'moby#38723'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.includes('nat')),
  detect,
  evaluate,
};
