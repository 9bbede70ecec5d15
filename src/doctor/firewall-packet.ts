/**
 * Pure: what the director's firewall does with one kind of packet at one
 * netfilter hook, read from `nft -j list ruleset` (JSON) and
 * `iptables-save -c`. It is a reading, not an emulation:
 *  - nftables: every base chain of family ip/inet on the hook runs, in
 *    priority order; an accept ends only its own chain, a drop ends the
 *    packet (nft(8), "Chains": "a packet accepted by one base chain can still
 *    be dropped by another"). iptables: the built-in chain of each table
 *    on the hook, then its policy.
 *  - selectors understood: ip saddr/daddr (address, prefix, range, anonymous
 *    set), ip protocol / meta l4proto, tcp/udp/th sport/dport, meta
 *    iifname/oifname/iif/oif (with a trailing `*` / `+` wildcard), ct state
 *    when the caller says the packet's state, meta nfproto; jump/goto/return.
 *  - anything else (named sets, marks, limits, xt extensions, NAT
 *    statements, netdev/bridge families) makes a rule a "maybe": it is not
 *    taken, it is reported as a doubt, and a verdict that a doubt could turn
 *    round is `maybe-drop`, never certain.
 */
import { cidrContains, ipv4ToInt, isIPv4 } from '../core/net.js';

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface Packet {
  protocol: 'tcp' | 'udp' | 'vrrp';
  saddr?: string;
  daddr?: string;
  sport?: number;
  dport?: number;
  iif?: string;
  oif?: string;
  /** Connection-tracking state, when the caller knows it (a client's SYN is `new`). */
  ctState?: 'new' | 'established';
}

/** The base chain that decided a drop: where an accept rule has to go first. */
export type DecidedIn = { kind: 'nft'; family: string; table: string; chain: string } | { kind: 'iptables'; table: string; chain: string };

export interface PacketVerdict {
  verdict: 'accept' | 'drop' | 'maybe-drop';
  /** The rules (or policy) that decided, outermost first. */
  by: string[];
  /** Rules that may have matched but use selectors this reading does not model. */
  doubts: string[];
  decidedIn?: DecidedIn;
}

/** The firewall as read from the host; a field is undefined when its tool is missing or failed. */
export interface RulesetTexts {
  nftJson?: string;
  iptablesSave?: string;
}

type M = 'yes' | 'no' | 'maybe';

const PROTO_NUM: Record<Packet['protocol'], number> = { tcp: 6, udp: 17, vrrp: 112 };
const PROTO_NAMES: Record<string, number> = { tcp: 6, udp: 17, vrrp: 112, '6': 6, '17': 17, '112': 112, icmp: 1, sctp: 132 };

function not(m: M): M {
  return m === 'yes' ? 'no' : m === 'no' ? 'yes' : 'maybe';
}

function and(a: M, b: M): M {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'maybe' || b === 'maybe') return 'maybe';
  return 'yes';
}

function anyOf(ms: M[]): M {
  if (ms.includes('yes')) return 'yes';
  if (ms.includes('maybe')) return 'maybe';
  return 'no';
}

function ifaceMatch(pattern: string, name: string | undefined): M {
  if (name === undefined) return 'maybe';
  if (pattern.endsWith('*') || pattern.endsWith('+')) return name.startsWith(pattern.slice(0, -1)) ? 'yes' : 'no';
  return pattern === name ? 'yes' : 'no';
}

function addrIn(value: unknown, addr: string | undefined): M {
  if (addr === undefined) return 'maybe';
  if (typeof value === 'string') {
    if (value.startsWith('@')) return 'maybe';
    if (isIPv4(value)) return value === addr ? 'yes' : 'no';
    if (/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(value)) return cidrContains(value, addr) ? 'yes' : 'no';
    return 'maybe';
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.prefix && typeof o.prefix === 'object') {
      const p = o.prefix as { addr?: unknown; len?: unknown };
      if (typeof p.addr === 'string' && typeof p.len === 'number' && isIPv4(p.addr)) return cidrContains(`${p.addr}/${p.len}`, addr) ? 'yes' : 'no';
    }
    if (Array.isArray(o.range) && typeof o.range[0] === 'string' && typeof o.range[1] === 'string' && isIPv4(o.range[0]) && isIPv4(o.range[1])) {
      const n = ipv4ToInt(addr);
      return n >= ipv4ToInt(o.range[0]) && n <= ipv4ToInt(o.range[1]) ? 'yes' : 'no';
    }
    if (Array.isArray(o.set)) return anyOf(o.set.map((v) => addrIn(v, addr)));
  }
  return 'maybe';
}

