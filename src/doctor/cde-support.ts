/**
 * What the checks of sections C, D and E (real servers, VRRP, containers)
 * share: reading sysctls and `ip -j` output through a Host, finding a node's
 * place in the design, building sysctl fixes, and reading a firewall ruleset
 * for the verdict a given packet would get. Reading is I/O (takes a Host);
 * everything that judges is pure.
 */
import type { Installation, NormalizedRealServer, NormalizedService, NormalizedVrrp } from '../core/model.js';
import { isL4 } from '../core/model.js';
import { addressOf } from '../core/net.js';
import { effectiveVrrp } from '../core/render/keepalived.js';
import { SETUP_SCRIPT_PATH, SYSCTL_PATH, sysctlKey } from '../core/render/real-server.js';
import type { Host, RunResult } from '../host/types.js';
import type { CheckContext, Finding, Fix } from './check.js';
import type { RulesetObservation } from './firewall-verdict.js';

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
export function setupScriptFix(why: string, commands: string[][]): Fix {
  return { why, commands, files: [{ path: SETUP_SCRIPT_PATH, lines: commands.map((c) => c.join(' ')) }] };
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

/**
 * The host's rulesets: `nft list ruleset`, and `iptables-save` only when
 * `iptables -V` says legacy (the nf_tables backend's rules already show in
 * nft's listing). Undefined when neither tool is installed.
 */
export async function readRulesets(host: Host): Promise<RulesetObservation | undefined> {
  const notes: string[] = [];
  const out: RulesetObservation = { notes };
  const nft = await runTool(host, ['nft', 'list', 'ruleset']);
  if (nft && nft.exitCode === 0) out.nft = nft.stdout;
  else if (nft) notes.push(`nft list ruleset: exit ${nft.exitCode}: ${firstLine(nft.stderr)}`);
  const v = await runTool(host, ['iptables', '-V']);
  if (v && /legacy/.test(v.stdout)) {
    const save = await runTool(host, ['iptables-save']);
    if (save && save.exitCode === 0) out.iptablesLegacy = save.stdout;
    else if (save) notes.push(`iptables-save: exit ${save.exitCode}: ${firstLine(save.stderr)}`);
  }
  if (!nft && !v) return undefined;
  return out;
}
