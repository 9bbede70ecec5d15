/**
 * Pure: what a host's input firewall does with one kind of packet (a new TCP
 * connection to VIP:port, a VRRP advert from the peer), read from the text
 * of `nft list ruleset` or `iptables-save`. This is a reading, not an
 * emulation: a rule is matched on the selectors we understand (protocol,
 * ports, addresses, input interface, conntrack state); a rule with a
 * selector we do not understand "may" match, and a drop behind such a rule
 * is reported as `maybe-drop`, never as certain. For a certain answer, trace
 * the packet (nftables wiki "Ruleset debug/tracing", xtables-monitor(8)).
 */
import { cidrContains, isIPv4, isIPv4Cidr } from '../core/net.js';

export interface PacketSpec {
  /** IP protocol of the packet. */
  protocol: 'tcp' | 'udp' | 'vrrp';
  daddr?: string;
  dport?: number;
  saddr?: string;
  /** The interface it arrives on. */
  iif?: string;
}

export type Verdict =
  | { verdict: 'accept'; by: string }
  | { verdict: 'drop'; by: string }
  | { verdict: 'maybe-drop'; by: string };

type Match = 'yes' | 'no' | 'maybe';

/** No verdict in the chain; `maybe` a drop that may have matched, `maybeAccept` an accept that may have. */
interface Continue {
  verdict: 'continue';
  maybe?: string;
  maybeAccept?: string;
}

interface Chain {
  table: string;
  name: string;
  hook?: string;
  policy?: 'accept' | 'drop';
  rules: string[];
}

const PROTO_NUMBERS: Record<string, string> = { '6': 'tcp', '17': 'udp', '112': 'vrrp' };

function protoName(p: string): string {
  const x = p.toLowerCase();
  return PROTO_NUMBERS[x] ?? x;
}

function addrMatches(spec: string, addr: string | undefined): Match {
  if (addr === undefined) return 'maybe';
  const items = spec.replace(/[{}]/g, ' ').split(/[\s,]+/).filter(Boolean);
  let understood = true;
  for (const it of items) {
    if (isIPv4(it) && it === addr) return 'yes';
    if (isIPv4Cidr(it) && cidrContains(it, addr)) return 'yes';
    if (!isIPv4(it) && !isIPv4Cidr(it)) understood = false;
  }
  return understood ? 'no' : 'maybe';
}

function portMatches(spec: string, port: number | undefined): Match {
  if (port === undefined) return 'maybe';
  const items = spec.replace(/[{}]/g, ' ').split(/[\s,]+/).filter(Boolean);
  let understood = true;
  for (const it of items) {
    const range = /^(\d+)[-:](\d+)$/.exec(it);
    if (range) {
      if (port >= Number(range[1]) && port <= Number(range[2])) return 'yes';
    } else if (/^\d+$/.test(it)) {
      if (Number(it) === port) return 'yes';
    } else understood = false;
  }
  return understood ? 'no' : 'maybe';
}

function and(a: Match, b: Match): Match {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'maybe' || b === 'maybe') return 'maybe';
  return 'yes';
}

/** Value after a keyword, a `{ set }` taken whole. */
function valueAfter(tokens: string[], i: number): string {
  const t = tokens[i] ?? '';
  if (!t.startsWith('{')) return t;
  const parts = [];
  for (let j = i; j < tokens.length; j++) {
    parts.push(tokens[j]);
    if (tokens[j]!.endsWith('}')) break;
  }
  return parts.join(' ');
}

function stateMatchesNew(states: string): Match {
  const s = states.toLowerCase().split(/[\s,{}]+/).filter(Boolean);
  return s.includes('new') || s.includes('untracked') ? 'yes' : 'no';
}