function numIn(value: unknown, n: number | undefined, names: Record<string, number> = {}): M {
  if (n === undefined) return 'maybe';
  if (typeof value === 'number') return value === n ? 'yes' : 'no';
  if (typeof value === 'string') {
    if (value.startsWith('@')) return 'maybe';
    const v = names[value] ?? (/^\d+$/.test(value) ? Number(value) : undefined);
    return v === undefined ? 'maybe' : v === n ? 'yes' : 'no';
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o.range)) {
      const [a, b] = o.range.map((x) => (typeof x === 'number' ? x : typeof x === 'string' ? names[x] : undefined));
      return a === undefined || b === undefined ? 'maybe' : n >= a && n <= b ? 'yes' : 'no';
    }
    if (Array.isArray(o.set)) return anyOf(o.set.map((v) => numIn(v, n, names)));
  }
  return 'maybe';
}

function stringIn(value: unknown, test: (s: string) => M): M {
  if (typeof value === 'string') return value.startsWith('@') ? 'maybe' : test(value);
  if (Array.isArray(value)) return anyOf(value.map((v) => stringIn(v, test)));
  if (value && typeof value === 'object' && Array.isArray((value as { set?: unknown }).set)) return stringIn((value as { set: unknown[] }).set, test);
  return 'maybe';
}

/** One nft JSON match expression against the packet. */
function nftMatch(expr: Record<string, unknown>, p: Packet): M {
  const op = (expr.op as string) ?? '==';
  const left = expr.left as Record<string, Record<string, string>> | undefined;
  const right = expr.right;
  let m: M = 'maybe';
  if (left?.payload) {
    const { protocol, field } = left.payload;
    if (protocol === 'ip' && (field === 'saddr' || field === 'daddr')) m = addrIn(right, field === 'saddr' ? p.saddr : p.daddr);
    else if (protocol === 'ip' && field === 'protocol') m = numIn(right, PROTO_NUM[p.protocol], PROTO_NAMES);
    else if ((protocol === 'tcp' || protocol === 'udp' || protocol === 'th') && (field === 'dport' || field === 'sport')) {
      // A transport selector implies its protocol (nft adds the dependency itself).
      const protoOk: M = protocol === 'th' ? (p.protocol === 'vrrp' ? 'no' : 'yes') : protocol === p.protocol ? 'yes' : 'no';
      if (protoOk === 'no') return 'no';
      m = numIn(right, field === 'dport' ? p.dport : p.sport);
    }
  } else if (left?.meta) {
    const key = left.meta.key;
    if (key === 'l4proto') m = numIn(right, PROTO_NUM[p.protocol], PROTO_NAMES);
    else if (key === 'iifname' || key === 'iif') m = stringIn(right, (s) => ifaceMatch(s, p.iif));
    else if (key === 'oifname' || key === 'oif') m = stringIn(right, (s) => ifaceMatch(s, p.oif));
    else if (key === 'nfproto') m = stringIn(right, (s) => (s === 'ipv4' ? 'yes' : 'no'));
  } else if (left?.ct && left.ct.key === 'state') {
    const state = p.ctState;
    m = state === undefined ? 'maybe' : stringIn(right, (s) => (s === state ? 'yes' : 'no'));
  }
  if (op === '!=') return not(m);
  if (op === '==' || op === 'in') return m;
  return 'maybe';
}

type Outcome = { kind: 'accept' | 'drop'; by: string[] } | { kind: 'return' } | { kind: 'continue' };

interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  prio?: number;
  policy?: string;
  rules: Array<{ handle?: number; comment?: string; expr: Array<Record<string, unknown>> }>;
}

