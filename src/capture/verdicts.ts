/**
 * What a followed connection says about the network: where its packets
 * stopped, why, and which doctor check (`lvs-doctor --list-checks`) gives the
 * evidence and the fix. Pure: reads the observations correlate.ts gathered.
 *
 * Sanity before assert (DESIGN rule 6): a stop "between X and Y" is only said
 * when X saw the packets; when Y saw nothing at all during the whole capture,
 * the verdict blames the capture at Y, not the network.
 */
import type { PointRole, TracePoint, TraceSpec } from './types.js';

/** First and last sighting of one kind of packet of a flow at one point. */
export interface Sighting {
  firstUs: number;
  lastUs: number;
  count: number;
}

/** An ICMP error that quotes a request of the flow. */
export interface IcmpSighting {
  point: string;
  timeUs: number;
  from: string;
  type: number;
  code: number;
  /** The quoted packet was IPIP (a TUN request). */
  aboutTunnel: boolean;
}

/** Everything seen of one connection, keyed by the client's address and port. */
export interface FlowState {
  client: string;
  clientPort: number;
  vport: number;
  firstUs: number;
  lastUs: number;
  /** A request to the VIP was seen (not only its NAT'ed or forwarded form). */
  sawVipRequest: boolean;
  /** Backend named by the forwarded form (NAT: destination RIP; TUN: outer destination; rs-in point). */
  backend: string | undefined;
  /** DR: the destination MAC of the forwarded copy, resolved to a backend at report time. */
  forwardMac: string | undefined;
  /** The request in the form it arrived at each point. */
  request: Map<string, Sighting>;
  /** The request as the director sent it on (DR: new MAC; TUN: IPIP; NAT: to the RIP) at director points. */
  forwarded: Map<string, Sighting>;
  /** Answers from the service address the client expects (VIP; NAT behind the director: the RIP). */
  reply: Map<string, Sighting>;
  /** A non-RST answer was seen somewhere. */
  answered: boolean;
  /** First RST from the server side, kept only when it came before any other answer. */
  reset: { point: string; timeUs: number; from: string } | undefined;
  /** DR/TUN: an answer sent from a RIP instead of the VIP. */
  ripReply: { point: string; timeUs: number; rip: string } | undefined;
  icmp: IcmpSighting | undefined;
  /** NAT at rs-in: the MAC the request came from (the director) and the MAC the reply went to. */
  requestSrcMac: Map<string, string>;
  replyDstMac: Map<string, string>;
  /** FIN or RST both ways, or a UDP answer: the flow may be evicted first. */
  done: boolean;
}

/**
 * The doctor checks (`lvs-doctor --list-checks`) a trace can point to: typed so a
 * verdict cannot name a check that does not exist (test/capture checks the registry).
 */
export const VERDICT_CHECKS = [
  'director-firewall',
  'ipvs-table-sync',
  'dr-l2-adjacency',
  'rs-tunnel',
  'rs-rp-filter',
  'rs-vip',
  'rs-listening',
  'rs-firewall',
  'rs-nat-route',
  'forward-policy',
  'vip-arp-answers',
  'vrrp-split-brain',
] as const;

export type VerdictCheck = (typeof VERDICT_CHECKS)[number];

export interface Verdict {
  ok: boolean;
  stoppedAfter: string | null;
  stoppedBefore: string | null;
  cause: string | null;
  check: VerdictCheck | null;
}

/** What a verdict needs besides the flow: the spec, the path, and which points saw anything at all. */
export interface VerdictContext {
  spec: TraceSpec;
  /** The points of this flow's path, in path order (client → director → real server). */
  path: TracePoint[];
  /** The flow's backend name, once resolved. */
  backend: string | null;
  /** Points that captured no frame at all. */
  silent: Set<string>;
  /** More than one MAC answered ARP for the VIP (the request may have gone to a real server). */
  arpLeak: boolean;
}

const ROLE_ORDER: Record<PointRole, number> = { client: 0, 'director-in': 1, 'director-out': 2, 'rs-in': 3, 'rs-tunl0': 4 };

/** Path order of a point's role, for sorting the ladder. */
export function roleOrder(role: PointRole): number {
  return ROLE_ORDER[role];
}

const isDirector = (p: TracePoint): boolean => p.role === 'director-in' || p.role === 'director-out';
const isRs = (p: TracePoint): boolean => p.role === 'rs-in' || p.role === 'rs-tunl0';

