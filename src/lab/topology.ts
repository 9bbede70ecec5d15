/**
 * Model -> lab topology (pure): which nodes, which L2 segments (bridges),
 * which addresses and routes, and the model as the lab runs it.
 *
 * The lab is a set of namespaces, so a design is adapted, and every
 * adaptation is said in `notes`:
 *  - every node is a host (containers become namespaces; their container
 *    hosts exist only where they do something on the path: a port map);
 *  - Piranha and ldirectord designs run under keepalived (pulse and
 *    ldirectord are not in the lab image), with the same IPVS services;
 *  - director addresses an imported config did not state are chosen;
 *  - one segment per director subnet; real servers join the segment whose
 *    subnet holds them; a `client` node joins the VIP's segment.
 */
import type { Installation, NormalizedService } from '../core/model.js';
import { isL4 } from '../core/model.js';
import { addressOf, cidrContains, intToIpv4, ipv4ToInt, networkOf, prefixOf } from '../core/net.js';
import type { Problem } from '../core/problems.js';
import { effectiveVrrp } from '../core/render/keepalived.js';

export type LabRole = 'client' | 'director' | 'balancer' | 'real-server' | 'container-host';

export interface LabInterface {
  name: string;
  segment: string;
  /** The veth end in the lab root (set by labUp): taking it down is a cut cable. */
  peer?: string;
  /** With prefix: "10.0.0.11/24". */
  address: string;
}

export interface LabNodeSpec {
  name: string;
  role: LabRole;
  interfaces: LabInterface[];
  /** Default gateway, when the node needs one the setup does not give it. */
  gateway?: string;
  /** TCP ports a real server answers HTTP on, with its name. */
  httpPorts: number[];
}

export interface LabSegment {
  /** Bridge name in the lab root (<= 15 chars). */
  bridge: string;
  cidr: string;
}