/** One nft rule (comments and counters stripped) against the packet. */
function nftRuleMatch(rule: string, p: PacketSpec): Match {
  const tokens = rule.split(/\s+/).filter(Boolean);
  let m: Match = 'yes';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if (t === 'counter' || t === 'packets' || t === 'bytes' || /^\d+$/.test(t) || t === 'log' || t === 'accept' || t === 'drop' || t === 'reject' || t === 'return') continue;
    if (t === 'jump' || t === 'goto') {
      i++;
      continue;
    }
    if ((t === 'ip' || t === 'meta') && (next === 'protocol' || next === 'l4proto')) {
      const v = valueAfter(tokens, i + 2);
      m = and(m, v.replace(/[{}]/g, ' ').split(/[\s,]+/).filter(Boolean).map(protoName).includes(p.protocol) ? 'yes' : 'no');
      i += 2;
      continue;
    }
    if ((t === 'tcp' || t === 'udp' || t === 'th') && (next === 'dport' || next === 'sport')) {
      if (t !== 'th' && t !== p.protocol) m = 'no';
      const v = valueAfter(tokens, i + 2);
      if (next === 'dport') m = and(m, portMatches(v, p.dport));
      else m = and(m, 'maybe');
      i += 2 + (v.startsWith('{') ? v.split(/\s+/).length - 1 : 0);
      continue;
    }
    if (t === 'ip' && (next === 'daddr' || next === 'saddr')) {
      const v = valueAfter(tokens, i + 2);
      m = and(m, addrMatches(v, next === 'daddr' ? p.daddr : p.saddr));
      i += 2 + (v.startsWith('{') ? v.split(/\s+/).length - 1 : 0);
      continue;
    }
    if ((t === 'iifname' || t === 'iif') && next) {
      const name = next.replace(/"/g, '');
      m = and(m, p.iif === undefined ? (name === 'lo' ? 'no' : 'maybe') : name === p.iif ? 'yes' : 'no');
      i += 1;
      continue;
    }
    if (t === 'ct' && next === 'state') {
      const v = valueAfter(tokens, i + 2);
      m = and(m, stateMatchesNew(v));
      i += 2 + (v.startsWith('{') ? v.split(/\s+/).length - 1 : 0);
      continue;
    }
    m = and(m, 'maybe');
  }
  return m;
}

function nftVerdictOf(rule: string): { kind: 'accept' | 'drop' | 'jump' | 'return' | 'none'; target?: string } {
  const tokens = rule.split(/\s+/);
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (t === 'accept') return { kind: 'accept' };
    if (t === 'drop' || t === 'reject') return { kind: 'drop' };
    if (t === 'return') return { kind: 'return' };
    if ((t === 'jump' || t === 'goto') && tokens[i + 1]) return { kind: 'jump', target: tokens[i + 1]! };
  }
  return { kind: 'none' };
}

function stripNft(rule: string): string {
  return rule.replace(/\s*comment\s+"[^"]*"/g, '').replace(/\s*counter packets \d+ bytes \d+/g, ' counter').trim();
}

