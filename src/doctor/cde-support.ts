/**
 * What the checks of sections C, D and E (real servers, VRRP, containers)
 * share: reading sysctls and `ip -j` output through a Host, finding a node's
 * place in the design, building sysctl fixes, reloading keepalived. Reading
 * is I/O (takes a Host); everything that judges is pure.
 */
import type { Installation, NormalizedRealServer, NormalizedService, NormalizedVrrp } from '../core/model.js';
import { isL4 } from '../core/model.js';
import { addressOf } from '../core/net.js';
import { effectiveVrrp, KEEPALIVED_CONF_PATH } from '../core/render/keepalived.js';
import { reloadFor, type ServiceManager } from '../apply/plan.js';
import { SETUP_SCRIPT_PATH, SYSCTL_PATH, sysctlKey } from '../core/render/real-server.js';
import type { Host, RunResult } from '../host/types.js';
import type { CheckContext, Finding, Fix } from './check.js';

/** Exit code of a command that does not exist (Host.run contract). */
export const NOT_INSTALLED = 127;

export function missingToolSkip(tool: string, what: string): Finding {
  return { status: 'skip', message: `${tool} is not installed here: cannot ${what}`, evidence: [`${tool}: exit 127 (command not found)`] };
}

export function skip(message: string, evidence: string[] = []): Finding {
  return { status: 'skip', message, evidence };
}

/** Runs argv; `undefined` when the tool is not installed. */
export async function runTool(host: Host, argv: readonly string[], timeoutMs = 10_000): Promise<RunResult | undefined> {
  const r = await host.run(argv, { timeoutMs });
  return r.exitCode === NOT_INSTALLED ? undefined : r;
}

/** An integer under /proc/sys ("net/ipv4/conf/all/arp_ignore"), or undefined when absent. */
export async function readSysctl(host: Host, path: string): Promise<number | undefined> {
  const text = await host.readFile(`/proc/sys/${path}`);
  if (text === undefined) return undefined;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isFinite(n) ? n : undefined;
}

export interface IfaceAddrs {
  ifname: string;
  flags: string[];
  operstate?: string;
  /** MAC, from `ip -j link` / `ip -j addr` ("address"). */
  mac?: string;
  addrs: Array<{ local: string; prefixlen: number }>;
}

/** `ip -j -4 addr show` as a list; undefined when `ip` is missing. */
export async function ipAddrs(host: Host): Promise<IfaceAddrs[] | undefined> {
  const r = await runTool(host, ['ip', '-j', '-4', 'addr', 'show']);
  if (!r) return undefined;
  if (r.exitCode !== 0) throw new Error(`ip -j -4 addr show exited ${r.exitCode}: ${r.stderr.trim()}`);
  return parseIpAddrJson(r.stdout);
}

/** Pure: the JSON of `ip -j [-4] addr show` (iproute2). */
export function parseIpAddrJson(text: string): IfaceAddrs[] {
  const raw = JSON.parse(text || '[]') as Array<{
    ifname: string;
    flags?: string[];
    operstate?: string;
    address?: string;
    addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
  }>;
  return raw.map((i) => ({
    ifname: i.ifname,
    flags: i.flags ?? [],
    ...(i.operstate ? { operstate: i.operstate } : {}),
    ...(i.address ? { mac: i.address } : {}),
    addrs: (i.addr_info ?? []).filter((a) => a.local && (a.family === undefined || a.family === 'inet')).map((a) => ({ local: a.local!, prefixlen: a.prefixlen ?? 32 })),
  }));
}

/** `ip -j link show` MACs by interface; undefined when `ip` is missing. */
export async function linkMacs(host: Host): Promise<Record<string, string> | undefined> {
  const r = await runTool(host, ['ip', '-j', 'link', 'show']);
  if (!r) return undefined;
  if (r.exitCode !== 0) throw new Error(`ip -j link show exited ${r.exitCode}: ${r.stderr.trim()}`);
  const out: Record<string, string> = {};
  for (const l of JSON.parse(r.stdout || '[]') as Array<{ ifname: string; address?: string; link_type?: string }>) {
    if (l.address && l.link_type === 'ether') out[l.ifname] = l.address.toLowerCase();
  }
  return out;
}

export interface RouteGet {
  dst: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
}

/** `ip -j route get ADDR`; an `error` string when the kernel has no route. */
export async function routeGet(host: Host, address: string): Promise<RouteGet | { error: string } | undefined> {
  const r = await runTool(host, ['ip', '-j', 'route', 'get', address]);
  if (!r) return undefined;
  if (r.exitCode !== 0) return { error: r.stderr.trim() || `exit ${r.exitCode}` };
  const [first] = JSON.parse(r.stdout || '[]') as RouteGet[];
  if (!first) return { error: 'no route in the answer' };
  return { dst: first.dst, ...(first.dev ? { dev: first.dev } : {}), ...(first.gateway ? { gateway: first.gateway } : {}), ...(first.prefsrc ? { prefsrc: first.prefsrc } : {}) };
}