/** A short text of an nft JSON rule, for evidence ("ip daddr 10.0.0.100 tcp dport 80 drop"). */
export function nftRuleText(chain: Pick<NftChain, 'family' | 'table' | 'name'>, rule: NftChain['rules'][number]): string {
  const parts: string[] = [];
  const val = (v: unknown): string => {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    if (Array.isArray(v)) return `{ ${v.map(val).join(', ')} }`;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.prefix) return `${(o.prefix as { addr: string }).addr}/${(o.prefix as { len: number }).len}`;
      if (Array.isArray(o.range)) return `${val(o.range[0])}-${val(o.range[1])}`;
      if (Array.isArray(o.set)) return `{ ${o.set.map(val).join(', ')} }`;
    }
    return JSON.stringify(v);
  };
  for (const e of rule.expr) {
    const [k, body] = Object.entries(e)[0] ?? ['?', null];
    if (k === 'match') {
      const m = body as { op: string; left: Record<string, Record<string, string>>; right: unknown };
      const l = m.left.payload ? `${m.left.payload.protocol} ${m.left.payload.field}` : m.left.meta ? `meta ${m.left.meta.key}` : m.left.ct ? `ct ${m.left.ct.key}` : JSON.stringify(m.left);
      parts.push(`${l}${m.op === '==' || m.op === 'in' ? '' : ` ${m.op}`} ${val(m.right)}`);
    } else if (k === 'counter') parts.push('counter');
    else if (k === 'jump' || k === 'goto') parts.push(`${k} ${(body as { target: string }).target}`);
    else if (body === null) parts.push(k);
    else parts.push(`${k} ${JSON.stringify(body)}`);
  }
  return `${chain.family} ${chain.table} ${chain.name}: ${parts.join(' ')}${rule.comment ? ` comment "${rule.comment}"` : ''}${rule.handle !== undefined ? ` # handle ${rule.handle}` : ''}`;
}

function parseNft(json: string): NftChain[] {
  let data: { nftables?: Array<Record<string, Record<string, unknown>>> };
  try {
    data = JSON.parse(json) as typeof data;
  } catch {
    return [];
  }
  const chains = new Map<string, NftChain>();
  const key = (f: unknown, t: unknown, c: unknown) => `${String(f)}\u0000${String(t)}\u0000${String(c)}`;
  for (const item of data.nftables ?? []) {
    if (item.chain) {
      const c = item.chain;
      chains.set(key(c.family, c.table, c.name), {
        family: String(c.family),
        table: String(c.table),
        name: String(c.name),
        ...(typeof c.hook === 'string' ? { hook: c.hook } : {}),
        ...(typeof c.prio === 'number' ? { prio: c.prio } : {}),
        ...(typeof c.policy === 'string' ? { policy: c.policy } : {}),
        rules: [],
      });
    } else if (item.rule) {
      const r = item.rule;
      const c = chains.get(key(r.family, r.table, r.chain));
      if (c && Array.isArray(r.expr)) {
        c.rules.push({
          ...(typeof r.handle === 'number' ? { handle: r.handle } : {}),
          ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
          expr: r.expr as Array<Record<string, unknown>>,
        });
      }
    }
  }
  return [...chains.values()];
}

/** Base chains of family ip/inet, in the order the kernel runs them. */
export function nftBaseChains(json: string): NftChain[] {
  return parseNft(json).filter((c) => c.hook !== undefined && (c.family === 'ip' || c.family === 'inet'));
}