/** Chains of `nft list ruleset` text. */
export function parseNftChains(text: string): Chain[] {
  const chains: Chain[] = [];
  let table = '';
  let cur: Chain | undefined;
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const tm = /^table\s+(\S+)\s+(\S+)\s*\{$/.exec(line);
    if (tm && depth === 0) {
      table = `${tm[1]} ${tm[2]}`;
      depth = 1;
      continue;
    }
    const cm = /^chain\s+(\S+)\s*\{$/.exec(line);
    if (cm && depth === 1) {
      cur = { table, name: cm[1]!, rules: [] };
      chains.push(cur);
      depth = 2;
      continue;
    }
    if (depth >= 2 && line.endsWith('{')) {
      depth++;
      continue;
    }
    if (line === '}' || line.startsWith('}')) {
      depth--;
      if (depth === 1) cur = undefined;
      continue;
    }
    if (depth === 2 && cur) {
      const hm = /^type\s+\S+\s+hook\s+(\S+)\s+.*?;(?:\s*policy\s+(accept|drop);)?/.exec(line);
      if (hm) {
        cur.hook = hm[1]!;
        if (hm[2]) cur.policy = hm[2] as 'accept' | 'drop';
        continue;
      }
      if (/^policy\s+(accept|drop);/.test(line)) {
        cur.policy = /^policy\s+(accept|drop)/.exec(line)![1] as 'accept' | 'drop';
        continue;
      }
      cur.rules.push(line);
    }
  }
  return chains;
}

function walk(
  chains: Chain[],
  chain: Chain,
  p: PacketSpec,
  match: (rule: string, p: PacketSpec) => Match,
  verdictOf: (rule: string) => { kind: 'accept' | 'drop' | 'jump' | 'return' | 'none'; target?: string },
  show: (rule: string) => string,
  depth: number,
): Verdict | Continue {
  let maybe: string | undefined;
  let maybeAccept: string | undefined;
  for (const rule of chain.rules) {
    const m = match(rule, p);
    if (m === 'no') continue;
    const v = verdictOf(rule);
    const where = `${chain.table} ${chain.name}: ${show(rule)}`;
    if (v.kind === 'jump' && v.target && depth < 8) {
      const target = chains.find((c) => c.table === chain.table && c.name === v.target);
      if (!target) continue;
      const r = walk(chains, target, p, match, verdictOf, show, depth + 1);
      if (r.verdict === 'continue') {
        maybe ??= r.maybe;
        maybeAccept ??= r.maybeAccept;
        continue;
      }
      if (m === 'yes') return r;
      if (r.verdict !== 'accept') maybe ??= r.by;
      continue;
    }
    if (v.kind === 'return') {
      if (m === 'yes') return cont(maybe, maybeAccept);
      continue;
    }
    if (v.kind === 'accept') {
      if (m === 'yes') return maybe ? { verdict: 'maybe-drop', by: maybe } : { verdict: 'accept', by: where };
      maybeAccept ??= where;
      continue;
    }
    if (v.kind === 'drop') {
      if (m === 'yes') return maybe ? { verdict: 'maybe-drop', by: maybe } : { verdict: 'drop', by: where };
      maybe ??= where;
    }
  }
  return cont(maybe, maybeAccept);
}

function cont(maybe: string | undefined, maybeAccept: string | undefined): Continue {
  return { verdict: 'continue', ...(maybe ? { maybe } : {}), ...(maybeAccept ? { maybeAccept } : {}) };
}

function combine(results: Array<Verdict | Continue>, policies: Array<{ policy: 'accept' | 'drop'; where: string }>): Verdict {
  let maybe: string | undefined;
  let accepted: string | undefined;
  for (const [i, r] of results.entries()) {
    if (r.verdict === 'drop') return r;
    if (r.verdict === 'maybe-drop') maybe ??= r.by;
    if (r.verdict === 'continue') {
      if (r.maybe) maybe ??= r.maybe;
      const pol = policies[i]!;
      if (pol.policy === 'drop') {
        if (!maybe && !r.maybeAccept) return { verdict: 'drop', by: pol.where };
        maybe ??= `${pol.where}, unless this accepts it: ${r.maybeAccept}`;
      }
    }
    if (r.verdict === 'accept') accepted ??= r.by;
  }
  if (maybe) return { verdict: 'maybe-drop', by: maybe };
  return { verdict: 'accept', by: accepted ?? 'no input chain drops it' };
}

/** The input verdict of an nftables ruleset for the packet (every input base chain must accept it). */
export function nftInputVerdict(ruleset: string, p: PacketSpec): Verdict {
  const chains = parseNftChains(ruleset).filter((c) => !c.table.startsWith('arp ') && !c.table.startsWith('bridge ') && !c.table.startsWith('ip6 '));
  const base = chains.filter((c) => c.hook === 'input');
  const results = base.map((c) => walk(chains, c, p, (r, q) => nftRuleMatch(stripNft(r), q), (r) => nftVerdictOf(stripNft(r)), stripNft, 0));
  return combine(results, base.map((c) => ({ policy: c.policy ?? 'accept', where: `${c.table} ${c.name}: policy drop` })));
}

/** One iptables-save rule's selectors against the packet. */
function iptRuleMatch(rule: string, p: PacketSpec): Match {
  const tokens = rule.split(/\s+/).filter(Boolean);
  let m: Match = 'yes';
  for (let i = 2; i < tokens.length; i++) {
    const t = tokens[i]!;
    const v = tokens[i + 1] ?? '';
    if (t === '-j' || t === '-g') break;
    if (t === '!') return and(m, 'maybe');
    if (t === '-p' || t === '--protocol') {
      m = and(m, protoName(v) === p.protocol ? 'yes' : 'no');
      i++;
    } else if (t === '--dport' || t === '--dports' || t === '--destination-port') {
      m = and(m, portMatches(v, p.dport));
      i++;
    } else if (t === '-d' || t === '--destination') {
      m = and(m, addrMatches(v, p.daddr));
      i++;
    } else if (t === '-s' || t === '--source') {
      m = and(m, addrMatches(v, p.saddr));
      i++;
    } else if (t === '-i' || t === '--in-interface') {
      m = and(m, p.iif === undefined ? (v === 'lo' ? 'no' : 'maybe') : v === p.iif ? 'yes' : 'no');
      i++;
    } else if (t === '--state' || t === '--ctstate') {
      m = and(m, stateMatchesNew(v));
      i++;
    } else if (t === '-m') {
      i++;
    } else if (t === '--comment') {
      i++;
      if (v.startsWith('"')) while (i < tokens.length && !tokens[i]!.endsWith('"')) i++;
    } else m = and(m, 'maybe');
  }
  return m;
}

function iptVerdictOf(rule: string): { kind: 'accept' | 'drop' | 'jump' | 'return' | 'none'; target?: string } {
  const j = / -[jg] (\S+)/.exec(rule);
  if (!j) return { kind: 'none' };
  const t = j[1]!;
  if (t === 'ACCEPT') return { kind: 'accept' };
  if (t === 'DROP' || t === 'REJECT') return { kind: 'drop' };
  if (t === 'RETURN') return { kind: 'return' };
  if (t === 'LOG' || t === 'MARK' || t === 'CONNMARK' || t === 'NFLOG') return { kind: 'none' };
  return { kind: 'jump', target: t };
}

/** The INPUT verdict of the filter table of `iptables-save` text. */
export function iptablesInputVerdict(save: string, p: PacketSpec): Verdict {
  const chains: Chain[] = [];
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    if (table !== 'filter') continue;
    const decl = /^:(\S+)\s+(\S+)/.exec(line);
    if (decl) chains.push({ table, name: decl[1]!, ...(decl[1] === 'INPUT' ? { hook: 'input' } : {}), ...(decl[2] === 'DROP' ? { policy: 'drop' as const } : {}), rules: [] });
    const rule = /^-A\s+(\S+)\s/.exec(line);
    if (rule) chains.find((c) => c.name === rule[1])?.rules.push(line.trim());
  }
  const input = chains.find((c) => c.name === 'INPUT');
  if (!input) return { verdict: 'accept', by: 'no filter INPUT chain' };
  const r = walk(chains, input, p, iptRuleMatch, iptVerdictOf, (x) => x, 0);
  return combine([r], [{ policy: input.policy ?? 'accept', where: 'filter INPUT: policy DROP' }]);
}

export interface RulesetObservation {
  /** `nft list ruleset`, when nft is installed and answered. */
  nft?: string;
  /** `iptables-save`, when it is the legacy backend (the nf_tables one is already in `nft list ruleset`). */
  iptablesLegacy?: string;
  /** What could not be read, and why. */
  notes: string[];
}

/** The verdict of both rulesets together: a drop in either wins. */
export function inputVerdict(obs: RulesetObservation, p: PacketSpec): Verdict {
  const vs: Verdict[] = [];
  if (obs.nft !== undefined) vs.push(nftInputVerdict(obs.nft, p));
  if (obs.iptablesLegacy !== undefined) vs.push(iptablesInputVerdict(obs.iptablesLegacy, p));
  return vs.find((v) => v.verdict === 'drop') ?? vs.find((v) => v.verdict === 'maybe-drop') ?? vs[0] ?? { verdict: 'accept', by: 'no ruleset could be read' };
}
