/**
 * Following connections across capture points (issue 5, DESIGN rule 6).
 * A flow is the client's address and port; each packet at each point is
 * matched to it through the mode's rewrite:
 *  - NAT: client → VIP at director-in, client → RIP at director-out and the
 *    real server; the reply RIP → client behind the director, VIP → client
 *    in front of it.
 *  - DR: the same addresses everywhere; the director re-sends the frame to
 *    the real server's MAC; the reply goes VIP → client from the real server,
 *    never through the director.
 *  - TUN: director → RIP IPIP around client → VIP (rs-in), the inner packet
 *    on tunl0, the reply VIP → client straight from the real server.
 * Points may be fed in any order; only timestamps place a sighting on the
 * flow's timeline. Memory is bounded: the flow table holds `maxFlows`
 * connections and evicts finished ones first, counting every eviction.
 */
import type { Packet } from './packet.js';
import type { PointStats, TracePoint, TraceReport, TraceSpec } from './types.js';
import { judgeFlow, roleOrder, type FlowState, type Sighting, type VerdictCheck } from './verdicts.js';

export interface CorrelateOptions {
  /** Most flows kept at once (default 10 000): finished flows are evicted first, then the oldest. */
  maxFlows?: number;
}

/** Time windows for VRRP: two sources advertising one VRID in this many windows is a split brain, not a hand-over. */
const VRRP_WINDOW_US = 2_000_000;
const VRRP_SPLIT_WINDOWS = 3;
const VRRP_MAX_WINDOWS = 4096;

const sight = (map: Map<string, Sighting>, point: string, timeUs: number): void => {
  const s = map.get(point);
  if (s) {
    s.firstUs = Math.min(s.firstUs, timeUs);
    s.lastUs = Math.max(s.lastUs, timeUs);
    s.count++;
  } else {
    map.set(point, { firstUs: timeUs, lastUs: timeUs, count: 1 });
  }
};

/** Merges the packets of every capture point into per-connection ladders and verdicts. */
export class Correlator {
  private readonly flows = new Map<string, FlowState>();
  /** Keys of finished flows in the order they finished: evicted first. */
  private readonly finished = new Set<string>();
  private readonly points = new Map<string, TracePoint>();
  private readonly frames = new Map<string, number>();
  private readonly maxFlows: number;
  private readonly byRip = new Map<string, { name: string; port: number | undefined }>();
  private readonly macToBackend = new Map<string, string>();
  /** Per director point: MACs the VIP's requests were addressed to (the director's own), to tell the DR re-sent copy. */
  private readonly directorMacs = new Map<string, Set<string>>();
  private readonly arpAnswers = new Map<string, { point: string; timeUs: number }>();
  /** vrid → window index → advertising sources. */
  private readonly vrrp = new Map<number, Map<number, Set<string>>>();
  private evictedCount = 0;

  constructor(
    private readonly spec: TraceSpec,
    opts: CorrelateOptions = {},
  ) {
    this.maxFlows = Math.max(1, opts.maxFlows ?? 10_000);
    for (const p of spec.points) this.points.set(p.name, p);
    for (const b of spec.backends) {
      this.byRip.set(b.rip, { name: b.name, port: b.port });
      if (b.mac) this.macToBackend.set(b.mac.toLowerCase(), b.name);
    }
  }

  /** Flows dropped because the table was full. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** One decoded packet seen at `point` (a TracePoint name); packets of a point the spec does not name are ignored. */
  add(point: string, pkt: Packet): void {
    const tp = this.points.get(point);
    if (!tp) return;
    this.frames.set(point, (this.frames.get(point) ?? 0) + 1);
    if (pkt.arp) {
      this.addArp(tp, pkt);
      return;
    }
    const ip = pkt.ip;
    if (!ip) return;
    const l4 = pkt.l4;
    if (l4?.kind === 'vrrp') {
      this.addVrrp(ip.src, l4.vrid, l4.priority, pkt.timeUs);
      return;
    }
    if (l4?.kind === 'icmp') {
      this.addIcmp(tp, pkt);
      return;
    }
    if (!l4 || l4.kind !== this.spec.proto) return;
    const inner = pkt.inner;
    const tunnelled = ip.proto === 4 && inner !== undefined;
    const hdr = tunnelled ? inner : ip;
    const { vip } = this.spec;

    if (hdr.dst === vip && this.portMatches(l4.dstPort)) {
      this.addRequest(tp, pkt, hdr.src, l4.srcPort, l4.dstPort, tunnelled ? ip.dst : undefined);
      return;
    }
    if (hdr.src === vip && this.portMatches(l4.srcPort)) {
      this.addReply(tp, pkt, hdr.dst, l4.dstPort, l4.srcPort, undefined, l4.kind === 'tcp' ? l4.flags : undefined);
      return;
    }
    const toRip = this.byRip.get(hdr.dst);
    if (toRip && this.spec.mode === 'nat' && hdr.src !== this.spec.directorRip && !this.byRip.has(hdr.src) && this.backendPortMatches(toRip.port, l4.dstPort)) {
      this.addRequest(tp, pkt, hdr.src, l4.srcPort, l4.dstPort, hdr.dst);
      return;
    }
    const fromRip = this.byRip.get(hdr.src);
    if (fromRip && hdr.dst !== this.spec.directorRip && !this.byRip.has(hdr.dst) && this.backendPortMatches(fromRip.port, l4.srcPort)) {
      this.addReply(tp, pkt, hdr.dst, l4.dstPort, l4.srcPort, hdr.src, l4.kind === 'tcp' ? l4.flags : undefined);
    }
  }

