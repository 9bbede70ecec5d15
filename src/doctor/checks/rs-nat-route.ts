/**
 * C25: in LVS-NAT the director rewrites the reply's source back to the VIP,
 * so the reply must go through it; a real server that answers a client by
 * another path sends a packet from its RIP the client never asked for, and
 * the handshake never completes (`ipvsadm -Lnc` shows SYN_RECV). On the real
 * server, `ip route get CLIENT` must go via the director's NAT address (the
 * floating natRouter, or the design's gateway). LXC/LXD containers are
 * container-nat-route's (their usual culprit is lxdbr0).
 */
import type { Check, Finding } from '../check.js';
import { detectNatRoute, hasMode, isRealServer, realServerMemberships, setupScriptFix, skip, type NatRouteObservation } from '../cde-support.js';
import { natGateway } from '../../core/render/real-server.js';
import type { CheckContext } from '../check.js';

/** Shared with container-nat-route: the judgement is the same, the words differ. */
export function evaluateNatRoute(obs: NatRouteObservation, ctx: CheckContext, container: boolean): Finding[] {
  const m = realServerMemberships(ctx.model, ctx.node).find((x) => x.service.mode === 'nat');
  if (!m || !ctx.model) return [skip('no design names this node as a NAT real server: the director’s address is unknown (give --config)')];
  const gw = natGateway(ctx.model, m.rs);
  if (!gw) return [skip(`the design gives ${ctx.node} no NAT gateway (no natRouter, gateway or director address on its subnet)`)];
  if (!obs.route) return [skip('ip is not installed here: cannot ask the kernel for the route to a client', ['ip: exit 127'])];
  const r = obs.route;
  const evidence = [`client ${obs.client} (${obs.clientFrom})`, 'error' in r ? `ip route get ${obs.client}: ${r.error}` : `ip route get ${obs.client}: ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev ?? '?'}`];
  if (!('error' in r) && r.gateway === gw) return [{ status: 'pass', message: `replies to clients go back through the director (${gw})`, evidence }];
  const dev = m.rs.interface;
  const now = 'error' in r ? `there is no route to ${obs.client}` : r.gateway ? `replies leave via ${r.gateway}${r.dev ? ` (${r.dev})` : ''}` : `the client is on-link (${r.dev ?? '?'}): replies go straight to it`;
  const bridge = container && !('error' in r) && r.gateway ? `, which is the container bridge (lxdbr0/lxcbr0) gateway that DHCP handed out, not the director` : '';
  const fixCmd = ['ip', 'route', 'replace', 'default', 'via', gw, 'dev', dev];
  return [
    {
      status: 'fail',
      message: `NAT replies bypass the director: ${now}${bridge}; they must go via ${gw}`,
      evidence,
      fix: setupScriptFix(
        `the director rewrites the reply’s source RIP back to the VIP only if the reply passes through it${container ? '; a DHCP lease from the container bridge would set the gateway back, so make the container’s network config static too' : ''}`,
        [fixCmd],
      ),
    },
  ];
}

export const check: Check<NatRouteObservation> = {
  id: 'rs-nat-route',
  title: 'NAT real server routes its replies through the director',
  section: 'C',
  sources: ['vieyahn2017/iBlog#316', 'lvs-users 2014-04 (Anders Henke)', 'RH Load Balancer Administration, NAT topology'],
  appliesTo: (ctx) => isRealServer(ctx) && hasMode(ctx, 'nat') && ctx.platform !== 'lxc' && ctx.platform !== 'lxd',
  detect: (host, ctx) => detectNatRoute(host, ctx),
  evaluate: (obs, ctx) => evaluateNatRoute(obs, ctx, false),
};