function walkNft(all: NftChain[], chain: NftChain, p: Packet, doubts: string[], depth: number): Outcome {
  if (depth > 16) {
    doubts.push(`${chain.family} ${chain.table} ${chain.name}: jumps nest deeper than 16, not followed`);
    return { kind: 'continue' };
  }
  for (const rule of chain.rules) {
    let m: M = 'yes';
    let verdict: { kind: 'accept' | 'drop' | 'return' } | { kind: 'jump' | 'goto'; target: string } | undefined;
    let unknownStatement = false;
    for (const e of rule.expr) {
      if (e.match) m = and(m, nftMatch(e.match as Record<string, unknown>, p));
      else if ('accept' in e) verdict = { kind: 'accept' };
      else if ('drop' in e || 'reject' in e) verdict = { kind: 'drop' };
      else if ('return' in e) verdict = { kind: 'return' };
      else if (e.jump || e.goto) verdict = { kind: e.jump ? 'jump' : 'goto', target: ((e.jump ?? e.goto) as { target: string }).target };
      else if (e.counter !== undefined || e.log !== undefined || e.notrack !== undefined || 'comment' in e) continue;
      else if (e.xt !== undefined || e.limit !== undefined || e.lookup !== undefined || e.vmap !== undefined || e.queue !== undefined) m = and(m, 'maybe');
      else unknownStatement = true;
      if (m === 'no') break;
    }
    if (m === 'no' || verdict === undefined) continue;
    const text = nftRuleText(chain, rule);
    if (m === 'maybe' || unknownStatement) {
      doubts.push(`${text} — may match (a selector or statement not modelled): would ${verdict.kind}${'target' in verdict ? ` ${verdict.target}` : ''}`);
      continue;
    }
    switch (verdict.kind) {
      case 'accept':
      case 'drop':
        return { kind: verdict.kind, by: [text] };
      case 'return':
        return { kind: 'return' };
      case 'jump':
      case 'goto': {
        const target = all.find((c) => c.family === chain.family && c.table === chain.table && c.name === verdict.target);
        if (!target) {
          doubts.push(`${text} — target chain not found`);
          continue;
        }
        const r = walkNft(all, target, p, doubts, depth + 1);
        if (r.kind === 'accept' || r.kind === 'drop') return { kind: r.kind, by: [text, ...r.by] };
        if (verdict.kind === 'goto') return { kind: 'return' };
        continue;
      }
    }
  }
  return { kind: 'continue' };
}

interface IptRule {
  text: string;
  tokens: string[];
}

interface IptChain {
  table: string;
  name: string;
  policy?: string;
  rules: IptRule[];
}

function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1] : m[2]!);
  return out;
}

function parseIptablesSave(text: string): IptChain[] {
  const chains: IptChain[] = [];
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\[\d+:\d+\]\s*/, '').trim();
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      chains.push({ table, name: name!, ...(policy && policy !== '-' ? { policy } : {}), rules: [] });
    } else if (line.startsWith('-A ')) {
      const tokens = tokenize(line);
      const chain = chains.find((c) => c.table === table && c.name === tokens[1]);
      chain?.rules.push({ text: `${table} ${line}`, tokens: tokens.slice(2) });
    }
  }
  return chains;
}

function iptPortList(spec: string, n: number | undefined): M {
  if (n === undefined) return 'maybe';
  return anyOf(
    spec.split(',').map((part) => {
      const r = /^(\d+):(\d+)$/.exec(part);
      if (r) return n >= Number(r[1]) && n <= Number(r[2]) ? 'yes' : 'no';
      return /^\d+$/.test(part) ? (Number(part) === n ? 'yes' : 'no') : 'maybe';
    }),
  );
}

/** One iptables rule's match part and its target. */
function iptRule(tokens: string[], p: Packet): { m: M; target?: string; goto?: boolean } {
  let m: M = 'yes';
  let negate = false;
  let target: string | undefined;
  let goto = false;
  const take = (x: M) => {
    m = and(m, negate ? not(x) : x);
    negate = false;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const arg = tokens[i + 1] ?? '';
    switch (t) {
      case '!':
        negate = true;
        break;
      case '-p':
      case '--protocol':
        take(numIn(arg.toLowerCase(), PROTO_NUM[p.protocol], PROTO_NAMES));
        i++;
        break;
      case '-s':
      case '--source':
        take(addrIn(arg.endsWith('/32') ? arg.slice(0, -3) : arg, p.saddr));
        i++;
        break;
      case '-d':
      case '--destination':
        take(addrIn(arg.endsWith('/32') ? arg.slice(0, -3) : arg, p.daddr));
        i++;
        break;
      case '-i':
      case '--in-interface':
        take(ifaceMatch(arg, p.iif));
        i++;
        break;
      case '-o':
      case '--out-interface':
        take(ifaceMatch(arg, p.oif));
        i++;
        break;
      case '--dport':
      case '--destination-port':
      case '--dports':
      case '--destination-ports':
        take(iptPortList(arg, p.dport));
        i++;
        break;
      case '--sport':
      case '--source-port':
      case '--sports':
      case '--source-ports':
        take(iptPortList(arg, p.sport));
        i++;
        break;
      case '--ctstate':
      case '--state':
        take(p.ctState === undefined ? 'maybe' : arg.toLowerCase().split(',').includes(p.ctState) ? 'yes' : 'no');
        i++;
        break;
      case '-m':
      case '--match':
        if (!['tcp', 'udp', 'multiport', 'conntrack', 'state', 'comment'].includes(arg)) take('maybe');
        i++;
        break;
      case '--comment':
        i++;
        break;
      case '-j':
      case '--jump':
      case '-g':
      case '--goto':
        target = arg;
        goto = t === '-g' || t === '--goto';
        i++;
        // Target options (--reject-with, --to-destination …) follow; they do not select packets.
        i = tokens.length;
        break;
      default:
        if (t.startsWith('-')) take('maybe');
    }
  }
  return { m, ...(target ? { target } : {}), goto };
}

