/**
 * Where the doctor looks: the list of (node, role, host, platform, modes) to
 * check, from the lab, from a design file, from named machines, or from this
 * machine alone. Hosts come from a factory (`hostFor(uri)`) the command
 * passes in, so this file never decides how to reach a machine.
 */
import type { Installation, Mode, PlatformType } from '../core/model.js';
import { isL4 } from '../core/model.js';
import { addressOf } from '../core/net.js';
import type { Host } from '../host/types.js';
import type { LabDesign } from '../lab/topology.js';
import type { Role } from './check.js';
import type { MachineRoles } from './roles.js';
import type { Target } from './runner.js';

/** `ssh://user@host[:port]`, `netns:NAME`, `lxd:NAME`, `lxc:NAME`, `vz:CTID`, `local` -> a Host. */
export type HostFactory = (uri: string) => Host;

/** The modes of the services a node takes part in, as the design says. */
export function modesFor(model: Installation, node: string, role: Role): Mode[] {
  const modes = new Set<Mode>();
  for (const s of model.services) {
    const involved =
      role === 'client' ||
      ((role === 'director' || role === 'balancer') && model.directors.some((d) => d.name === node)) ||
      (role === 'real-server' && s.realServers.some((r) => r.name === node)) ||
      (role === 'container-host' && (s.realServers.some((r) => r.platform.host === node) || s.hostPortMap?.host === node));
    if (involved && (role !== 'director' || isL4(s.mode)) && (role !== 'balancer' || !isL4(s.mode))) modes.add(s.mode);
  }
  return [...modes].sort();
}

/** A node's platform in the design: directors and real servers say theirs; everything else is a host. */
export function platformFor(model: Installation, node: string): PlatformType {
  const d = model.directors.find((x) => x.name === node);
  if (d) return d.platform.type;
  for (const s of model.services) {
    const r = s.realServers.find((x) => x.name === node);
    if (r) return r.platform.type;
  }
  return 'host';
}

/** `--lab`: every node of the running lab, with its role and the model as the lab runs it. */
export function labTargets(design: LabDesign, nodeHost: (name: string) => Host): Target[] {
  return design.nodes.map((n) => ({
    node: n.name,
    role: n.role,
    host: nodeHost(n.name),
    platform: platformFor(design.model, n.name),
    modes: modesFor(design.model, n.name, n.role),
    model: design.model,
  }));
}

export interface ConfigTargetOptions {
  /** This machine's IPv4 addresses: which director of the design it is. */
  localAddresses: readonly string[];
  /** Its host name, when no director of the design holds one of its addresses. */
  hostname: string;
  /** Also check every real server and the peer director over ssh as root. */
  ssh: boolean;
  local: Host;
  hostFor: HostFactory;
}

/**
 * `--config FILE`: this machine is checked as a director of the design (the
 * one holding one of its addresses, else the first); with `--ssh`, every real
 * server and the other director are reached at `ssh://root@ADDRESS`.
 */
export function configTargets(model: Installation, opts: ConfigTargetOptions): Target[] {
  const mine = model.directors.find((d) => d.interfaces.some((i) => i.address && opts.localAddresses.includes(addressOf(i.address)))) ?? model.directors[0];
  const l7Only = model.services.every((s) => !isL4(s.mode));
  const directorRole: Role = l7Only ? 'balancer' : 'director';
  const selfName = mine?.name ?? opts.hostname;
  const targets: Target[] = [
    { node: selfName, role: directorRole, host: opts.local, platform: mine?.platform.type ?? 'host', modes: modesFor(model, selfName, directorRole), model },
  ];
  if (!opts.ssh) return targets;
  for (const d of model.directors) {
    if (d.name === selfName) continue;
    const addr = d.interfaces.find((i) => i.address)?.address;
    if (!addr) continue;
    targets.push({ node: d.name, role: directorRole, host: opts.hostFor(`ssh://root@${addressOf(addr)}`), platform: d.platform.type, modes: modesFor(model, d.name, directorRole), model });
  }
  const seen = new Set<string>();
  for (const s of model.services) {
    for (const r of s.realServers) {
      if (seen.has(r.name)) continue;
      seen.add(r.name);
      targets.push({ node: r.name, role: 'real-server', host: opts.hostFor(`ssh://root@${r.address}`), platform: r.platform.type, modes: modesFor(model, r.name, 'real-server'), model });
    }
  }
  return targets;
}

/** What a target URI says about the machine behind it: a node name and a platform. */
export function describeUri(uri: string): { node: string; platform: PlatformType } {
  const m = /^([a-z]+):(?:\/\/)?(.*)$/.exec(uri);
  if (!m) return { node: uri, platform: 'host' };
  const [, scheme, rest] = m as unknown as [string, string, string];
  const node = scheme === 'ssh' ? rest.replace(/^[^@]*@/, '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : rest;
  switch (scheme) {
    case 'lxd':
      return { node, platform: 'lxd' };
    case 'lxc':
      return { node, platform: 'lxc' };
    case 'vz':
      // venet is OpenVZ's default network for containers (vzctl(8) --ipadd).
      return { node: `ct${node}`, platform: 'openvz-venet' };
    default:
      return { node, platform: 'host' };
  }
}

/** `--director HOST --real HOST … --client HOST`: named machines in named roles. */
export function explicitTargets(
  spec: { director: readonly string[]; real: readonly string[]; client: readonly string[] },
  hostFor: HostFactory,
  model?: Installation,
): Target[] {
  const make = (uri: string, role: Role): Target => {
    const { node, platform } = describeUri(uri);
    const modes = model ? modesFor(model, node, role) : [];
    return { node, role, host: hostFor(uri), platform, modes, ...(model ? { model } : {}) };
  };
  return [...spec.director.map((u) => make(u, 'director')), ...spec.real.map((u) => make(u, 'real-server')), ...spec.client.map((u) => make(u, 'client'))];
}

/**
 * No arguments: this machine in every role it shows. A machine that shows
 * none is checked as a client (the checks that hold anywhere still run).
 */
export function machineTargets(node: string, host: Host, detected: MachineRoles): Target[] {
  const roles = detected.roles.length > 0 ? detected.roles : [{ role: 'client' as const, modes: [] as Mode[], why: 'no LVS role detected' }];
  return roles.map((r) => ({ node, role: r.role, host, platform: detected.platform, modes: r.modes }));
}
