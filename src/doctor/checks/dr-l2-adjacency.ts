/**
 * C26: LVS-DR only rewrites the destination MAC, so every DR real server must
 * be on a segment of the director: `ip route get RIP` on the director must be
 * directly connected (no `via`). Through a router the frame goes to the
 * router's MAC with the VIP as destination, and the router sends it back to
 * the VIP holder (or drops it): the real server never sees it.
 */
import type { Check, Finding } from '../check.js';
import { hasMode, routeGet, skip, type RouteGet } from '../cde-support.js';

export interface DrL2Observation {
  routes: Array<{ rs: string; address: string; route?: RouteGet | { error: string } }>;
}

export const check: Check<DrL2Observation> = {
  id: 'dr-l2-adjacency',
  title: 'DR real servers are on the director’s segment (no router between)',
  section: 'C',
  sources: ['cloudnativelabs/kube-router#40', 'LVS-HOWTO LVS-DR'],
  appliesTo: (ctx) => ctx.role === 'director' && hasMode(ctx, 'dr'),
  async detect(host, ctx) {
    const seen = new Set<string>();
    const routes: DrL2Observation['routes'] = [];
    for (const s of ctx.model?.services ?? []) {
      if (s.mode !== 'dr') continue;
      for (const r of s.realServers) {
        if (seen.has(r.address)) continue;
        seen.add(r.address);
        const route = await routeGet(host, r.address);
        routes.push({ rs: r.name, address: r.address, ...(route ? { route } : {}) });
      }
    }
    return { routes };
  },
  evaluate(obs) {
    if (obs.routes.length === 0) return [skip('no DR real server in the design (give --config)')];
    return obs.routes.map((x): Finding => {
      if (!x.route) return skip('ip is not installed here: cannot ask the kernel for the route', ['ip: exit 127']);
      const r = x.route;
      const line = 'error' in r ? `ip route get ${x.address}: ${r.error}` : `ip route get ${x.address}: ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev ?? '?'}`;
      if (!('error' in r) && !r.gateway) return { status: 'pass', message: `${x.rs} (${x.address}) is directly connected on ${r.dev ?? '?'}`, evidence: [line], subject: x.rs };
      return {
        status: 'fail',
        message: 'error' in r ? `no route to the DR real server ${x.rs} (${x.address})` : `the DR real server ${x.rs} (${x.address}) is behind the router ${r.gateway}: DR frames cannot reach it`,
        evidence: [line],
        subject: x.rs,
        fix: {
          why: 'DR rewrites only the MAC, so it needs one L2 segment; across a router use TUN (IP-in-IP) or NAT, or give the director an interface on the real server’s segment',
          commands: [],
          files: [],
        },
      };
    });
  },
};
