/**
 * What a bare machine is, when the doctor is given no design: the reading
 * (I/O, every tool tolerated when missing) apart from the judgement (pure),
 * so the judgement is table-tested on text the tools print elsewhere.
 *
 * - director: /proc/net/ip_vs lists a service, or keepalived.conf declares a
 *   virtual_server (a stopped keepalived still makes this machine a director);
 * - real server: a /32 that is not one of its own interface addresses sits on
 *   lo (DR) or tunl0 (TUN) — the VIP a DR/TUN real server must hold without
 *   announcing it (LVS-HOWTO, "the ARP problem");
 * - container host: LXD (`lxc list --format json`), LXC (`lxc-ls -1`) or
 *   OpenVZ (`vzlist -j`) lists containers.
 */
import type { Mode, PlatformType } from '../core/model.js';
import type { Host } from '../host/types.js';
import type { Role } from './check.js';

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';

/** The raw text each source gave; undefined when the file or the tool is missing. */
export interface MachineObservation {
  ipvs?: string;
  keepalivedConf?: string;
  /** `ip -j addr show` */
  addrJson?: string;
  /** `lxc list --format json` (the LXD client) */
  lxdJson?: string;
  /** `lxc-ls -1` */
  lxcLs?: string;
  /** `vzlist -j` */
  vzlistJson?: string;
  /** `systemd-detect-virt -c` */
  detectVirt?: string;
  /** /proc/1/environ, NUL-separated */
  initEnviron?: string;
  procVz: boolean;
  /** /proc/vz/version exists only on an OpenVZ host node, not inside a container. */
  procVzVersion: boolean;
  /** /dev/lxd exists inside LXD containers (the guest API socket). */
  devLxd: boolean;
}

export interface DetectedRole {
  role: Role;
  modes: Mode[];
  /** Why: what was read, shown to the user. */
  why: string;
}

export interface MachineRoles {
  roles: DetectedRole[];
  platform: PlatformType;
  platformWhy: string;
}

/** Services and forwarding methods in /proc/net/ip_vs (hex addresses; ip_vs_ctl.c's proc format). */
export function parseProcIpvs(text: string): { services: number; modes: Mode[] } {
  let services = 0;
  const modes = new Set<Mode>();
  for (const line of text.split('\n')) {
    if (/^(TCP|UDP|SCTP|FWM)\s+\S/.test(line)) services++;
    const m = /^\s*->\s+\S+\s+(Masq|Route|Tunnel)\b/.exec(line);
    if (m) modes.add(m[1] === 'Masq' ? 'nat' : m[1] === 'Route' ? 'dr' : 'tun');
  }
  return { services, modes: [...modes].sort() };
}

