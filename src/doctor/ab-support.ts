/**
 * What the checks of sections A (kernel, modules) and B (director network)
 * share: reading sysctls and the IPVS table through a Host, the design's view
 * of one director, and sysctl/module fixes in the same files the renderers
 * write (so `--fix` and a later apply agree). Reading takes a Host; parsing
 * and judging are pure.
 */
import type { Installation, Mode, NormalizedService } from '../core/model.js';
import { isL4 } from '../core/model.js';
import { addressOf, intToIpv4 } from '../core/net.js';
import { MODULES_PATH, SYSCTL_PATH, sysctlKey } from '../core/render/real-server.js';
import type { Host, RunResult } from '../host/types.js';
import type { CheckContext, Finding, Fix } from './check.js';

/** Exit code of a command that does not exist (Host.run contract). */
export const NOT_INSTALLED = 127;

/** A sysctl as read: its /proc/sys path and value (undefined when the file does not exist). */
export interface SysctlRead {
  path: string;
  value: number | undefined;
}

/** An integer under /proc/sys ("net/ipv4/ip_forward"); undefined when absent. */
export async function readSysctl(host: Host, path: string): Promise<SysctlRead> {
  const text = await host.readFile(`/proc/sys/${path}`);
  const n = text === undefined ? Number.NaN : Number.parseInt(text.trim(), 10);
  return { path, value: Number.isFinite(n) ? n : undefined };
}

/**
 * Map with at most `limit` calls in flight: a detect must not open an
 * unbounded number of commands on one host at once (a remote host or the
 * lab agent serves a few at a time).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(f))));
  return out;
}

export async function readSysctls(host: Host, paths: readonly string[]): Promise<Record<string, number | undefined>> {
  const reads = await mapLimit(paths, 3, (p) => readSysctl(host, p));
  return Object.fromEntries(reads.map((r) => [r.path, r.value]));
}

/** "net.ipv4.ip_forward = 1" — the evidence line, also the sysctl.d line. */
export function sysctlLine(path: string, value: number | undefined): string {
  return `${sysctlKey(path)} = ${value === undefined ? '(absent)' : value}`;
}

/** Set now with `sysctl -w`, keep in the sysctl.d file the renderers write. */
export function sysctlFix(why: string, wants: ReadonlyArray<{ path: string; value: number }>): Fix {
  return {
    why,
    commands: wants.map((w) => ['sysctl', '-w', `${sysctlKey(w.path)}=${w.value}`]),
    files: [{ path: SYSCTL_PATH, lines: wants.map((w) => `${sysctlKey(w.path)} = ${w.value}`) }],
  };
}

/** Load now with modprobe, keep in the modules-load.d file the renderers write. */
export function moduleFix(why: string, modules: readonly string[]): Fix {
  return { why, commands: modules.map((m) => ['modprobe', m]), files: [{ path: MODULES_PATH, lines: [...modules] }] };
}

export function skip(message: string, evidence: string[] = []): Finding {
  return { status: 'skip', message, evidence };
}

export function toolMissing(tool: string, what: string): Finding {
  return skip(`${tool} is not installed here: cannot ${what}`, [`${tool}: exit 127 (command not found)`]);
}

/** A command's output as evidence lines, prefixed by the command. */
export function outputEvidence(argv: readonly string[], r: Pick<RunResult, 'stdout' | 'stderr' | 'exitCode'>, maxLines = 20): string[] {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(`… ${lines.length - maxLines} more lines`);
  const head = `$ ${argv.join(' ')}${r.exitCode === 0 ? '' : ` (exit ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''})`}`;
  return [head, ...shown];
}

/** Forwarding method of an IPVS real server, as /proc/net/ip_vs names it. */
export type IpvsForward = 'Masq' | 'Route' | 'Tunnel' | 'Local';

export interface IpvsReal {
  address: string;
  port: number;
  forward: IpvsForward | string;
  weight: number;
}

export interface IpvsService {
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'FWM';
  /** VIP (empty for a fwmark service). */
  address: string;
  port: number;
  fwmark?: number;
  scheduler: string;
  persistent: boolean;
  reals: IpvsReal[];
}