/** The services `node` is a real server of, with its entry. */
export function realServerMemberships(model: Installation | undefined, node: string): Array<{ service: NormalizedService; rs: NormalizedRealServer }> {
  if (!model) return [];
  const out = [];
  for (const service of model.services) for (const rs of service.realServers) if (rs.name === node) out.push({ service, rs });
  return out;
}

/** The L4 services a director serves (every L4 service: both directors of a pair carry the table). */
export function directorServices(model: Installation | undefined): NormalizedService[] {
  return (model?.services ?? []).filter((s) => isL4(s.mode));
}

/** VRRP as keepalived would run it for this design (see effectiveVrrp), or undefined for a lone director. */
export function designVrrp(model: Installation | undefined): NormalizedVrrp | undefined {
  return model ? effectiveVrrp(model) : undefined;
}

/** The directors' own addresses (no prefix) in the design. */
export function directorAddresses(model: Installation | undefined): string[] {
  return (model?.directors ?? []).flatMap((d) => d.interfaces.flatMap((i) => (i.address ? [addressOf(i.address)] : [])));
}

/** The design's priority of a director: explicit, else 150 for the first of a pair and 100 for the second (keepalived.ts). */
export function directorPriority(model: Installation, name: string): number {
  const i = model.directors.findIndex((d) => d.name === name);
  const d = model.directors[i];
  return d?.priority ?? (i === 0 ? 150 : 100);
}

export interface SysctlWant {
  /** Relative to /proc/sys, slashes: "net/ipv4/conf/all/arp_ignore". */
  path: string;
  value: number;
}

/** `sysctl -w` now and the sysctl.d lines lvs-toolkit's setup writes, for each setting. */
export function sysctlFix(why: string, wants: SysctlWant[]): Fix {
  return {
    why,
    commands: wants.map((w) => ['sysctl', '-w', `${sysctlKey(w.path)}=${w.value}`]),
    files: [{ path: SYSCTL_PATH, lines: wants.map((w) => `${sysctlKey(w.path)} = ${w.value}`) }],
  };
}

/** A runtime command plus the same line in lvs-toolkit's boot-time setup script (addresses and routes have no distro-neutral file). */
export function setupScriptFix(why: string, commands: string[][], persistent: string[][] = commands): Fix {
  return { why, commands, files: [{ path: SETUP_SCRIPT_PATH, lines: persistent.map((c) => c.join(' ')) }] };
}

export function isRealServer(ctx: CheckContext): boolean {
  return ctx.role === 'real-server';
}

export function hasMode(ctx: CheckContext, ...modes: CheckContext['modes']): boolean {
  return ctx.modes.some((m) => modes.includes(m));
}

/** Peers of a role, by name. */
export function peersOf(ctx: CheckContext, role: CheckContext['role']): Array<{ name: string; host: Host }> {
  return [...(ctx.peers ?? [])].filter(([, p]) => p.role === role).map(([name, p]) => ({ name, host: p.host }));
}

/** The first line of a text, trimmed, for short evidence. */
export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** Where a NAT real server's reply to a client goes, and where it should. */
export interface NatRouteObservation {
  /** The client address probed: a peer client's, else a documentation address standing for "any client off this subnet". */
  client: string;
  clientFrom: string;
  route?: RouteGet | { error: string };
}

/** Stands for a client anywhere off the real server's subnet (RFC 5737 TEST-NET-2). */
export const SOME_CLIENT = '198.51.100.1';

export async function detectNatRoute(host: Host, ctx: CheckContext): Promise<NatRouteObservation> {
  let client = SOME_CLIENT;
  let clientFrom = 'a documentation address (RFC 5737) standing for any remote client';
  const peer = peersOf(ctx, 'client')[0];
  if (peer) {
    const ifs = await ipAddrs(peer.host);
    const a = ifs?.flatMap((i) => (i.ifname === 'lo' ? [] : i.addrs))[0];
    if (a) {
      client = a.local;
      clientFrom = `the client ${peer.name}`;
    }
  }
  const route = await routeGet(host, client);
  return { client, clientFrom, ...(route ? { route } : {}) };
}