function stop(after: TracePoint | undefined, before: TracePoint | undefined, cause: string, check: VerdictCheck | null, ctx: VerdictContext): Verdict {
  if (before && ctx.silent.has(before.name)) {
    return {
      ok: false,
      stoppedAfter: after?.name ?? null,
      stoppedBefore: before.name,
      cause: `${before.name} captured nothing at all: the capture there may be wrong (interface, filter, permission), not the network`,
      check: null,
    };
  }
  return { ok: false, stoppedAfter: after?.name ?? null, stoppedBefore: before?.name ?? null, cause, check };
}

/** The judgement of one flow. Order matters: explicit evidence (RST, ICMP, wrong source) before silence. */
export function judgeFlow(flow: FlowState, ctx: VerdictContext): Verdict {
  const { spec, path } = ctx;
  const svc = `${spec.vip}:${flow.vport}`;
  const rsName = ctx.backend ?? 'the real server';
  const seenReq = (p: TracePoint): boolean => flow.request.has(p.name) || flow.forwarded.has(p.name);
  const reqPoints = path.filter(seenReq);
  const last = reqPoints[reqPoints.length - 1];
  const after = (p: TracePoint | undefined): TracePoint | undefined => (p ? path[path.indexOf(p) + 1] : path[0]);
  const byName = (name: string | undefined): TracePoint | undefined => path.find((p) => p.name === name);
  const rsPoints = path.filter(isRs);
  const rsSawIt = rsPoints.some(seenReq);
  const leftDirector = flow.forwarded.size > 0 || path.some((p) => p.role === 'director-out' && flow.request.has(p.name)) || rsSawIt;
  const tunl0 = path.find((p) => p.role === 'rs-tunl0');

  if (flow.reset && !flow.answered) {
    const at = byName(flow.reset.point) ?? last;
    if (!leftDirector) {
      return stop(at, after(at), `the director reset the connection itself (RST from ${flow.reset.from}): IPVS has no real server for ${svc}, so the director's own stack answered`, 'ipvs-table-sync', ctx);
    }
    return { ok: false, stoppedAfter: at?.name ?? null, stoppedBefore: null, cause: `${rsName} reset the connection (RST from ${flow.reset.from}): nothing listens on ${svc} there (a service bound to the RIP only, or stopped)`, check: 'rs-listening' };
  }

  if (flow.icmp && !flow.answered) {
    const i = flow.icmp;
    const at = byName(i.point) ?? last;
    if (i.aboutTunnel) {
      const what = i.type === 3 && i.code === 2 ? 'protocol 4 unreachable: the ipip module is not loaded there' : `ICMP type ${i.type} code ${i.code} for the IPIP packets: tunl0 is down or missing`;
      const rsAt = rsPoints.find(seenReq) ?? at;
      return { ok: false, stoppedAfter: rsAt?.name ?? null, stoppedBefore: tunl0?.name ?? null, cause: `${rsName} (${i.from}) answered the tunnelled request with ${what}`, check: 'rs-tunnel' };
    }
    if (i.from === spec.vip && !leftDirector) {
      const dirIn = path.find((p) => p.role === 'director-in') ?? at;
      return stop(dirIn, after(dirIn), `the director answered "port unreachable" itself: IPVS has ${svc} but no real server to send it to (all down or quiesced at weight 0)`, 'ipvs-table-sync', ctx);
    }
    return stop(at, after(at), `ICMP type ${i.type} code ${i.code} from ${i.from} about this connection`, null, ctx);
  }

  if (flow.ripReply && !flow.answered) {
    const at = byName(flow.ripReply.point) ?? last;
    return {
      ok: false,
      stoppedAfter: at?.name ?? null,
      stoppedBefore: null,
      cause: `${rsName} answered from its RIP ${flow.ripReply.rip} instead of the VIP ${spec.vip}: the client drops such answers; the VIP must be a local address the service answers from`,
      check: 'rs-vip',
    };
  }

  if (spec.mode === 'nat') {
    for (const [point, requestMac] of flow.requestSrcMac) {
      const replyMac = flow.replyDstMac.get(point);
      if (replyMac && replyMac !== requestMac) {
        const at = byName(point);
        const next = [...path].reverse().find((p) => isDirector(p) && path.indexOf(p) < path.indexOf(at!));
        return stop(at, next, `${rsName} sends its replies to ${replyMac}, not to the director (${requestMac}) that sent the request: its route to the client bypasses the director, which must un-NAT the reply`, 'rs-nat-route', ctx);
      }
    }
  }

  if (replyReachedClient(flow, ctx)) {
    return { ok: true, stoppedAfter: null, stoppedBefore: null, cause: null, check: null };
  }

  if (!last) {
    return { ok: false, stoppedAfter: null, stoppedBefore: path[0]?.name ?? null, cause: 'the request was not seen at any point', check: null };
  }

  if (!leftDirector) {
    if (isDirector(last)) {
      return stop(last, after(last), `no frame left the director for this connection: no virtual service for ${svc}, every real server down or quiesced, or the director's firewall drops it`, 'director-firewall', ctx);
    }
    return stop(last, after(last), ctx.arpLeak ? 'the request never reached the director: more than one MAC answers ARP for the VIP' : 'the request never reached the director: check which node holds the VIP', ctx.arpLeak ? 'vip-arp-answers' : null, ctx);
  }

  if (!rsSawIt) {
    if (rsPoints.length === 0) {
      return { ok: false, stoppedAfter: last.name, stoppedBefore: null, cause: `the director forwarded the request${ctx.backend ? ` to ${ctx.backend}` : ''} and no answer came back (no capture point on that real server to say more)`, check: null };
    }
    const cause = `the director forwarded the request to ${rsName}, but it never arrived there`;
    return stop(last, after(last), cause, spec.mode === 'dr' ? 'dr-l2-adjacency' : null, ctx);
  }

  const rsIn = rsPoints.find((p) => p.role === 'rs-in' && seenReq(p));
  if (spec.mode === 'tun' && tunl0 && rsIn && !seenReq(tunl0) && !flow.reply.has(rsIn.name)) {
    return stop(rsIn, tunl0, `the IPIP packets reach ${rsName} but are never decapsulated on tunl0: ipip not loaded or tunl0 down`, 'rs-tunnel', ctx);
  }

  const rsReplied = rsPoints.some((p) => flow.reply.has(p.name));
  if (!rsReplied) {
    const at = last;
    switch (spec.mode) {
      case 'tun':
        return { ok: false, stoppedAfter: at.name, stoppedBefore: null, cause: `the request reaches ${rsName}${seenReq(tunl0 ?? at) && tunl0 ? ' on tunl0' : ''} and nothing answers: reverse-path filtering drops it (the client is not routed via tunl0), or the VIP is not on tunl0`, check: 'rs-rp-filter' };
      case 'dr':
        return { ok: false, stoppedAfter: at.name, stoppedBefore: null, cause: `the request reaches ${rsName} and nothing answers: the VIP ${spec.vip} is not configured there (DR: a /32 on lo), so the kernel drops it`, check: 'rs-vip' };
      case 'nat':
        return { ok: false, stoppedAfter: at.name, stoppedBefore: null, cause: `the request reaches ${rsName} and nothing answers: its firewall drops it or nothing listens`, check: 'rs-firewall' };
    }
  }

  const rsAt = rsPoints.find((p) => flow.reply.has(p.name))!;
  if (spec.mode === 'nat') {
    const out = path.find((p) => p.role === 'director-out');
    if (out && !flow.reply.has(out.name)) {
      return stop(rsAt, out, `${rsName} answered but the reply never came back through the director: its route to the client bypasses the director`, 'rs-nat-route', ctx);
    }
    const dirIn = path.find((p) => p.role === 'director-in');
    const from = out ?? rsAt;
    return stop(from, dirIn ?? path.find((p) => p.role === 'client'), 'the reply reached the director but the director did not pass it back to the client', 'forward-policy', ctx);
  }
  const client = path.find((p) => p.role === 'client');
  return stop(rsAt, client, `the reply left ${rsName} but never reached the client: the route from the real server to the client loses it`, null, ctx);
}

/** The reply reached the client-most point that was captured, or completed elsewhere when no such point exists. */
function replyReachedClient(flow: FlowState, ctx: VerdictContext): boolean {
  const { path, spec } = ctx;
  const has = (role: PointRole): TracePoint[] => path.filter((p) => p.role === role);
  const replied = (ps: TracePoint[]): boolean => ps.some((p) => flow.reply.has(p.name));
  const clients = has('client');
  if (clients.length > 0) return replied(clients);
  if (spec.mode === 'nat') {
    for (const role of ['director-in', 'director-out', 'rs-in'] as const) {
      const ps = has(role);
      if (ps.length > 0) return replied(ps);
    }
    return false;
  }
  // DR and TUN: the reply never passes the director; the real server's interface is the last place to see it.
  const rs = has('rs-in');
  if (rs.length > 0) return replied(rs);
  return flow.answered;
}