function hexAddr(hex: string): string {
  return intToIpv4(Number.parseInt(hex, 16) >>> 0);
}

/**
 * /proc/net/ip_vs: addresses and ports in hex ("0A000064:0050"), flags after
 * the scheduler ("persistent 360"). Lines we do not understand are ignored:
 * the table is the kernel's, never a user's file.
 */
export function parseProcIpVs(text: string): IpvsService[] {
  const services: IpvsService[] = [];
  for (const line of text.split('\n')) {
    const svc = /^(TCP|UDP|SCTP)\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\s+(\S+)(.*)$/.exec(line);
    if (svc) {
      services.push({
        protocol: svc[1] as IpvsService['protocol'],
        address: hexAddr(svc[2]!),
        port: Number.parseInt(svc[3]!, 16),
        scheduler: svc[4]!,
        persistent: /\bpersistent\b/.test(svc[5]!),
        reals: [],
      });
      continue;
    }
    const fwm = /^FWM\s+([0-9A-Fa-f]+)\s+(\S+)(.*)$/.exec(line);
    if (fwm) {
      services.push({ protocol: 'FWM', address: '', port: 0, fwmark: Number.parseInt(fwm[1]!, 16), scheduler: fwm[2]!, persistent: /\bpersistent\b/.test(fwm[3]!), reals: [] });
      continue;
    }
    const real = /^\s+->\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\s+(\S+)\s+(\d+)/.exec(line);
    if (real && services.length > 0) {
      services[services.length - 1]!.reals.push({ address: hexAddr(real[1]!), port: Number.parseInt(real[2]!, 16), forward: real[3]!, weight: Number(real[4]) });
    }
  }
  return services;
}

/** The text of /proc/net/ip_vs, or undefined when IPVS is not loaded (or not visible here). */
export async function readIpvsTable(host: Host): Promise<string | undefined> {
  return host.readFile('/proc/net/ip_vs');
}

/** The services a director runs in the design (L4 only: L7 modes do not touch IPVS). */
export function designL4Services(model: Installation | undefined): NormalizedService[] {
  return (model?.services ?? []).filter((s) => isL4(s.mode));
}

/** The modes this node takes part in: the context's, else what the live table's forwarding methods say. */
export function modesOf(ctx: CheckContext, live: readonly IpvsService[] | undefined): Mode[] {
  if (ctx.modes.length > 0) return ctx.modes;
  const out = new Set<Mode>();
  for (const s of live ?? []) {
    for (const r of s.reals) {
      if (r.forward === 'Masq') out.add('nat');
      if (r.forward === 'Route') out.add('dr');
      if (r.forward === 'Tunnel') out.add('tun');
    }
  }
  return [...out];
}

/** The design's other director, when this node is one of a pair. */
export function peerDirector(ctx: CheckContext): Installation['directors'][number] | undefined {
  const ds = ctx.model?.directors ?? [];
  if (!ds.some((d) => d.name === ctx.node)) return undefined;
  return ds.find((d) => d.name !== ctx.node);
}

export function thisDirector(ctx: CheckContext): Installation['directors'][number] | undefined {
  return ctx.model?.directors.find((d) => d.name === ctx.node);
}

/** Own addresses of a director in the design (without prefix). */
export function directorAddressList(d: Installation['directors'][number] | undefined): string[] {
  return (d?.interfaces ?? []).flatMap((i) => (i.address ? [addressOf(i.address)] : []));
}

export interface LinkAddrs {
  ifname: string;
  up: boolean;
  mtu?: number;
  addrs: string[];
}

/** `ip -j addr` → interfaces with their IPv4 addresses. */
export function parseIpJsonAddr(text: string): LinkAddrs[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  return data.flatMap((l: Record<string, unknown>) => {
    if (typeof l.ifname !== 'string') return [];
    const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
    const info = Array.isArray(l.addr_info) ? (l.addr_info as Array<Record<string, unknown>>) : [];
    return [
      {
        ifname: l.ifname,
        up: flags.includes('UP'),
        ...(typeof l.mtu === 'number' ? { mtu: l.mtu } : {}),
        addrs: info.filter((a) => a.family === 'inet' && typeof a.local === 'string').map((a) => a.local as string),
      },
    ];
  });
}