/** Where `lvs-lab traffic` sends requests, and what answers count. */
export interface LabTarget {
  service: string;
  /** "10.0.0.100:80", or the host port for a mapped L7 service. */
  address: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

export interface LabDesign {
  model: Installation;
  nodes: LabNodeSpec[];
  segments: LabSegment[];
  targets: LabTarget[];
  notes: string[];
}

export type LabDesignResult = { ok: true; design: LabDesign } | { ok: false; problems: Problem[] };

export const NODE_NAME_RE = /^[a-z][a-z0-9-]{0,14}$/;

export function labDesign(input: Installation): LabDesignResult {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const model: Installation = structuredClone(input);

  for (const d of model.directors) checkName(d.name, 'directors', problems);
  for (const s of model.services) for (const r of s.realServers) checkName(r.name, 'realServers', problems);
  if (model.directors.length === 0) problems.push({ severity: 'error', path: 'directors', message: 'the lab needs a director to run the services on' });
  if (problems.length) return { ok: false, problems };

  // Managers the lab image cannot run become keepalived.
  if (model.manager === 'piranha' || model.manager === 'ldirectord') {
    notes.push(`${model.manager} is not in the lab image: the same IPVS services and checks run under keepalived`);
    model.manager = 'keepalived';
    delete model.piranha;
    // Piranha's pulse heartbeat of a router pair becomes VRRP, with the defaults keepalived.ts uses.
    const vrrp = effectiveVrrp(model);
    if (vrrp) {
      model.vrrp = vrrp;
      model.directors.forEach((d, i) => {
        d.priority ??= i === 0 ? 150 : 100;
      });
    }
  }

  // Every node is a namespace host.
  const containerNodes = [...model.directors.map((d) => d.platform), ...model.services.flatMap((s) => s.realServers.map((r) => r.platform))].filter(
    (p) => p.type !== 'host',
  );
  if (containerNodes.length > 0) notes.push('containers run as plain hosts (network namespaces); their container-host preparation is not exercised');
  for (const d of model.directors) d.platform = { type: 'host' };
  for (const s of model.services) {
    for (const r of s.realServers) {
      r.platform = { type: 'host' };
      if (r.interface !== 'eth0') {
        notes.push(`${r.name}: interface ${r.interface} is eth0 in the lab`);
        r.interface = 'eth0';
      }
    }
  }

  // Container hosts stay only where they forward a port to a balancer.
  const mappedHosts = new Set(model.services.flatMap((s) => (s.hostPortMap ? [s.hostPortMap.host] : [])));
  model.containerHosts = model.containerHosts.filter((h) => mappedHosts.has(h.name)).map((h) => ({ ...h, kind: h.kind }));

  fillDirectorAddresses(model, notes);

  // Segments: one per director subnet.
  const segments: LabSegment[] = [];
  const segmentOf = (cidr: string): LabSegment | undefined => segments.find((g) => cidrContains(g.cidr, addressOf(cidr)));
  for (const d of model.directors) {
    for (const f of d.interfaces) {
      if (!f.address) continue;
      if (!segmentOf(f.address)) segments.push({ bridge: `lvsbr${segments.length}`, cidr: networkOf(f.address) });
    }
  }

  const used = new Set<string>();
  const nodes: LabNodeSpec[] = [];
  const isL7Only = !model.services.some((s) => isL4(s.mode));
  for (const d of model.directors) {
    const interfaces = d.interfaces.map((f) => {
      used.add(addressOf(f.address!));
      return { name: f.name, segment: segmentOf(f.address!)!.bridge, address: f.address! };
    });
    nodes.push({ name: d.name, role: isL7Only ? 'balancer' : 'director', interfaces, httpPorts: [] });
  }
  if (model.natRouter) used.add(addressOf(model.natRouter.address));
  for (const s of model.services) used.add(s.vip);

  const realServers = new Map<string, { address: string; ports: Set<number> }>();
  for (const s of model.services) {
    for (const r of s.realServers) {
      used.add(r.address);
      const e = realServers.get(r.name) ?? { address: r.address, ports: new Set<number>() };
      for (const p of servedPorts(s, r.port)) e.ports.add(p);
      realServers.set(r.name, e);
    }
  }
  for (const [name, r] of realServers) {
    const seg = segments.find((g) => cidrContains(g.cidr, r.address));
    if (!seg) {
      problems.push({
        severity: 'error',
        path: 'services',
        message: `${name} (${r.address}) is on no director subnet (${segments.map((g) => g.cidr).join(', ')}): the lab cannot wire a routed path to it`,
        hint: 'put the real server on a director subnet, or give the director an interface there',
      });
      continue;
    }
    nodes.push({
      name,
      role: 'real-server',
      interfaces: [{ name: 'eth0', segment: seg.bridge, address: `${r.address}/${prefixOf(seg.cidr)}` }],
      httpPorts: [...r.ports].sort((a, b) => a - b),
    });
  }
  if (problems.length) return { ok: false, problems };

  // The client sits on the VIP's segment (or on the outside of a port-mapping host).
  const firstVip = model.services[0]!.vip;
  const vipSeg = segments.find((g) => cidrContains(g.cidr, firstVip)) ?? segmentOf(model.directors[0]!.interfaces[0]!.address!)!;
  const targets: LabTarget[] = [];
  let clientSeg = vipSeg;
  for (const h of model.containerHosts) {
    const outside: LabSegment = { bridge: `lvsbr${segments.length}`, cidr: '192.0.2.0/24' };
    segments.push(outside);
    const inside = free(vipSeg.cidr, used);
    nodes.push({
      name: h.name,
      role: 'container-host',
      interfaces: [
        { name: h.interface, segment: outside.bridge, address: '192.0.2.1/24' },
        { name: 'lxbr0', segment: vipSeg.bridge, address: inside },
      ],
      httpPorts: [],
    });
    notes.push(`${h.name} forwards its port map from 192.0.2.1 (its ${h.interface}) into ${vipSeg.cidr}; the balancer's default route points at it`);
    clientSeg = outside;
    for (const n of nodes) if (n.role === 'balancer' || n.role === 'director' || n.role === 'real-server') n.gateway = addressOf(inside);
  }
  const clientAddr = clientSeg.cidr === '192.0.2.0/24' ? '192.0.2.100/24' : free(clientSeg.cidr, used);
  nodes.unshift({ name: 'client', role: 'client', interfaces: [{ name: 'eth0', segment: clientSeg.bridge, address: clientAddr }], httpPorts: [] });

  for (const s of model.services) {
    if (s.protocol !== 'tcp') {
      notes.push(`${s.name}: UDP services are configured, but lvs-lab traffic sends HTTP over TCP only`);
      continue;
    }
    if (s.hostPortMap) {
      targets.push({ service: s.name, address: `192.0.2.1:${s.hostPortMap.port}`, port: s.hostPortMap.port, protocol: 'tcp' });
      continue;
    }
    const vip = s.vip === '0.0.0.0' ? addressOf(model.directors[0]!.interfaces[0]!.address!) : s.vip;
    for (const p of s.ports) targets.push({ service: s.name, address: `${vip}:${p}`, port: p, protocol: 'tcp' });
  }
  return { ok: true, design: { model, nodes, segments, targets, notes } };
}

/**
 * The ports a real server must answer on for a service: its own port, or for
 * a fwmark service every bundled port when the kernel keeps the client's port
 * (port 0; DR and TUN, which never rewrite; persistent services, see validate.ts).
 */
function servedPorts(s: NormalizedService, rsPort: number): number[] {
  if (s.fwmark === undefined) return [rsPort];
  if (rsPort === 0 || s.mode !== 'nat' || s.persistence) return [...new Set([...s.ports, ...(rsPort ? [rsPort] : [])])];
  return [rsPort];
}

function checkName(name: string, where: string, problems: Problem[]): void {
  if (!NODE_NAME_RE.test(name)) {
    problems.push({
      severity: 'error',
      path: where,
      message: `"${name}" cannot be a lab node name`,
      hint: 'lab node names are 1-15 characters: a lower-case letter, then lower-case letters, digits or "-"',
    });
  }
}

/** Directors of an imported config may lack addresses; the lab picks free ones in the subnet they must be on. */
function fillDirectorAddresses(model: Installation, notes: string[]): void {
  const used = new Set<string>([
    ...model.services.map((s) => s.vip),
    ...model.services.flatMap((s) => s.realServers.map((r) => r.address)),
    ...model.directors.flatMap((d) => d.interfaces.flatMap((f) => (f.address ? [addressOf(f.address)] : []))),
    ...(model.natRouter ? [addressOf(model.natRouter.address)] : []),
  ]);
  const rsAddr = model.services.flatMap((s) => s.realServers)[0]?.address;
  const vip = model.services.find((s) => s.vip !== '0.0.0.0')?.vip ?? rsAddr;
  for (const d of model.directors) {
    d.interfaces.forEach((f, i) => {
      if (f.address) return;
      const inside = model.natRouter && f.name === model.natRouter.interface;
      const anchor = inside ? model.natRouter!.address : i === 0 && vip ? `${vip}/24` : rsAddr ? `${rsAddr}/24` : undefined;
      if (!anchor) return;
      const cidr = networkOf(anchor.includes('/') ? anchor : `${anchor}/24`);
      const picked = free(cidr, used);
      f.address = picked;
      notes.push(`${d.name} ${f.name}: no address in the design, the lab uses ${picked}`);
    });
    if (!d.interfaces.some((f) => f.address)) d.interfaces[0]!.address = free('10.99.0.0/24', used);
  }
}

/** A free host address in `cidr`, counting down from the top (…254, …253), marked used. */
function free(cidr: string, used: Set<string>): string {
  const prefix = prefixOf(cidr);
  const base = ipv4ToInt(addressOf(networkOf(cidr)));
  const size = prefix >= 31 ? 1 : 2 ** (32 - prefix) - 2;
  for (let i = size; i >= 1; i--) {
    const ip = intToIpv4((base + i) >>> 0);
    if (!used.has(ip)) {
      used.add(ip);
      return `${ip}/${prefix}`;
    }
  }
  throw new Error(`no free address in ${cidr}`);
}