const IPT_TERMINAL_ACCEPT = new Set(['ACCEPT', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT']);
const IPT_TERMINAL_DROP = new Set(['DROP', 'REJECT']);

function walkIpt(all: IptChain[], chain: IptChain, p: Packet, doubts: string[], depth: number): Outcome {
  if (depth > 16) return { kind: 'continue' };
  for (const rule of chain.rules) {
    const { m, target, goto } = iptRule(rule.tokens, p);
    if (m === 'no' || !target) continue;
    const sub = all.find((c) => c.table === chain.table && c.name === target);
    const acts = IPT_TERMINAL_ACCEPT.has(target) || IPT_TERMINAL_DROP.has(target) || target === 'RETURN' || sub !== undefined;
    if (!acts) continue;
    if (m === 'maybe') {
      doubts.push(`${rule.text} — may match (a match not modelled): would ${target}`);
      continue;
    }
    if (IPT_TERMINAL_ACCEPT.has(target)) return { kind: 'accept', by: [rule.text] };
    if (IPT_TERMINAL_DROP.has(target)) return { kind: 'drop', by: [rule.text] };
    if (target === 'RETURN') return { kind: 'return' };
    const r = walkIpt(all, sub!, p, doubts, depth + 1);
    if (r.kind === 'accept' || r.kind === 'drop') return { kind: r.kind, by: [rule.text, ...r.by] };
    if (goto) return { kind: 'return' };
  }
  return { kind: 'continue' };
}

const IPT_TABLES_BY_HOOK: Record<Hook, string[]> = {
  prerouting: ['raw', 'mangle', 'nat'],
  input: ['mangle', 'nat', 'filter', 'security'],
  forward: ['mangle', 'filter', 'security'],
  output: ['raw', 'mangle', 'nat', 'filter', 'security'],
  postrouting: ['mangle', 'nat'],
};

/**
 * Whether the packet gets through `hooks` (in order). nftables rules that
 * carry iptables-nft extensions (`xt`) are judged from iptables-save instead,
 * so the same rule is not read twice.
 */
export function packetVerdict(rules: RulesetTexts, p: Packet, hooks: readonly Hook[]): PacketVerdict {
  const doubts: string[] = [];
  const by: string[] = [];
  const nft = rules.nftJson ? nftBaseChains(rules.nftJson) : [];
  const allNft = rules.nftJson ? parseNft(rules.nftJson) : [];
  const ipt = rules.iptablesSave ? parseIptablesSave(rules.iptablesSave) : [];
  let decidedIn: DecidedIn | undefined;
  const finish = (verdict: 'accept' | 'drop'): PacketVerdict => {
    const at = decidedIn ? { decidedIn } : {};
    if (verdict === 'drop') return { verdict: doubts.some((d) => /would (accept|ACCEPT|jump|goto)/.test(d)) ? 'maybe-drop' : 'drop', by, doubts, ...at };
    return { verdict: doubts.some((d) => /would (drop|DROP|REJECT|jump|goto)/.test(d)) ? 'maybe-drop' : 'accept', by, doubts };
  };
  for (const hook of hooks) {
    const chains = nft.filter((c) => c.hook === hook).sort((a, b) => (a.prio ?? 0) - (b.prio ?? 0));
    for (const c of chains) {
      const iptablesOwned = c.rules.some((r) => r.expr.some((e) => e.xt !== undefined)) && ipt.length > 0;
      if (iptablesOwned) continue;
      const r = walkNft(allNft, c, p, doubts, 0);
      decidedIn = { kind: 'nft', family: c.family, table: c.table, chain: c.name };
      if (r.kind === 'drop') {
        by.push(...r.by);
        return finish('drop');
      }
      if (r.kind === 'accept') by.push(...r.by);
      else if (c.policy === 'drop') {
        by.push(`${c.family} ${c.table} ${c.name}: policy drop (hook ${hook}, priority ${c.prio ?? 0}) and no rule accepted it`);
        return finish('drop');
      }
    }
    for (const table of IPT_TABLES_BY_HOOK[hook]) {
      const c = ipt.find((x) => x.table === table && x.name === hook.toUpperCase());
      if (!c) continue;
      const r = walkIpt(ipt, c, p, doubts, 0);
      decidedIn = { kind: 'iptables', table, chain: c.name };
      if (r.kind === 'drop') {
        by.push(...r.by);
        return finish('drop');
      }
      if (r.kind === 'accept') by.push(...r.by);
      else if (c.policy === 'DROP') {
        by.push(`${table} ${c.name}: policy DROP and no rule accepted it`);
        return finish('drop');
      }
    }
  }
  return finish('accept');
}

/** Base chains with `policy drop` on a hook, as evidence lines (nft and iptables). */
export function dropPolicies(rules: RulesetTexts, hook: Hook): string[] {
  const out: string[] = [];
  if (rules.nftJson) {
    for (const c of nftBaseChains(rules.nftJson)) {
      if (c.hook === hook && c.policy === 'drop') out.push(`nft: table ${c.family} ${c.table} chain ${c.name} { type filter hook ${hook} priority ${c.prio ?? 0}; policy drop; }`);
    }
  }
  if (rules.iptablesSave) {
    for (const c of parseIptablesSave(rules.iptablesSave)) {
      if (c.name === hook.toUpperCase() && c.policy === 'DROP') out.push(`iptables: -t ${c.table} -P ${c.name} DROP`);
    }
  }
  return out;
}

/** Rules that match on connection-tracking state, and those that drop `ct state invalid`. */
export function conntrackRules(rules: RulesetTexts): { matches: string[]; invalidDrops: string[]; notrack: string[] } {
  const matches: string[] = [];
  const invalidDrops: string[] = [];
  const notrack: string[] = [];
  if (rules.nftJson) {
    for (const c of parseNft(rules.nftJson)) {
      if (c.family !== 'ip' && c.family !== 'inet') continue;
      for (const r of c.rules) {
        const ctMatch = r.expr.find((e) => (e.match as { left?: { ct?: { key?: string } } } | undefined)?.left?.ct?.key === 'state');
        const text = nftRuleText(c, r);
        if (r.expr.some((e) => e.notrack !== undefined)) notrack.push(text);
        if (!ctMatch) continue;
        matches.push(text);
        const right = (ctMatch.match as { right: unknown; op?: string }).right;
        const hasInvalid = JSON.stringify(right).includes('invalid') && (ctMatch.match as { op?: string }).op !== '!=';
        if (hasInvalid && r.expr.some((e) => 'drop' in e || 'reject' in e)) invalidDrops.push(text);
      }
    }
  }
  if (rules.iptablesSave) {
    for (const c of parseIptablesSave(rules.iptablesSave)) {
      for (const r of c.rules) {
        if (/-j (CT --notrack|NOTRACK)\b/.test(r.text)) notrack.push(r.text);
        if (!/--(ct)?state /.test(r.text)) continue;
        matches.push(r.text);
        if (/--(ct)?state (\S*,)?INVALID\b/.test(r.text) && !/! --(ct)?state/.test(r.text) && /-j (DROP|REJECT)\b/.test(r.text)) invalidDrops.push(r.text);
      }
    }
  }
  return { matches, invalidDrops, notrack };
}
