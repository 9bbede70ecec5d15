/**
 * B8: on the backup of an L7 pair, nginx/HAProxy bind the VIP the node does
 * not hold yet; without net.ipv4.ip_nonlocal_bind = 1 they fail to start
 * ("cannot assign requested address") and the backup cannot take over.
 */
import { isL4 } from '../../core/model.js';
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { readSysctl, skip, sysctlFix, sysctlLine } from '../ab-support.js';

export interface NonlocalBindObservation {
  nonlocalBind: number | undefined;
}

async function detect(host: Host): Promise<NonlocalBindObservation> {
  return { nonlocalBind: (await readSysctl(host, 'net/ipv4/ip_nonlocal_bind')).value };
}

function evaluate(o: NonlocalBindObservation, ctx: CheckContext): Finding[] {
  const evidence = [sysctlLine('net/ipv4/ip_nonlocal_bind', o.nonlocalBind)];
  if (!ctx.model) return [skip('without the design it is unknown whether this balancer is one of a pair sharing a VIP', evidence)];
  if (ctx.model.directors.length < 2) return [skip('a single balancer always holds its VIP: non-local bind is not needed', evidence)];
  if (o.nonlocalBind === 1) return [{ status: 'pass', message: 'non-local bind is on: the proxy can bind the VIP before this node holds it', evidence }];
  const vips = [...new Set(ctx.model.services.filter((s) => !isL4(s.mode)).map((s) => s.vip))];
  return [
    {
      status: 'fail',
      message: `ip_nonlocal_bind is off: on the backup, the proxy cannot bind ${vips.join(', ')} until failover, so it does not start`,
      evidence,
      fix: sysctlFix('a proxy behind a VRRP VIP must bind the VIP on both balancers (RHEL 7 LB Admin §3.7, Nonlocal Binding)', [{ path: 'net/ipv4/ip_nonlocal_bind', value: 1 }]),
    },
  ];
}

export const check: Check<NonlocalBindObservation> = {
  id: 'nonlocal-bind',
  title: 'Non-local bind for a layer-7 balancer pair',
  section: 'B',
  sources: ['RHEL 7 Load Balancer Administration §3.7'],
  appliesTo: (ctx) => (ctx.role === 'balancer' || ctx.role === 'director') && ctx.modes.some((m) => !isL4(m)),
  detect,
  evaluate,
};