/** keepalived.conf(5): comments start with # or !; a `virtual_server` block makes an IPVS service. */
export function keepalivedDeclaresServices(text: string): { services: boolean; modes: Mode[] } {
  const lines = text.split('\n').map((l) => l.replace(/[#!].*$/, ''));
  const services = lines.some((l) => /^\s*virtual_server(_group)?\s+\S/.test(l));
  const modes = new Set<Mode>();
  for (const l of lines) {
    const m = /^\s*lb_kind\s+(NAT|DR|TUN)\b/i.exec(l);
    if (m) modes.add(m[1]!.toLowerCase() as Mode);
  }
  return { services, modes: [...modes].sort() };
}

interface AddrInfo {
  ifname: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

/** VIPs held the real-server way: /32 on lo or tunl0, not loopback, not also an address of another interface. */
export function realServerVips(addrJson: string): Array<{ vip: string; iface: 'lo' | 'tunl0' }> {
  let links: AddrInfo[];
  try {
    links = JSON.parse(addrJson) as AddrInfo[];
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const elsewhere = new Set<string>();
  for (const l of links) {
    if (l.ifname === 'lo' || l.ifname === 'tunl0') continue;
    for (const a of l.addr_info ?? []) if (a.family === 'inet' && a.local) elsewhere.add(a.local);
  }
  const out: Array<{ vip: string; iface: 'lo' | 'tunl0' }> = [];
  for (const l of links) {
    if (l.ifname !== 'lo' && l.ifname !== 'tunl0') continue;
    for (const a of l.addr_info ?? []) {
      if (a.family !== 'inet' || !a.local || a.prefixlen !== 32 || a.local.startsWith('127.') || elsewhere.has(a.local)) continue;
      out.push({ vip: a.local, iface: l.ifname });
    }
  }
  return out;
}

/** Container names from each manager's listing; unreadable output counts as none. */
export function containersFrom(obs: Pick<MachineObservation, 'lxdJson' | 'lxcLs' | 'vzlistJson'>): { lxd: string[]; lxc: string[]; openvz: string[] } {
  const names = (json: string | undefined, key: string): string[] => {
    if (!json) return [];
    try {
      const v = JSON.parse(json) as unknown;
      return Array.isArray(v) ? v.map((c) => String((c as Record<string, unknown>)[key] ?? '')).filter((s) => s !== '') : [];
    } catch {
      return [];
    }
  };
  return {
    lxd: names(obs.lxdJson, 'name'),
    lxc: (obs.lxcLs ?? '').split(/\s+/).filter((s) => s !== ''),
    openvz: names(obs.vzlistJson, 'ctid'),
  };
}

/**
 * systemd-detect-virt(1) prints "lxc" for LXC and LXD alike and "openvz"
 * inside an OpenVZ container; without systemd, /proc/1/environ's
 * `container=` and /proc/vz (without /proc/vz/version) say the same.
 */
export function platformFrom(obs: Pick<MachineObservation, 'detectVirt' | 'initEnviron' | 'procVz' | 'procVzVersion' | 'devLxd' | 'addrJson'>): { platform: PlatformType; why: string } {
  const virt = obs.detectVirt?.trim();
  const env = /(?:^|\0)container=([^\0]*)/.exec(obs.initEnviron ?? '')?.[1];
  const venet = /"ifname"\s*:\s*"venet0"/.test(obs.addrJson ?? '');
  if (virt === 'openvz' || (obs.procVz && !obs.procVzVersion)) {
    return { platform: venet ? 'openvz-venet' : 'openvz-veth', why: `${virt === 'openvz' ? 'systemd-detect-virt -c: openvz' : '/proc/vz without /proc/vz/version'}; ${venet ? 'venet0 present' : 'no venet0'}` };
  }
  const lxcLike = virt === 'lxc' || virt === 'lxc-libvirt' || env === 'lxc';
  if (lxcLike) return { platform: obs.devLxd ? 'lxd' : 'lxc', why: `${virt ? `systemd-detect-virt -c: ${virt}` : 'container=lxc in /proc/1/environ'}${obs.devLxd ? '; /dev/lxd present' : ''}` };
  if (virt && virt !== 'none') return { platform: 'host', why: `systemd-detect-virt -c: ${virt} (not a platform the toolkit models; checked as a host)` };
  return { platform: 'host', why: virt === 'none' ? 'systemd-detect-virt -c: none' : 'no container markers' };
}

/** The judgement: every role the machine shows, or none. */
export function classifyMachine(obs: MachineObservation): MachineRoles {
  const roles: DetectedRole[] = [];
  const ipvs = obs.ipvs !== undefined ? parseProcIpvs(obs.ipvs) : undefined;
  const kconf = obs.keepalivedConf !== undefined ? keepalivedDeclaresServices(obs.keepalivedConf) : undefined;
  if ((ipvs && ipvs.services > 0) || kconf?.services) {
    const modes = [...new Set([...(ipvs?.modes ?? []), ...(kconf?.modes ?? [])])].sort();
    const why = ipvs && ipvs.services > 0 ? `/proc/net/ip_vs lists ${ipvs.services} service(s)` : `${KEEPALIVED_CONF} declares virtual_server`;
    roles.push({ role: 'director', modes, why });
  }
  const vips = obs.addrJson ? realServerVips(obs.addrJson) : [];
  if (vips.length > 0) {
    const modes = [...new Set(vips.map((v): Mode => (v.iface === 'lo' ? 'dr' : 'tun')))].sort();
    roles.push({ role: 'real-server', modes, why: `VIP ${vips.map((v) => `${v.vip}/32 on ${v.iface}`).join(', ')}` });
  }
  const c = containersFrom(obs);
  const found = [...c.lxd.map((n) => `lxd:${n}`), ...c.lxc.map((n) => `lxc:${n}`), ...c.openvz.map((n) => `vz:${n}`)];
  if (found.length > 0) roles.push({ role: 'container-host', modes: [], why: `containers: ${found.join(', ')}` });
  const p = platformFrom(obs);
  return { roles, platform: p.platform, platformWhy: p.why };
}

/** The reading: each source in parallel; a missing tool or file is simply absent. */
export async function observeMachine(host: Host): Promise<MachineObservation> {
  const out = async (argv: string[]): Promise<string | undefined> => {
    const r = await host.run(argv, { timeoutMs: 10_000 }).catch(() => undefined);
    return r && r.exitCode === 0 ? r.stdout : undefined;
  };
  const virt = async (): Promise<string | undefined> => {
    // systemd-detect-virt exits 1 when it prints "none".
    const r = await host.run(['systemd-detect-virt', '-c'], { timeoutMs: 10_000 }).catch(() => undefined);
    return r && r.exitCode !== 127 && r.stdout.trim() ? r.stdout : undefined;
  };
  const exists = async (path: string): Promise<boolean> => (await host.run(['test', '-e', path]).catch(() => undefined))?.exitCode === 0;
  const read = (path: string) => host.readFile(path).catch(() => undefined);
  const [ipvs, keepalivedConf, addrJson, lxdJson, lxcLs, vzlistJson, detectVirt, initEnviron, procVz, procVzVersion, devLxd] = await Promise.all([
    read('/proc/net/ip_vs'),
    read(KEEPALIVED_CONF),
    out(['ip', '-j', 'addr', 'show']),
    out(['lxc', 'list', '--format', 'json']),
    out(['lxc-ls', '-1']),
    out(['vzlist', '-j']),
    virt(),
    read('/proc/1/environ'),
    exists('/proc/vz'),
    exists('/proc/vz/version'),
    exists('/dev/lxd'),
  ]);
  const defined = <K extends string>(k: K, v: string | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, string>));
  return {
    ...defined('ipvs', ipvs),
    ...defined('keepalivedConf', keepalivedConf),
    ...defined('addrJson', addrJson),
    ...defined('lxdJson', lxdJson),
    ...defined('lxcLs', lxcLs),
    ...defined('vzlistJson', vzlistJson),
    ...defined('detectVirt', detectVirt),
    ...defined('initEnviron', initEnviron),
    procVz,
    procVzVersion,
    devLxd,
  };
}

export async function detectMachine(host: Host): Promise<MachineRoles> {
  return classifyMachine(await observeMachine(host));
}
