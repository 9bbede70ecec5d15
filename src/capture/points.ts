/**
 * Where to capture and what to follow: a VIP[:PORT] becomes a TraceSpec
 * (mode, backends, points with their roles on the path) and, for each point,
 * the Host it is captured through. Three ways to learn the path:
 *
 *  - this director's IPVS table (`ipvsadm -Sn`) and addresses (`ip -j addr`,
 *    `ip -j route`): the director's ingress and egress interfaces;
 *  - a design (`--config`: answers, keepalived.conf, lvs.cf…): the director
 *    of the design this machine is, and with --ssh each real server;
 *  - a running lab: every node, all captured through the lab's Hosts.
 *
 * The builders are pure; the `observe*` helpers do the I/O through Hosts.
 */
import type { Installation, NormalizedService } from '../core/model.js';
import { addressOf, cidrContains, isIPv4 } from '../core/net.js';
import { parseIpvsadm } from '../core/parse/ipvsadm.js';
import type { Host } from '../host/types.js';
import type { LabDesign } from '../lab/topology.js';
import type { PointRole, TraceBackend, TracePoint, TraceSpec } from './types.js';

/** What `lvs-trace VIP[:PORT]` names. */
export interface TraceTarget {
  vip: string;
  port?: number;
}

/** A problem in what the user gave or the machine showed: the bin makes it a UserError (exit 2). */
export class PointsError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** `10.0.0.100` or `10.0.0.100:80`. */
export function parseVipArg(arg: string): TraceTarget {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(arg);
  if (!m || !isIPv4(m[1]!)) throw new PointsError(`bad VIP ${JSON.stringify(arg)}: expected an IPv4 address, optionally with :PORT (10.0.0.100:80)`);
  if (m[2] === undefined) return { vip: m[1]! };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new PointsError(`bad port in ${JSON.stringify(arg)}: ports are 1..65535`);
  return { vip: m[1]!, port };
}

/** The service of a model that VIP[:PORT] names (the first, when the port is not given). */
export function findService(model: Installation, t: TraceTarget): NormalizedService | undefined {
  return model.services.find((s) => s.vip === t.vip && (t.port === undefined || s.ports.includes(t.port)));
}

/** A point and the Host to capture it through; `host` undefined = a live capture on this machine. */
export interface PlacedPoint {
  point: TracePoint;
  host?: Host;
}

export interface TracePlan {
  spec: TraceSpec;
  placed: PlacedPoint[];
  /** How the path was learned, and anything assumed, for the user. */
  notes: string[];
}

function serviceSpec(s: NormalizedService, t: TraceTarget, backends: TraceBackend[], points: TracePoint[], directorRip?: string): TraceSpec {
  if (s.mode !== 'nat' && s.mode !== 'dr' && s.mode !== 'tun') {
    throw new PointsError(`${s.name} (${s.vip}) is a layer-7 service (${s.mode}): lvs-trace follows IPVS forwarding (NAT, DR, TUN)`, 'a proxy opens new connections: capture on the balancer with tcpdump');
  }
  const port = t.port ?? (s.fwmark === undefined && s.ports.length === 1 ? s.ports[0] : undefined);
  return {
    vip: t.vip,
    ...(port !== undefined ? { port } : {}),
    proto: s.protocol,
    mode: s.mode,
    ...(directorRip ? { directorRip } : {}),
    backends,
    points,
  };
}

function backendsOf(s: NormalizedService, macs: ReadonlyMap<string, string> = new Map()): TraceBackend[] {
  return s.realServers.map((r) => ({ name: r.name, rip: r.address, ...(r.port ? { port: r.port } : {}), ...(macs.has(r.name) ? { mac: macs.get(r.name)! } : {}) }));
}

/** The real servers' points: eth0 (the outer packet for TUN) and, for TUN, tunl0. */
function realServerPoints(s: NormalizedService, hostName: (r: NormalizedService['realServers'][number]) => string): TracePoint[] {
  return s.realServers.flatMap((r) => {
    const host = hostName(r);
    const rsIn: TracePoint = { name: `${r.name}:${r.interface}`, host, iface: r.interface, role: 'rs-in', backend: r.name };
    return s.mode === 'tun' ? [rsIn, { name: `${r.name}:tunl0`, host, iface: 'tunl0', role: 'rs-tunl0', backend: r.name }] : [rsIn];
  });
}

/**
 * The director's interfaces on the path. Ingress: the interface whose subnet
 * holds the VIP (else the first). Egress: the one whose subnet holds the
 * first real server. A one-arm director has one interface for both: one
 * point, role director-in (types.ts: director-out is the same interface then).
 */