  private portMatches(port: number): boolean {
    return this.spec.port === undefined || this.spec.port === port;
  }

  private backendPortMatches(backendPort: number | undefined, port: number): boolean {
    const want = backendPort ?? this.spec.port;
    return want === undefined || want === port;
  }

  private flow(client: string, clientPort: number, vport: number, timeUs: number): FlowState {
    const key = `${client}:${clientPort}`;
    let f = this.flows.get(key);
    if (!f) {
      f = {
        client,
        clientPort,
        vport,
        firstUs: timeUs,
        lastUs: timeUs,
        sawVipRequest: false,
        backend: undefined,
        forwardMac: undefined,
        request: new Map(),
        forwarded: new Map(),
        reply: new Map(),
        answered: false,
        reset: undefined,
        ripReply: undefined,
        icmp: undefined,
        requestSrcMac: new Map(),
        replyDstMac: new Map(),
        done: false,
      };
      this.flows.set(key, f);
      this.evict();
    }
    f.firstUs = Math.min(f.firstUs, timeUs);
    f.lastUs = Math.max(f.lastUs, timeUs);
    return f;
  }

  private evict(): void {
    while (this.flows.size > this.maxFlows) {
      const victim = this.finished.values().next().value ?? this.flows.keys().next().value;
      if (victim === undefined) return;
      this.flows.delete(victim);
      this.finished.delete(victim);
      this.evictedCount++;
    }
  }

  private finish(f: FlowState): void {
    if (f.done) return;
    f.done = true;
    this.finished.add(`${f.client}:${f.clientPort}`);
  }

  /** `rip`: the address the request was re-addressed to (NAT destination, TUN outer destination). */
  private addRequest(tp: TracePoint, pkt: Packet, client: string, clientPort: number, port: number, rip: string | undefined): void {
    if (client === this.spec.directorRip) return;
    const vport = rip && this.spec.mode === 'nat' ? (this.spec.port ?? port) : port;
    const f = this.flow(client, clientPort, vport, pkt.timeUs);
    const backend = rip ? this.byRip.get(rip)?.name : undefined;
    if (backend) f.backend = backend;
    if (!rip) f.sawVipRequest = true;
    const eth = pkt.eth;
    const isDirector = tp.role === 'director-in' || tp.role === 'director-out';
    let forwarded = false;
    if (isDirector) {
      if (rip) forwarded = true;
      else if (pkt.cooked?.packetType === 4) forwarded = true;
      else if (eth && this.spec.mode === 'dr') {
        const own = this.directorMacs.get(tp.name) ?? new Set<string>();
        this.directorMacs.set(tp.name, own);
        if (own.has(eth.src) && !own.has(eth.dst)) {
          forwarded = true;
          f.forwardMac = eth.dst;
        } else if (this.macToBackend.has(eth.dst)) {
          forwarded = true;
          f.forwardMac = eth.dst;
        } else {
          own.add(eth.dst);
        }
      }
    }
    if (forwarded) sight(f.forwarded, tp.name, pkt.timeUs);
    else sight(f.request, tp.name, pkt.timeUs);
    if (tp.role === 'rs-in' || tp.role === 'rs-tunl0') {
      if (tp.backend) {
        f.backend ??= tp.backend;
        if (this.spec.mode === 'dr' && eth && !this.macToBackend.has(eth.dst)) this.macToBackend.set(eth.dst, tp.backend);
      }
      if (eth && !f.requestSrcMac.has(tp.name)) f.requestSrcMac.set(tp.name, eth.src);
    }
  }