/** What the VRRP checks need from a keepalived.conf. */
export interface KeepalivedVrrpScan {
  /** global_defs vrrp_version (keepalived's default is 2). */
  globalVersion?: number;
  instances: Array<{
    name: string;
    line: number;
    vrid?: number;
    interface?: string;
    advertInt?: string;
    /** Per-instance `version`. */
    version?: number;
    unicastPeers: string[];
    /** First word of each virtual_ipaddress line ("10.0.0.100/32"). */
    vips: string[];
  }>;
  /** `include` lines: their files are not read, so the scan may be partial. */
  includes: string[];
}

/**
 * Pure: the VRRP parts of keepalived.conf text. A small block scanner (the
 * project's keepalived parser normalizes into the model and would hide what
 * the VRRP checks judge: the literal advert_int, a missing unicast_peer, a
 * repeated virtual_router_id).
 */
export function scanKeepalived(text: string): KeepalivedVrrpScan {
  const out: KeepalivedVrrpScan = { instances: [], includes: [] };
  const stack: string[] = [];
  let inst: KeepalivedVrrpScan['instances'][number] | undefined;
  text.split('\n').forEach((raw, idx) => {
    const line = raw.replace(/[!#].*$/, '').trim();
    if (!line) return;
    const words = line.replace(/[{}]/g, ' $& ').split(/\s+/).filter(Boolean);
    const head = words[0] ?? '';
    const block = stack.join('/');
    if (head === 'include') out.includes.push(words.slice(1).join(' '));
    if (block === 'global_defs' && head === 'vrrp_version') out.globalVersion = Number(words[1]);
    if (inst && block === 'vrrp_instance') {
      if (head === 'virtual_router_id') inst.vrid = Number(words[1]);
      if (head === 'interface') inst.interface = words[1];
      if (head === 'advert_int') inst.advertInt = words[1];
      if (head === 'version') inst.version = Number(words[1]);
    }
    if (inst && block === 'vrrp_instance/unicast_peer' && head !== '}') inst.unicastPeers.push(head);
    if (inst && block === 'vrrp_instance/virtual_ipaddress' && head !== '}') inst.vips.push(head);
    for (const w of words) {
      if (w === '{') {
        const name = stack.length === 0 && head === 'vrrp_instance' ? 'vrrp_instance' : (words[0] === '{' ? '' : words[0]!);
        if (name === 'vrrp_instance' && stack.length === 0) {
          inst = { name: words[1] ?? '?', line: idx + 1, unicastPeers: [], vips: [] };
          out.instances.push(inst);
        }
        stack.push(name);
      } else if (w === '}') {
        stack.pop();
        if (stack.length === 0) inst = undefined;
      }
    }
  });
  return out;
}

/** Containers of the design hosted on `hostName`: real servers and directors whose platform names it. */
export function hostedContainers(model: Installation | undefined, hostName: string): Array<{ name: string; kind: 'director' | 'real-server'; platform: NormalizedRealServer['platform']; services: NormalizedService[] }> {
  if (!model) return [];
  const out = new Map<string, { name: string; kind: 'director' | 'real-server'; platform: NormalizedRealServer['platform']; services: NormalizedService[] }>();
  for (const d of model.directors) if (d.platform.host === hostName) out.set(d.name, { name: d.name, kind: 'director', platform: d.platform, services: directorServices(model) });
  for (const s of model.services) {
    for (const r of s.realServers) {
      if (r.platform.host !== hostName) continue;
      const e = out.get(r.name) ?? { name: r.name, kind: 'real-server' as const, platform: r.platform, services: [] };
      e.services.push(s);
      out.set(r.name, e);
    }
  }
  return [...out.values()];
}

/** `KEY="value"` of an OpenVZ CTID.conf (shell-variable syntax). */
export function vzConfValue(text: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\n]*)"?`, 'm').exec(text);
  return m?.[1];
}

/**
 * How daemons are reloaded on a host: systemd when `systemctl
 * is-system-running` answers a state of a running manager; otherwise (no
 * systemctl, or "offline": a container or the lab's nodes without systemd as
 * PID 1) the daemon is signalled directly through its pid file, the way
 * apply's reloadFor does for the lab.
 */
export async function detectServiceManager(host: Host): Promise<ServiceManager> {
  const r = await host.run(['systemctl', 'is-system-running'], { timeoutMs: 10_000 });
  if (r.exitCode === NOT_INSTALLED) return 'direct';
  return /^(running|degraded|starting|initializing|maintenance|stopping)$/.test(r.stdout.trim()) ? 'systemd' : 'direct';
}

/** The argv that makes keepalived re-read keepalived.conf (or start it) with this service manager: apply's own reload step. */
export function keepalivedReload(sm: ServiceManager): string[] {
  return reloadFor(KEEPALIVED_CONF_PATH, 'keepalived', sm)!.argv;
}