export function directorPoints(
  node: string,
  host: string,
  ifaces: ReadonlyArray<{ name: string; cidrs: readonly string[] }>,
  vip: string,
  rips: readonly string[],
): { points: TracePoint[]; outAddress?: string } {
  const usable = ifaces.filter((i) => i.name !== 'lo');
  const holds = (i: { cidrs: readonly string[] }, ip: string) => i.cidrs.some((c) => c.includes('/') && Number(c.split('/')[1]) < 32 && cidrContains(c, ip));
  const inIf = usable.find((i) => holds(i, vip)) ?? usable.find((i) => i.cidrs.some((c) => addressOf(c) === vip)) ?? usable[0];
  const outIf = rips.map((r) => usable.find((i) => holds(i, r))).find((i) => i !== undefined) ?? inIf;
  if (!inIf) return { points: [] };
  const outCidr = outIf?.cidrs.find((c) => rips.some((r) => c.includes('/') && cidrContains(c, r)));
  const points: TracePoint[] = [{ name: `${node}:${inIf.name}`, host, iface: inIf.name, role: 'director-in' }];
  if (outIf && outIf.name !== inIf.name) points.push({ name: `${node}:${outIf.name}`, host, iface: outIf.name, role: 'director-out' });
  return { points, ...(outCidr ? { outAddress: addressOf(outCidr) } : {}) };
}

/** `ip -j addr show` → interfaces with their IPv4 addresses (with prefixes). */
export function interfacesFromIpJson(addrJson: string): Array<{ name: string; cidrs: string[]; mac?: string }> {
  try {
    const links = JSON.parse(addrJson) as Array<{ ifname?: string; address?: string; addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }> }>;
    return links
      .filter((l) => typeof l.ifname === 'string')
      .map((l) => ({
        name: l.ifname!.replace(/@.*$/, ''),
        cidrs: (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => `${a.local}/${a.prefixlen ?? 32}`),
        ...(l.address ? { mac: l.address } : {}),
      }));
  } catch {
    return [];
  }
}

/**
 * On a director, from its own IPVS table: the service of VIP[:PORT], its real
 * servers, and the director's ingress/egress interfaces from `ip -j addr`.
 * Real servers get points only when `rsHost` is given (--ssh).
 */
export function planFromIpvs(
  t: TraceTarget,
  observed: { ipvsSave: string; addrJson: string; hostname: string },
  rsHost?: (rip: string) => { host: Host; uri: string },
): TracePlan {
  const r = parseIpvsadm(observed.ipvsSave, { file: 'ipvsadm -Sn' });
  if (!r.ok) throw new PointsError(`this machine has no IPVS service${observed.ipvsSave.trim() ? ' we can read' : ''} (ipvsadm -Sn)`, 'run lvs-trace on the director, or give the design with --config FILE, or trace the lab with --lab');
  const s = findService(r.model, t);
  if (!s) {
    const known = r.model.services.map((x) => `${x.vip}:${x.ports.join(',')}`).join(', ');
    throw new PointsError(`no IPVS service for ${t.vip}${t.port ? `:${t.port}` : ''} on this machine (ipvsadm -Sn has ${known || 'none'})`, 'name one of those, or trace a design with --config FILE');
  }
  const ifaces = interfacesFromIpJson(observed.addrJson);
  const dir = directorPoints(observed.hostname, 'local', ifaces, t.vip, s.realServers.map((x) => x.address));
  const placed: PlacedPoint[] = dir.points.map((point) => ({ point }));
  const notes = [`path from this director's IPVS table: ${s.mode.toUpperCase()} ${s.vip} → ${s.realServers.map((x) => x.address).join(', ')}`];
  if (rsHost) placed.push(...realServerPlaced(s, (rip) => rsHost(rip)));
  else notes.push('real servers are not captured (add --ssh, or --at HOST:IFACE for each)');
  return { spec: serviceSpec(s, t, backendsOf(s), placed.map((p) => p.point), s.mode === 'nat' ? dir.outAddress : undefined), placed, notes };
}

function realServerPlaced(s: NormalizedService, reach: (rip: string) => { host: Host; uri: string }): PlacedPoint[] {
  const hosts = new Map(s.realServers.map((r) => [r.name, reach(r.address)] as const));
  return realServerPoints(s, (r) => hosts.get(r.name)!.uri).map((point) => ({ point, host: hosts.get(point.backend!)!.host }));
}

/**
 * `--config FILE`: this machine is the design's director holding one of its
 * addresses (else the first); with `reach` (--ssh) every real server is
 * captured at ssh://root@RIP.
 */