/** `ip -j addr`, or undefined when ip is not installed. */
export async function readAddrs(host: Host): Promise<{ links: LinkAddrs[]; evidence: string[] } | undefined> {
  const argv = ['ip', '-j', 'addr'];
  const r = await host.run(argv);
  if (r.exitCode === NOT_INSTALLED) return undefined;
  const links = parseIpJsonAddr(r.stdout);
  return { links, evidence: [`$ ${argv.join(' ')}`, ...links.map((l) => `${l.ifname}${l.up ? '' : ' (down)'}: ${l.addrs.join(', ') || '-'}`)] };
}

/** The firewall as read, and what could not be read. */
export interface FirewallRead {
  rules: import('./firewall-packet.js').RulesetTexts;
  /** "nft: not installed", "iptables-save: exit 1: …" */
  notes: string[];
}

/** `nft -j list ruleset` and `iptables-save -c`; a missing tool is a note, not an error. */
export async function readFirewall(host: Host): Promise<FirewallRead> {
  const notes: string[] = [];
  const rules: FirewallRead['rules'] = {};
  const [nft, ipt] = await Promise.all([host.run(['nft', '-j', 'list', 'ruleset']), host.run(['iptables-save', '-c'])]);
  if (nft.exitCode === NOT_INSTALLED) notes.push('nft: not installed');
  else if (nft.exitCode !== 0) notes.push(`nft -j list ruleset: exit ${nft.exitCode}: ${nft.stderr.trim().split('\n')[0] ?? ''}`);
  else rules.nftJson = nft.stdout;
  if (ipt.exitCode === NOT_INSTALLED) notes.push('iptables-save: not installed');
  else if (ipt.exitCode !== 0) notes.push(`iptables-save -c: exit ${ipt.exitCode}: ${ipt.stderr.trim().split('\n')[0] ?? ''}`);
  else rules.iptablesSave = ipt.stdout;
  return { rules, notes };
}

/** Quote one word for a POSIX shell line in a persistent file. */
export function shq(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Where fixes that add firewall rules are kept (loaded after the rest of the ruleset). */
export const FIX_NFT_PATH = '/etc/lvs-toolkit/doctor-fixes.nft';
export const FIX_IPTABLES_PATH = '/etc/lvs-toolkit/doctor-fixes.sh';

/**
 * An accept rule placed first in the chain that dropped the packet: nft
 * `insert rule` (argv; also a line of an nft script for `nft -f`), or
 * `iptables -I`. `selectors` are nft words ("ip daddr 10.0.0.100 tcp dport 80").
 */
export function acceptFix(
  why: string,
  at: import('./firewall-packet.js').DecidedIn,
  nftSelectors: string[],
  iptSelectors: string[],
): Fix {
  if (at.kind === 'nft') {
    const argv = ['nft', 'insert', 'rule', at.family, at.table, at.chain, ...nftSelectors, 'accept'];
    return { why, commands: [argv], files: [{ path: FIX_NFT_PATH, lines: [argv.slice(1).map(shq).join(' ')] }] };
  }
  const argv = ['iptables', '-t', at.table, '-I', at.chain, ...iptSelectors, '-j', 'ACCEPT'];
  return { why, commands: [argv], files: [{ path: FIX_IPTABLES_PATH, lines: [argv.map(shq).join(' ')] }] };
}

/** In a container? /proc/1/environ names it (`container=lxc`), systemd leaves /run/systemd/container, OpenVZ has /proc/vz without /proc/bc. */
export async function detectContainer(host: Host): Promise<string | undefined> {
  const environ = await host.readFile('/proc/1/environ');
  const fromEnv = environ?.split('\u0000').find((e) => e.startsWith('container='));
  if (fromEnv) return fromEnv.slice('container='.length) || 'container';
  const marker = await host.readFile('/run/systemd/container');
  if (marker?.trim()) return marker.trim();
  if ((await host.readFile('/proc/vz/veinfo')) !== undefined && (await host.readFile('/proc/bc/0/resources')) === undefined) return 'openvz';
  return undefined;
}