  /** `rip`: set when the answer came from a RIP (NAT behind the director; in DR/TUN a wrong source). */
  private addReply(
    tp: TracePoint,
    pkt: Packet,
    client: string,
    clientPort: number,
    port: number,
    rip: string | undefined,
    flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean } | undefined,
  ): void {
    const f = this.flow(client, clientPort, rip && this.spec.mode === 'nat' ? (this.spec.port ?? port) : port, pkt.timeUs);
    if (rip && this.spec.mode !== 'nat') {
      if (!f.ripReply || pkt.timeUs < f.ripReply.timeUs) f.ripReply = { point: tp.name, timeUs: pkt.timeUs, rip };
      return;
    }
    if (rip) f.backend ??= this.byRip.get(rip)?.name;
    if (flags?.rst) {
      if (!f.answered && (!f.reset || pkt.timeUs < f.reset.timeUs)) f.reset = { point: tp.name, timeUs: pkt.timeUs, from: rip ?? this.spec.vip };
      this.finish(f);
      return;
    }
    f.answered = true;
    sight(f.reply, tp.name, pkt.timeUs);
    if ((tp.role === 'rs-in' || tp.role === 'rs-tunl0') && pkt.eth && !f.replyDstMac.has(tp.name)) f.replyDstMac.set(tp.name, pkt.eth.dst);
    if (!flags || flags.fin) this.finish(f);
  }

  private addIcmp(tp: TracePoint, pkt: Packet): void {
    if (pkt.l4?.kind !== 'icmp' || !pkt.ip) return;
    const { type, code, original } = pkt.l4;
    if (!original || (type !== 3 && type !== 11) || original.srcPort === undefined || original.dstPort === undefined) return;
    const quoted = original.inner ?? original.ip;
    const toVip = quoted.dst === this.spec.vip && this.portMatches(original.dstPort);
    const toRip = this.spec.mode === 'nat' && this.byRip.has(quoted.dst);
    if (!toVip && !toRip) return;
    if (quoted.src === this.spec.directorRip) return;
    const f = this.flow(quoted.src, original.srcPort, toVip ? original.dstPort : (this.spec.port ?? original.dstPort), pkt.timeUs);
    if (!f.icmp || pkt.timeUs < f.icmp.timeUs) {
      f.icmp = { point: tp.name, timeUs: pkt.timeUs, from: pkt.ip.src, type, code, aboutTunnel: original.inner !== undefined };
    }
    if (original.inner) f.backend ??= this.byRip.get(original.ip.dst)?.name;
  }

  private addArp(tp: TracePoint, pkt: Packet): void {
    const arp = pkt.arp!;
    if (arp.op !== 2 || arp.senderIp !== this.spec.vip) return;
    const seen = this.arpAnswers.get(arp.senderMac);
    if (!seen || pkt.timeUs < seen.timeUs) this.arpAnswers.set(arp.senderMac, { point: tp.name, timeUs: pkt.timeUs });
  }

  private addVrrp(src: string, vrid: number, priority: number, timeUs: number): void {
    if (priority === 0) return;
    let windows = this.vrrp.get(vrid);
    if (!windows) {
      windows = new Map();
      this.vrrp.set(vrid, windows);
    }
    const w = Math.floor(timeUs / VRRP_WINDOW_US);
    let sources = windows.get(w);
    if (!sources) {
      sources = new Set();
      windows.set(w, sources);
      if (windows.size > VRRP_MAX_WINDOWS) windows.delete(Math.min(...windows.keys()));
    }
    sources.add(src);
  }

  /**
   * The report of everything added so far (`lvs-trace --json`); `stats` are the
   * sources' counters by point name (a point without stats reports the frames
   * added). A hop's `time` is when the connection was first seen there, in
   * milliseconds since the Unix epoch (microsecond fractions), so the ladder of
   * every point sits on one timeline.
   */
  report(stats: Record<string, PointStats>): TraceReport {
    const silent = new Set<string>();
    for (const p of this.spec.points) {
      if ((this.frames.get(p.name) ?? 0) === 0 && (stats[p.name]?.received ?? 0) === 0) silent.add(p.name);
    }
    const notes: NonNullable<TraceReport['notes']> = [];
    const arpLeak = this.arpAnswers.size > 1;
    if (arpLeak) {
      notes.push({
        cause: `${this.arpAnswers.size} MACs answer ARP for the VIP ${this.spec.vip}: a real server leaks it, so clients may send to it instead of the director`,
        check: 'vip-arp-answers' satisfies VerdictCheck,
        evidence: [...this.arpAnswers].map(([mac, s]) => `${mac} (at ${s.point}, ${new Date(s.timeUs / 1000).toISOString()})`).join(', '),
      });
    }
    for (const [vrid, windows] of [...this.vrrp].sort((a, b) => a[0] - b[0])) {
      const split = [...windows.values()].filter((s) => s.size > 1);
      if (split.length >= VRRP_SPLIT_WINDOWS) {
        const masters = [...new Set(split.flatMap((s) => [...s]))].sort();
        notes.push({
          cause: `two masters for VRRP id ${vrid}: ${masters.join(' and ')} both advertise at the same time (split brain)`,
          check: 'vrrp-split-brain' satisfies VerdictCheck,
          evidence: `adverts from ${masters.join(', ')} overlap in ${split.length} windows of ${VRRP_WINDOW_US / 1_000_000} s`,
        });
      }
    }
    for (const p of this.spec.points) {
      if (silent.has(p.name)) {
        notes.push({ cause: `${p.name} captured nothing at all: the capture there may be wrong (interface, filter, permission), not the network`, check: null, evidence: `0 frames on ${p.host} ${p.iface}` });
      }
    }
    if (this.evictedCount > 0) {
      notes.push({ cause: `${this.evictedCount} connections were dropped from the flow table (limit ${this.maxFlows}): they are not in the report`, check: null, evidence: `maxFlows ${this.maxFlows}` });
    }

    const hasFront = this.spec.points.some((p) => p.role === 'client' || p.role === 'director-in');
    const flows: TraceReport['flows'] = [];
    for (const f of [...this.flows.values()].sort((a, b) => a.firstUs - b.firstUs)) {
      if (f.request.size + f.forwarded.size === 0 && !f.icmp) continue;
      if (!f.sawVipRequest && hasFront && this.spec.mode === 'nat' && !f.icmp) continue;
      const backend = f.backend ?? (f.forwardMac ? this.macToBackend.get(f.forwardMac) : undefined) ?? null;
      const path = this.pathOf(f, backend);
      const verdict = judgeFlow(f, { spec: this.spec, path, backend, silent, arpLeak });
      flows.push({
        client: `${f.client}:${f.clientPort}`,
        vip: `${this.spec.vip}:${f.vport}`,
        backend,
        hops: path.map((p) => {
          const times = [f.request.get(p.name), f.forwarded.get(p.name), f.reply.get(p.name)].filter((s): s is Sighting => s !== undefined);
          const first = times.length > 0 ? Math.min(...times.map((s) => s.firstUs)) : undefined;
          return { point: p.name, seen: first !== undefined, time: first === undefined ? null : first / 1000 };
        }),
        verdict,
      });
    }
    const points = this.spec.points.map((p) => ({
      name: p.name,
      host: p.host,
      iface: p.iface,
      received: stats[p.name]?.received ?? this.frames.get(p.name) ?? 0,
      dropped: stats[p.name]?.dropped ?? null,
    }));
    return notes.length > 0 ? { flows, points, notes } : { flows, points };
  }

  /** The ladder of one flow: every client and director point, and the real-server points of its backend. */
  private pathOf(f: FlowState, backend: string | null): TracePoint[] {
    const saw = (p: TracePoint): boolean => f.request.has(p.name) || f.forwarded.has(p.name) || f.reply.has(p.name);
    const rs = this.spec.points.filter((p) => p.role === 'rs-in' || p.role === 'rs-tunl0');
    let chosen: TracePoint[];
    if (backend) chosen = rs.filter((p) => p.backend === backend || (p.backend === undefined && saw(p)));
    else if (rs.some(saw)) chosen = rs.filter(saw);
    else chosen = f.answered ? [] : rs;
    // Of several clients or directors (a VRRP pair), the ladder shows the ones this connection went through.
    const front = (['client', 'director-in', 'director-out'] as const).flatMap((role) => {
      const group = this.spec.points.filter((p) => p.role === role);
      return group.some(saw) ? group.filter(saw) : group;
    });
    return [...front, ...chosen].sort((a, b) => roleOrder(a.role) - roleOrder(b.role));
  }
}

/**
 * A BPF filter (tcpdump syntax) for one point: the VIP's traffic (which
 * includes ARP for it), IPIP to the backends (TUN), every ICMP (the errors
 * that explain a stop come from addresses we cannot list), VRRP, and the
 * NAT'ed or wrongly-sourced packets to and from the RIPs. Real servers'
 * points only list their own RIP.
 */
export function captureFilter(spec: TraceSpec, point: TracePoint): string {
  const backends = (point.role === 'rs-in' || point.role === 'rs-tunl0') && point.backend ? spec.backends.filter((b) => b.name === point.backend) : spec.backends;
  const parts = [`host ${spec.vip}`, 'icmp', 'ip proto 112'];
  if (spec.mode === 'tun' && backends.length > 0) {
    parts.push(`(ip proto 4 and (${backends.map((b) => `host ${b.rip}`).join(' or ')}))`);
  }
  for (const b of backends) {
    const port = b.port ?? spec.port;
    parts.push(port === undefined ? `(${spec.proto} and host ${b.rip})` : `(${spec.proto} port ${port} and host ${b.rip})`);
  }
  return parts.join(' or ');
}