export function planFromDesign(
  model: Installation,
  t: TraceTarget,
  opts: { localAddresses: readonly string[]; hostname: string; reach?: (rip: string) => { host: Host; uri: string } },
): TracePlan {
  const s = findService(model, t);
  if (!s) {
    const known = model.services.map((x) => `${x.vip}:${x.ports.join(',')}`).join(', ');
    throw new PointsError(`the design has no service ${t.vip}${t.port ? `:${t.port}` : ''} (it has ${known})`);
  }
  const mine = model.directors.find((d) => d.interfaces.some((i) => i.address && opts.localAddresses.includes(addressOf(i.address)))) ?? model.directors[0];
  const notes: string[] = [];
  const placed: PlacedPoint[] = [];
  let out: string | undefined;
  if (mine) {
    const dir = directorPoints(
      mine.name,
      'local',
      mine.interfaces.map((i) => ({ name: i.name, cidrs: i.address ? [i.address] : [] })),
      t.vip,
      s.realServers.map((r) => r.address),
    );
    out = dir.outAddress;
    placed.push(...dir.points.map((point) => ({ point })));
    notes.push(`this machine is captured as ${mine.name}`);
  } else notes.push('the design names no director: only the points given with --at are captured');
  if (opts.reach) placed.push(...realServerPlaced(s, opts.reach));
  else notes.push('real servers are not captured (add --ssh, or --at HOST:IFACE for each)');
  const nat = s.mode === 'nat' ? (model.natRouter ? addressOf(model.natRouter.address) : (s.realServers[0]?.gateway ?? out)) : undefined;
  return { spec: serviceSpec(s, t, backendsOf(s), placed.map((p) => p.point), nat), placed, notes };
}

/** What a running lab shows that the design does not: who holds the VIP now, and the real servers' MACs. */
export interface LabObservation {
  /** Directors holding the VIP (VRRP master); empty when none does. */
  vipHolders: string[];
  /** Real server name → MAC of its eth0 (DR: the director rewrites the destination MAC to it). */
  macs: Map<string, string>;
}

/** Ask the lab's nodes (through their Hosts) what planFromLab needs. */
export async function observeLab(design: LabDesign, t: TraceTarget, nodeHost: (name: string) => Host): Promise<LabObservation> {
  const directors = design.nodes.filter((n) => n.role === 'director');
  const rsNames = design.nodes.filter((n) => n.role === 'real-server').map((n) => n.name);
  const addr = async (n: string) => interfacesFromIpJson((await nodeHost(n).run(['ip', '-j', 'addr', 'show'], { timeoutMs: 30_000 })).stdout);
  const [dirs, rss] = await Promise.all([Promise.all(directors.map(async (d) => ({ name: d.name, ifaces: await addr(d.name) }))), Promise.all(rsNames.map(async (n) => ({ name: n, ifaces: await addr(n) })))]);
  const vipHolders = dirs.filter((d) => d.ifaces.some((i) => i.cidrs.some((c) => addressOf(c) === t.vip))).map((d) => d.name);
  const macs = new Map<string, string>();
  for (const r of rss) {
    const mac = r.ifaces.find((i) => i.name === 'eth0')?.mac;
    if (mac) macs.set(r.name, mac);
  }
  return { vipHolders, macs };
}

/**
 * `--lab`: points on every node on the path, named NODE:IFACE, each captured
 * through the node's Host: the client's eth0, the director holding the VIP
 * (every director when none does yet), each real server's eth0 and, for TUN,
 * its tunl0. Backend names are node names.
 */
export function planFromLab(design: LabDesign, t: TraceTarget, observed: LabObservation, nodeHost: (name: string) => Host): TracePlan {
  const s = findService(design.model, t);
  if (!s) {
    const known = design.model.services.map((x) => `${x.vip}:${x.ports.join(',')}`).join(', ');
    throw new PointsError(`the lab has no service ${t.vip}${t.port ? `:${t.port}` : ''} (it runs ${known})`);
  }
  const notes: string[] = [];
  const placed: PlacedPoint[] = [];
  const host = (n: string) => `lab:${n}`;
  const client = design.nodes.find((n) => n.role === 'client');
  if (client) placed.push({ point: { name: `${client.name}:eth0`, host: host(client.name), iface: 'eth0', role: 'client' }, host: nodeHost(client.name) });
  const directors = design.nodes.filter((n) => n.role === 'director');
  const holders = directors.filter((d) => observed.vipHolders.includes(d.name));
  if (directors.length > 1) notes.push(holders.length === 1 ? `${holders[0]!.name} holds the VIP (VRRP master): captured there` : `${holders.length === 0 ? 'no director' : 'several directors'} hold the VIP: all are captured`);
  let out: string | undefined;
  for (const d of holders.length === 1 ? holders : directors) {
    const dir = directorPoints(
      d.name,
      host(d.name),
      d.interfaces.map((i) => ({ name: i.name, cidrs: [i.address] })),
      t.vip,
      s.realServers.map((r) => r.address),
    );
    out ??= dir.outAddress;
    placed.push(...dir.points.map((point) => ({ point, host: nodeHost(d.name) })));
  }
  placed.push(...realServerPoints(s, (r) => host(r.name)).map((point) => ({ point, host: nodeHost(point.backend!) })));
  const nat = s.mode === 'nat' ? (design.model.natRouter ? addressOf(design.model.natRouter.address) : out) : undefined;
  return { spec: serviceSpec(s, t, backendsOf(s, observed.macs), placed.map((p) => p.point), nat), placed, notes };
}

