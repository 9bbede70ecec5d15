/**
 * E41: LXC/LXD containers as NAT real servers get their default route from
 * the bridge's DHCP (lxdbr0, lxcbr0): replies go to the container host, which
 * masquerades them out, instead of to the director, which would have
 * rewritten them to the VIP (keepalived#2243, "IPVS not masquerading despite
 * lb_kind nat"). Judged like rs-nat-route, inside the container.
 */
import type { Check } from '../check.js';
import { detectNatRoute, hasMode, isRealServer, type NatRouteObservation } from '../cde-support.js';
import { evaluateNatRoute } from './rs-nat-route.js';

export const check: Check<NatRouteObservation> = {
  id: 'container-nat-route',
  title: 'LXC/LXD NAT real server replies through the director, not lxdbr0',
  section: 'E',
  sources: ['keepalived#2243'],
  appliesTo: (ctx) => isRealServer(ctx) && hasMode(ctx, 'nat') && (ctx.platform === 'lxc' || ctx.platform === 'lxd'),
  detect: (host, ctx) => detectNatRoute(host, ctx),
  evaluate: (obs, ctx) => evaluateNatRoute(obs, ctx, true),
};