const ROLES: readonly PointRole[] = ['client', 'director-in', 'director-out', 'rs-in', 'rs-tunl0'];

/**
 * `--at HOST:IFACE[=ROLE]`: the host URI (which may itself hold colons), the
 * interface after the last colon, and the point's role when the user says it.
 */
export function parseAt(spec: string): { uri: string; iface: string; role?: PointRole } {
  const eq = spec.lastIndexOf('=');
  const role = eq > 0 && (ROLES as readonly string[]).includes(spec.slice(eq + 1)) ? (spec.slice(eq + 1) as PointRole) : undefined;
  const at = role ? spec.slice(0, eq) : spec;
  const i = at.lastIndexOf(':');
  const uri = at.slice(0, i);
  const iface = at.slice(i + 1);
  if (i <= 0 || (!/^[A-Za-z0-9_.@-]{1,15}$/.test(iface) && iface !== 'any')) {
    throw new PointsError(`bad --at ${JSON.stringify(spec)}: expected HOST:IFACE[=ROLE], e.g. local:eth1, ssh://root@10.0.1.11:eth0, lab:rs1:tunl0, netns:cl:eth0=client (ROLE: ${ROLES.join(', ')})`);
  }
  return { uri, iface, ...(role ? { role } : {}) };
}

/** The node a host URI stands for: lab:NODE, ssh://user@HOST:port, netns:NAME, lxd:NAME…; local → `localName`. */
export function nodeOfUri(uri: string, localName: string): string {
  if (uri === 'local') return localName;
  if (uri.startsWith('ssh://')) return uri.slice(6).replace(/^[^@]*@/, '').replace(/:\d+\/?$/, '').replace(/^\[(.*)\]$/, '$1');
  const colon = uri.indexOf(':');
  return colon < 0 ? uri : uri.slice(colon + 1);
}

/**
 * Apply `--at` points to a plan: a point of the same NODE:IFACE is captured
 * through the given Host instead; otherwise a new point is added with the
 * role given (`=client`), else the role read from the node: a backend (by name or RIP) → rs-in (rs-tunl0 on
 * tunl0), a director point's node → director-out on a new interface,
 * "client" → client, anything else → director-in.
 */
export function applyAt(plan: TracePlan, at: ReadonlyArray<{ uri: string; iface: string; host: Host; role?: PointRole }>, localName: string): TracePlan {
  const placed = [...plan.placed];
  for (const a of at) {
    const node = nodeOfUri(a.uri, localName);
    const backend = plan.spec.backends.find((b) => b.name === node || b.rip === node);
    const name = `${backend?.name ?? node}:${a.iface}`;
    const hostName = a.uri === 'local' ? 'local' : a.uri;
    const i = placed.findIndex((p) => p.point.name === name);
    if (i >= 0) {
      placed[i] = { point: { ...placed[i]!.point, host: hostName }, ...(a.uri === 'local' ? {} : { host: a.host }) };
      continue;
    }
    let role: PointRole;
    if (a.role) role = a.role;
    else if (backend) role = a.iface === 'tunl0' ? 'rs-tunl0' : 'rs-in';
    else if (node === 'client') role = 'client';
    else if (placed.some((p) => p.point.name.startsWith(`${node}:`) && p.point.role === 'director-in')) role = 'director-out';
    else role = 'director-in';
    const point: TracePoint = { name, host: hostName, iface: a.iface, role, ...(backend ? { backend: backend.name } : {}) };
    placed.push({ point, ...(a.uri === 'local' ? {} : { host: a.host }) });
  }
  return { ...plan, placed, spec: { ...plan.spec, points: placed.map((p) => p.point) } };
}
