/**
 * keepalived.conf -> model. One file (with its includes) describes one
 * director: its VRRP instances and the IPVS services keepalived builds.
 * Defaults are keepalived's own (keepalived.conf(5), 2.2.7): no lb_kind is
 * NAT, a bare persistence_timeout is 360 s, weight 1, delay_loop 60 s,
 * connect_timeout 5 s, retry 1 (0 for MISC_CHECK), delay_before_retry 3 s for
 * HTTP_GET/SSL_GET and 1 s otherwise.
 */
import {
  SCHEDULERS,
  isL4,
  type HealthCheck,
  type Installation,
  type InstallationInput,
  type L4Mode,
  type NormalizedService,
  type Scheduler,
  type VrrpInstance,
} from '../model.js';
import { addressOf, cidrContains, intToIpv4, ipv4ToInt, isIPv4, isIPv4Cidr, prefixOf } from '../net.js';
import { normalize } from '../normalize.js';
import type { Problem, SourcePosition } from '../problems.js';
import { SEND_EXPECT_SCRIPT_PATH } from '../render/check-scripts.js';
import { checkPort, effectiveVrrp, expectArg, sorryPort, unicastPair } from '../render/keepalived.js';
import { lexKeepalived, type Token } from './keepalived-lexer.js';
import { finishParse, positioned, type ParseOptions, type ParseResult } from './types.js';

/** One statement: its words, and the statements of its block when it opens one. */
interface Stmt {
  words: Token[];
  children?: Stmt[];
}

const MAX_INCLUDE_DEPTH = 8;
const MAX_PROBLEMS = 200;

/** Keywords keepalived knows that change nothing the model describes: read without a word. */
const QUIET = new Set([
  'enable_script_security',
  'script_user',
  'max_auto_priority',
  'vrrp_skip_check_adv_addr',
  'vrrp_strict',
  'vrrp_garp_interval',
  'vrrp_gna_interval',
  'notification_email',
  'notification_email_from',
  'smtp_server',
  'smtp_connect_timeout',
  'smtp_alert',
  'smtp_alert_vrrp',
  'smtp_alert_checker',
  'snmp_name',
  'alpha',
  'omega',
  'warmup',
  'log_all_failures',
  'http_protocol',
  'fast_recovery',
  'garp_master_delay',
  'garp_master_repeat',
  'garp_master_refresh',
  'garp_lower_prio_delay',
  'dont_track_primary',
  'debug',
]);

/** Keywords keepalived knows whose meaning the model cannot hold: read, and a warning says so. */
const NOT_IMPORTED = new Set([
  'vrrp_script',
  'track_script',
  'track_interface',
  'track_file',
  'track_process',
  'vrrp_track_process',
  'vrrp_track_file',
  'notify',
  'notify_master',
  'notify_backup',
  'notify_fault',
  'notify_stop',
  'notify_up',
  'notify_down',
  'quorum',
  'quorum_up',
  'quorum_down',
  'hysteresis',
  'static_ipaddress',
  'static_routes',
  'static_rules',
  'virtual_routes',
  'virtual_rules',
  'virtual_ipaddress_excluded',
  'preempt_delay',
  'mcast_src_ip',
  'uthreshold',
  'lthreshold',
  'ha_suspend',
  'sorry_server_inhibit',
  'sorry_server_lvs_method',
  'persistence_engine',
  'ops',
  'bindto',
  'bind_port',
  'bind_if',
  'connect_ip',
  'regex',
  'regex_no_match',
  'misc_dynamic',
  'user',
  'SMTP_CHECK',
  'DNS_CHECK',
  'BFD_CHECK',
  'UDP_CHECK',
  'PING_CHECK',
  'FILE_CHECK',
  'linkbeat_use_polling',
  'net_namespace',
  'instance',
  'lvs_id',
]);

class Ctx {
  readonly problems: Problem[] = [];
  constructor(readonly opts: ParseOptions) {}
  pos(t: Token): SourcePosition {
    return { file: t.file, line: t.line, column: t.column };
  }
  error(t: Token, message: string, hint?: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(positioned('error', this.pos(t), message, hint));
  }
  warn(t: Token, message: string, hint?: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(positioned('warning', this.pos(t), message, hint));
  }
  get failed(): boolean {
    return this.problems.some((p) => p.severity === 'error');
  }
  /** A keyword read but not handled: quiet, "not imported", or unknown. */
  other(s: Stmt, where: string): void {
    const k = s.words[0]!;
    if (QUIET.has(k.text)) return;
    if (NOT_IMPORTED.has(k.text)) this.warn(k, `${k.text} (in ${where}) is not imported: the lvs-toolkit model has no place for it`);
    else this.warn(k, `unknown keyword "${k.text}" in ${where}`, 'check the spelling against keepalived.conf(5)');
  }
}

/** Group tokens into statements and blocks, splicing includes in. */
function buildTree(ctx: Ctx, rootTokens: Token[]): Stmt[] {
  const root: Stmt[] = [];
  const stack: { list: Stmt[]; opener?: Token }[] = [{ list: root }];
  const warnedLines = new Set<string>();
  const oneLine = (t: Token): void => {
    const key = `${t.file}:${t.line}`;
    if (warnedLines.has(key)) return;
    warnedLines.add(key);
    ctx.warn(
      t,
      'several statements on one line: keepalived 2.2.7 silently mis-parses one-line blocks (it drops or merges the statements after "{")',
      'put each statement and each "}" on its own line',
    );
  };

  const feed = (tokens: Token[], depth: number): void => {
    let words: Token[] = [];
    let lineKey = '';
    let lineHadBlock = false;
    const flush = (): void => {
      if (words.length === 0) return;
      const w = words;
      words = [];
      if (w[0]!.text === 'include' && !w[0]!.quoted) {
        include(w, depth);
        return;
      }
      stack[stack.length - 1]!.list.push({ words: w });
    };
    for (const t of tokens) {
      const key = `${t.file}:${t.line}`;
      if (key !== lineKey) {
        flush();
        lineKey = key;
        lineHadBlock = false;
      }
      if (t.kind === 'word') {
        if (lineHadBlock) oneLine(t);
        words.push(t);
        continue;
      }
      if (t.kind === 'open') {
        if (words.length === 0) {
          ctx.error(t, '"{" without a keyword before it on the same line');
          stack.push({ list: [], opener: t });
          continue;
        }
        if (lineHadBlock) oneLine(t);
        const stmt: Stmt = { words, children: [] };
        words = [];
        stack[stack.length - 1]!.list.push(stmt);
        stack.push({ list: stmt.children!, opener: stmt.words[0]! });
        lineHadBlock = true;
        continue;
      }
      if (words.length > 0) {
        oneLine(t);
        flush();
      }
      if (stack.length === 1) ctx.error(t, 'unmatched "}": no block is open here');
      else stack.pop();
      lineHadBlock = true;
    }
    flush();
  };

  const include = (w: Token[], depth: number): void => {
    const kw = w[0]!;
    const pattern = w[1];
    if (!pattern) {
      ctx.error(kw, 'include needs a file name or glob pattern');
      return;
    }
    if (!ctx.opts.resolveInclude) {
      ctx.warn(kw, `include ${pattern.text} was not read: no way to read files was given to the parser`);
      return;
    }
    if (depth >= MAX_INCLUDE_DEPTH) {
      ctx.error(kw, `include ${pattern.text}: includes nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
      return;
    }
    const files = ctx.opts.resolveInclude(pattern.text, kw.file);
    if (files.length === 0) ctx.warn(pattern, `include ${pattern.text} matched no file`);
    for (const f of files) {
      const lexed = lexKeepalived(f.text, f.path);
      ctx.problems.push(...lexed.problems);
      feed(lexed.tokens, depth + 1);
    }
  };

  feed(rootTokens, 0);
  for (let i = stack.length - 1; i >= 1; i--) {
    const opener = stack[i]!.opener!;
    ctx.error(opener, `block "${opener.text}" is never closed: "}" missing (truncated file?)`);
  }
  return root;
}

// ---------------------------------------------------------------- values

function int(ctx: Ctx, s: Stmt, index: number, min: number, max: number): number | undefined {
  const t = s.words[index];
  if (!t) {
    ctx.error(s.words[0]!, `${s.words[0]!.text} needs a value`);
    return undefined;
  }
  if (!/^\d+$/.test(t.text) || Number(t.text) < min || Number(t.text) > max) {
    ctx.error(t, `${s.words[0]!.text}: expected a whole number ${min}..${max}, got "${t.text}"`);
    return undefined;
  }
  return Number(t.text);
}

function timer(ctx: Ctx, s: Stmt): number | undefined {
  const t = s.words[1];
  if (!t) {
    ctx.error(s.words[0]!, `${s.words[0]!.text} needs a number of seconds`);
    return undefined;
  }
  if (!/^\d+(\.\d+)?$/.test(t.text)) {
    ctx.error(t, `${s.words[0]!.text}: expected seconds like 3 or 0.5, got "${t.text}"`);
    return undefined;
  }
  return Number(t.text);
}

function ip(ctx: Ctx, t: Token | undefined, at: Token, what: string): string | undefined {
  if (!t) {
    ctx.error(at, `${what}: an IPv4 address is missing`);
    return undefined;
  }
  if (!isIPv4(t.text)) {
    ctx.error(t, `${what}: "${t.text}" is not an IPv4 address (expected like 10.0.0.1)`);
    return undefined;
  }
  return t.text;
}

function extraWords(ctx: Ctx, s: Stmt, allowed: number): void {
  const extra = s.words[allowed];
  if (extra) ctx.warn(extra, `${s.words[0]!.text}: unexpected "${extra.text}" is ignored`);
}

// ---------------------------------------------------------------- VRRP

interface ParsedInstance {
  at: Token;
  name: string;
  state?: 'MASTER' | 'BACKUP';
  iface?: string;
  vrid?: number;
  priority?: number;
  advertInt?: number;
  version?: 2 | 3;
  nopreempt: boolean;
  auth?: { type: 'PASS' | 'AH'; password: string };
  src?: string;
  peers: string[];
  addresses: { address: string; interface?: string }[];
}

function parseInstance(ctx: Ctx, s: Stmt): ParsedInstance {
  const at = s.words[0]!;
  const inst: ParsedInstance = { at, name: s.words[1]?.text ?? '', nopreempt: false, peers: [], addresses: [] };
  if (!s.words[1]) ctx.error(at, 'vrrp_instance needs a name');
  for (const c of s.children ?? []) {
    const k = c.words[0]!;
    switch (k.text) {
      case 'state': {
        const v = c.words[1]?.text;
        if (v === 'MASTER' || v === 'BACKUP') inst.state = v;
        else ctx.error(c.words[1] ?? k, `state: expected MASTER or BACKUP, got "${v ?? ''}"`);
        break;
      }
      case 'interface':
        if (c.words[1]) inst.iface = c.words[1].text;
        else ctx.error(k, 'interface needs a name');
        break;
      case 'virtual_router_id':
        inst.vrid = int(ctx, c, 1, 1, 255);
        break;
      case 'priority':
        inst.priority = int(ctx, c, 1, 1, 255);
        break;
      case 'advert_int':
        inst.advertInt = timer(ctx, c);
        break;
      case 'version': {
        const v = int(ctx, c, 1, 2, 3);
        if (v === 2 || v === 3) inst.version = v;
        break;
      }
      case 'nopreempt':
        inst.nopreempt = true;
        break;
      case 'preempt':
        break;
      case 'authentication': {
        let type: string | undefined;
        let password: string | undefined;
        for (const a of c.children ?? []) {
          if (a.words[0]!.text === 'auth_type') type = a.words[1]?.text;
          else if (a.words[0]!.text === 'auth_pass') password = a.words[1]?.text;
          else ctx.other(a, 'authentication');
        }
        if ((type === 'PASS' || type === 'AH') && password !== undefined) inst.auth = { type, password };
        else ctx.error(k, 'authentication needs auth_type PASS|AH and auth_pass');
        break;
      }
      case 'unicast_src_ip':
        inst.src = ip(ctx, c.words[1], k, 'unicast_src_ip');
        break;
      case 'unicast_peer':
        for (const p of c.children ?? []) {
          const a = ip(ctx, p.words[0], p.words[0]!, 'unicast_peer');
          if (a) inst.peers.push(a);
        }
        break;
      case 'virtual_ipaddress':
        for (const a of c.children ?? []) {
          const entry = parseVip(ctx, a);
          if (entry) inst.addresses.push(entry);
        }
        break;
      default:
        ctx.other(c, `vrrp_instance ${inst.name}`);
    }
  }
  if (!inst.iface) ctx.error(at, `vrrp_instance ${inst.name}: no interface`);
  if (inst.vrid === undefined) ctx.error(at, `vrrp_instance ${inst.name}: no virtual_router_id`);
  if (inst.addresses.length === 0) ctx.error(at, `vrrp_instance ${inst.name}: no virtual_ipaddress`);
  return inst;
}

function parseVip(ctx: Ctx, s: Stmt): { address: string; interface?: string } | undefined {
  const t = s.words[0]!;
  if (!isIPv4(t.text) && !isIPv4Cidr(t.text)) {
    ctx.error(t, `virtual_ipaddress: "${t.text}" is not an IPv4 address (expected 10.0.0.1 or 10.0.0.1/24)`);
    return undefined;
  }
  let iface: string | undefined;
  for (let i = 1; i < s.words.length; i++) {
    const w = s.words[i]!;
    if (w.text === 'dev' && s.words[i + 1]) {
      iface = s.words[++i]!.text;
    } else if (['brd', 'scope', 'label', 'broadcast'].includes(w.text) && s.words[i + 1]) {
      ctx.warn(w, `virtual_ipaddress ${w.text} is not imported: the model has no place for it`);
      i++;
    } else {
      ctx.warn(w, `virtual_ipaddress: unknown option "${w.text}"`);
    }
  }
  return { address: t.text, ...(iface !== undefined ? { interface: iface } : {}) };
}

// ---------------------------------------------------------------- IPVS

interface Timers {
  delayLoop?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
}

interface ParsedCheck {
  at: Token;
  check: HealthCheck;
  /** The checker's port argument (send/expect) to compare with the server's. */
  timers: Timers;
  kind: 'tcp' | 'http' | 'misc' | 'none';
}

interface ParsedRs {
  at: Token;
  address: string;
  port: number;
  weight: number;
  inhibit: boolean;
  check?: ParsedCheck;
  timers: Timers;
}

interface ParsedVs {
  at: Token;
  /** What the service is keyed by: an address and port, or a firewall mark. */
  keys: ({ kind: 'ip'; vip: string; port: number } | { kind: 'fwmark'; mark: number })[];
  scheduler: Scheduler;
  mode: L4Mode;
  protocol: 'tcp' | 'udp';
  persistence?: { timeout: number; netmask?: string };
  sorry?: { address: string; port?: number };
  timers: Timers;
  inhibit: boolean;
  realServers: ParsedRs[];
}

function readTimer(ctx: Ctx, s: Stmt, t: Timers): boolean {
  switch (s.words[0]!.text) {
    case 'delay_loop':
      t.delayLoop = timer(ctx, s);
      return true;
    case 'connect_timeout':
      t.connectTimeout = timer(ctx, s);
      return true;
    case 'retry':
    case 'nb_get_retry':
    case 'nb_sock_retry':
      t.retry = int(ctx, s, 1, 0, 100);
      return true;
    case 'delay_before_retry':
      t.delayBeforeRetry = timer(ctx, s);
      return true;
    default:
      return false;
  }
}

/** Split a script command line the way keepalived does: spaces separate, single quotes group, backslash escapes. */
export function splitScriptCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let inQuote = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i]!;
      has = true;
    } else if (c === "'") {
      inQuote = !inQuote;
      has = true;
    } else if (!inQuote && /\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Undo encodePrintfB: the escapes `printf %b` understands that the renderer writes. */
export function decodePrintfB(s: string): string {
  return s.replace(/\\(0[0-7]{0,3}|[\\rnt])/g, (_m, e: string) => {
    switch (e) {
      case '\\':
        return '\\';
      case 'r':
        return '\r';
      case 'n':
        return '\n';
      case 't':
        return '\t';
      default:
        return String.fromCharCode(parseInt(e.slice(1) || '0', 8));
    }
  });
}

function parseChecker(ctx: Ctx, s: Stmt): ParsedCheck | undefined {
  const k = s.words[0]!;
  const timers: Timers = {};
  switch (k.text) {
    case 'TCP_CHECK': {
      let port: number | undefined;
      for (const c of s.children ?? []) {
        if (readTimer(ctx, c, timers)) continue;
        if (c.words[0]!.text === 'connect_port') port = int(ctx, c, 1, 1, 65535);
        else ctx.other(c, 'TCP_CHECK');
      }
      return { at: k, kind: 'tcp', timers, check: { type: 'tcp', ...(port !== undefined ? { port } : {}) } };
    }
    case 'HTTP_GET':
    case 'SSL_GET': {
      let port: number | undefined;
      let virtualhost: string | undefined;
      let path: string | undefined;
      let status: number | undefined;
      let digest: string | undefined;
      let urls = 0;
      for (const c of s.children ?? []) {
        if (readTimer(ctx, c, timers)) continue;
        const w = c.words[0]!;
        if (w.text === 'connect_port') port = int(ctx, c, 1, 1, 65535);
        else if (w.text === 'virtualhost') virtualhost = c.words[1]?.text;
        else if (w.text === 'url') {
          if (++urls > 1) {
            ctx.warn(w, 'only the first url of a checker is imported');
            continue;
          }
          for (const u of c.children ?? []) {
            const uk = u.words[0]!;
            if (uk.text === 'path') path = u.words[1]?.text;
            else if (uk.text === 'status_code') {
              if (u.words[1] && /^\d{3}$/.test(u.words[1].text)) status = Number(u.words[1].text);
              else ctx.warn(u.words[1] ?? uk, 'status_code ranges and lists are not imported; the default 200-299 stands');
              extraWords(ctx, u, 2);
            } else if (uk.text === 'digest') {
              if (u.words[1] && /^[0-9a-f]{32}$/.test(u.words[1].text)) digest = u.words[1].text;
              else ctx.error(u.words[1] ?? uk, 'digest: expected 32 lowercase hex digits (md5)');
            } else if (uk.text === 'virtualhost') virtualhost = u.words[1]?.text;
            else ctx.other(u, 'url');
          }
        } else ctx.other(c, k.text);
      }
      if (path === undefined || !path.startsWith('/')) {
        ctx.error(k, `${k.text} needs url { path /... }`);
        return undefined;
      }
      const check: HealthCheck = {
        type: k.text === 'HTTP_GET' ? 'http' : 'https',
        path,
        ...(status !== undefined ? { status } : {}),
        ...(digest !== undefined ? { digest } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(virtualhost !== undefined ? { virtualhost } : {}),
      };
      return { at: k, kind: 'http', timers, check };
    }
    case 'MISC_CHECK': {
      let path: string | undefined;
      let miscTimeout: number | undefined;
      for (const c of s.children ?? []) {
        if (readTimer(ctx, c, timers)) continue;
        const w = c.words[0]!;
        if (w.text === 'misc_path') path = c.words.slice(1).map((x) => x.text).join(' ');
        else if (w.text === 'misc_timeout') miscTimeout = int(ctx, c, 1, 1, 86400);
        else ctx.other(c, 'MISC_CHECK');
      }
      if (!path) {
        ctx.error(k, 'MISC_CHECK needs misc_path');
        return undefined;
      }
      const argv = splitScriptCommand(path);
      if (argv[0] === SEND_EXPECT_SCRIPT_PATH && argv.length >= 6 && /^\d+$/.test(argv[2]!) && /^\d+(\.\d+)?$/.test(argv[3]!)) {
        timers.connectTimeout = Number(argv[3]);
        return {
          at: k,
          kind: 'misc',
          timers,
          check: { type: 'send-expect', send: decodePrintfB(argv[4]!), expect: argv[5]!, regex: argv[6] === 'regex', port: Number(argv[2]) },
        };
      }
      if (miscTimeout !== undefined) timers.connectTimeout = miscTimeout;
      return { at: k, kind: 'misc', timers, check: { type: 'script', command: path } };
    }
    default:
      return undefined;
  }
}

const CHECKERS = new Set(['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK']);

function parseRealServer(ctx: Ctx, s: Stmt, fwmark: boolean, defaultPort: number): ParsedRs | undefined {
  const k = s.words[0]!;
  const address = ip(ctx, s.words[1], k, 'real_server');
  const port = s.words[2] ? int(ctx, s, 2, 0, 65535) : fwmark ? 0 : defaultPort;
  if (address === undefined || port === undefined) return undefined;
  const rs: ParsedRs = { at: k, address, port, weight: 1, inhibit: false, timers: {} };
  for (const c of s.children ?? []) {
    const w = c.words[0]!;
    if (readTimer(ctx, c, rs.timers)) continue;
    if (w.text === 'weight') rs.weight = int(ctx, c, 1, 0, 65535) ?? 1;
    else if (w.text === 'inhibit_on_failure') rs.inhibit = c.words[1]?.text !== 'false' && c.words[1]?.text !== 'no';
    else if (CHECKERS.has(w.text)) {
      const check = parseChecker(ctx, c);
      if (rs.check) ctx.warn(w, `only the first health checker of real_server ${address} is imported`);
      else if (check) rs.check = check;
    } else ctx.other(c, `real_server ${address}`);
  }
  return rs;
}

const KINDS: Record<string, L4Mode> = { NAT: 'nat', DR: 'dr', TUN: 'tun' };

function parseVirtualServer(ctx: Ctx, s: Stmt, groups: Map<string, ParsedVs['keys']>): ParsedVs | undefined {
  const k = s.words[0]!;
  let keys: ParsedVs['keys'];
  const a = s.words[1];
  if (a?.text === 'fwmark') {
    const mark = int(ctx, s, 2, 1, 4294967295);
    if (mark === undefined) return undefined;
    keys = [{ kind: 'fwmark', mark }];
  } else if (a?.text === 'group') {
    const g = s.words[2] ? groups.get(s.words[2].text) : undefined;
    if (!g) {
      ctx.error(s.words[2] ?? a, `virtual_server group: no virtual_server_group named "${s.words[2]?.text ?? ''}" before this line`);
      return undefined;
    }
    keys = g;
  } else {
    const vip = ip(ctx, a, k, 'virtual_server');
    const port = s.words[2] ? int(ctx, s, 2, 1, 65535) : undefined;
    if (!s.words[2]) ctx.error(a ?? k, 'virtual_server needs a port after the address');
    if (vip === undefined || port === undefined) return undefined;
    keys = [{ kind: 'ip', vip, port }];
  }
  const fw = keys.some((x) => x.kind === 'fwmark');
  const firstPort = keys.find((x) => x.kind === 'ip')?.kind === 'ip' ? (keys.find((x) => x.kind === 'ip') as { port: number }).port : 0;
  const vs: ParsedVs = { at: k, keys, scheduler: 'wlc', mode: 'nat', protocol: 'tcp', timers: {}, inhibit: false, realServers: [] };
  for (const c of s.children ?? []) {
    const w = c.words[0]!;
    if (readTimer(ctx, c, vs.timers)) continue;
    switch (w.text) {
      case 'lb_algo':
      case 'lvs_sched': {
        const v = c.words[1]?.text ?? '';
        if ((SCHEDULERS as readonly string[]).includes(v)) vs.scheduler = v as Scheduler;
        else ctx.error(c.words[1] ?? w, `${w.text}: unknown scheduler "${v}" (expected one of ${SCHEDULERS.join(', ')})`);
        break;
      }
      case 'lb_kind':
      case 'lvs_method': {
        const m = KINDS[c.words[1]?.text ?? ''];
        if (m) vs.mode = m;
        else ctx.error(c.words[1] ?? w, `${w.text}: expected NAT, DR or TUN, got "${c.words[1]?.text ?? ''}"`);
        if (c.words[2]) ctx.warn(c.words[2], `${w.text}: tunnel options are not imported (ipip is assumed)`);
        break;
      }
      case 'protocol': {
        const p = c.words[1]?.text;
        if (p === 'TCP' || p === 'UDP') vs.protocol = p === 'TCP' ? 'tcp' : 'udp';
        else if (p === 'SCTP') ctx.warn(c.words[1]!, 'SCTP services are not imported as such: the model knows tcp and udp');
        else ctx.error(c.words[1] ?? w, `protocol: expected TCP or UDP, got "${p ?? ''}"`);
        break;
      }
      case 'persistence_timeout': {
        // keepalived.conf(5): "LVS persistence timeout in seconds, default 6 minutes".
        const timeout = c.words[1] ? int(ctx, c, 1, 1, 2678400) : 360;
        if (timeout !== undefined) vs.persistence = { ...vs.persistence, timeout };
        break;
      }
      case 'persistence_granularity': {
        const m = ip(ctx, c.words[1], w, 'persistence_granularity');
        if (m) vs.persistence = { timeout: vs.persistence?.timeout ?? 360, netmask: m };
        break;
      }
      case 'sorry_server': {
        const addr = ip(ctx, c.words[1], w, 'sorry_server');
        const port = c.words[2] ? int(ctx, c, 2, 0, 65535) : undefined;
        if (addr) vs.sorry = { address: addr, ...(port ? { port } : {}) };
        break;
      }
      case 'inhibit_on_failure':
        vs.inhibit = true;
        break;
      case 'real_server': {
        const rs = parseRealServer(ctx, c, fw, firstPort);
        if (rs) vs.realServers.push(rs);
        break;
      }
      default:
        ctx.other(c, 'virtual_server');
    }
  }
  return vs;
}

function parseGroup(ctx: Ctx, s: Stmt): ParsedVs['keys'] {
  const keys: ParsedVs['keys'] = [];
  for (const c of s.children ?? []) {
    const w = c.words[0]!;
    if (w.text === 'fwmark') {
      const mark = int(ctx, c, 1, 1, 4294967295);
      if (mark !== undefined) keys.push({ kind: 'fwmark', mark });
      continue;
    }
    // "192.168.50.10-11 80": a range in the last octet, one IPVS service per address.
    const m = /^([\d.]+?)(?:-(\d{1,3}))?(?:\/\d+)?$/.exec(w.text);
    const port = c.words[1] ? int(ctx, c, 1, 1, 65535) : undefined;
    if (!c.words[1]) ctx.error(w, 'virtual_server_group entry needs a port after the address');
    if (!m || !isIPv4(m[1]!)) {
      ctx.error(w, `virtual_server_group: "${w.text}" is not an IPv4 address or range (expected 10.0.0.1 or 10.0.0.1-9)`);
      continue;
    }
    if (port === undefined) continue;
    const start = ipv4ToInt(m[1]!);
    const lastOctet = start & 255;
    const end = m[2] !== undefined ? Number(m[2]) : lastOctet;
    if (end < lastOctet || end > 255) {
      ctx.error(w, `virtual_server_group: range end ${end} must be between ${lastOctet} and 255`);
      continue;
    }
    for (let o = lastOctet; o <= end; o++) keys.push({ kind: 'ip', vip: intToIpv4(start - lastOctet + o), port });
  }
  return keys;
}

// ---------------------------------------------------------------- model

/** keepalived's checker defaults (keepalived.conf(5)). */
function checkerDefaults(kind: ParsedCheck['kind'] | undefined): { retry: number; delayBeforeRetry: number } {
  return { retry: kind === 'misc' ? 0 : 1, delayBeforeRetry: kind === 'http' ? 3 : 1 };
}

/** Names for imported services: what keepalived keys them by. */
export function keepalivedServiceName(fwmark: number | undefined, protocol: string, vip: string, port: number): string {
  return fwmark !== undefined ? `fwmark-${fwmark}` : `${protocol}-${vip}-${port}`;
}

/**
 * The NAT gateway among the floating addresses: not a service VIP, with a
 * prefix whose subnet holds a NAT real server (Piranha's nat_router).
 */
export function findNatRouter(
  instances: readonly { interface: string; addresses: readonly { address: string; interface?: string }[] }[],
  vips: ReadonlySet<string>,
  services: readonly { mode: string; realServers: readonly { address: string }[] }[],
): { address: string; interface: string } | undefined {
  for (const inst of instances) {
    for (const a of inst.addresses) {
      if (vips.has(addressOf(a.address)) || !isIPv4Cidr(a.address) || prefixOf(a.address) === 32) continue;
      const holds = services.some((s) => s.mode === 'nat' && s.realServers.some((r) => cidrContains(a.address, r.address)));
      if (holds) return { address: a.address, interface: a.interface ?? inst.interface };
    }
  }
  return undefined;
}

/** The address a fwmark service is given: keepalived.conf does not say it, the floating addresses do. */
function fwmarkVip(
  instances: readonly { addresses: readonly { address: string }[] }[],
  ipVips: ReadonlySet<string>,
  natRouter: string | undefined,
): string | undefined {
  const all = instances.flatMap((i) => i.addresses.map((a) => addressOf(a.address))).filter((a) => a !== natRouter);
  return all.find((a) => !ipVips.has(a)) ?? all[0];
}

/** The interfaces an imported director is known to have: the instances' and those named by `dev`. */
function directorInterfaces(instances: readonly { interface: string; addresses: readonly { interface?: string }[] }[]): string[] {
  const names: string[] = [];
  for (const i of instances) if (!names.includes(i.interface)) names.push(i.interface);
  for (const i of instances) for (const a of i.addresses) if (a.interface && !names.includes(a.interface)) names.push(a.interface);
  return names.length > 0 ? names : ['eth0'];
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Read a keepalived.conf (and what it includes) into the model. Never
 * throws: problems carry file, line and column.
 */
/**
 * keepalived.conf does not say which address, ports and protocol a
 * `virtual_server fwmark N` stands for (the firewall's marking rule does).
 * Our renderer states them in a comment line just for this:
 * `! lvs-toolkit fwmark N: tcp 10.0.0.100 ports 80,443`; read it back when present.
 */
export const FWMARK_NOTE_RE = /^[ \t]*! lvs-toolkit fwmark (\d+): (tcp|udp) (\d+\.\d+\.\d+\.\d+) ports (\d+(?:,\d+)*)[ \t]*$/gm;

export interface FwmarkNote {
  protocol: 'tcp' | 'udp';
  vip: string;
  ports: number[];
}

function fwmarkNotes(text: string): Map<number, FwmarkNote> {
  const notes = new Map<number, FwmarkNote>();
  for (const m of text.matchAll(FWMARK_NOTE_RE)) {
    notes.set(Number(m[1]), { protocol: m[2] as 'tcp' | 'udp', vip: m[3]!, ports: m[4]!.split(',').map(Number) });
  }
  return notes;
}

export function parseKeepalived(text: string, opts: ParseOptions): ParseResult {
  const ctx = new Ctx(opts);
  const notes = fwmarkNotes(text);
  const lexed = lexKeepalived(text, opts.file);
  ctx.problems.push(...lexed.problems);
  if (ctx.failed) return { ok: false, problems: ctx.problems };
  const tree = buildTree(ctx, lexed.tokens);
  if (ctx.failed) return { ok: false, problems: ctx.problems };

  let routerId: Token | undefined;
  let globalVersion: 2 | 3 | undefined;
  let sync: { iface: string; instance: string; id?: number; at: Token } | undefined;
  const instances: ParsedInstance[] = [];
  const groups = new Map<string, ParsedVs['keys']>();
  const servers: ParsedVs[] = [];
  const syncGroups: { at: Token; members: Token[] }[] = [];
  const first = tree[0]?.words[0] ?? { text: '', kind: 'word', quoted: false, file: opts.file, line: 1, column: 1 };

  for (const s of tree) {
    const k = s.words[0]!;
    switch (k.text) {
      case 'global_defs':
        for (const c of s.children ?? []) {
          const w = c.words[0]!;
          if (w.text === 'router_id') routerId = c.words[1];
          else if (w.text === 'vrrp_version') {
            const v = int(ctx, c, 1, 2, 3);
            if (v === 2 || v === 3) globalVersion = v;
          } else if (w.text === 'lvs_sync_daemon') {
            const iface = c.words[1]?.text;
            const instance = c.words[2]?.text;
            if (!iface || !instance) ctx.error(w, 'lvs_sync_daemon needs INTERFACE VRRP_INSTANCE');
            else {
              const idAt = c.words.findIndex((x) => x.text === 'id');
              const id = idAt > 0 ? int(ctx, c, idAt + 1, 0, 255) : undefined;
              sync = { iface, instance, ...(id !== undefined ? { id } : {}), at: w };
            }
          } else ctx.other(c, 'global_defs');
        }
        break;
      case 'vrrp_instance':
        instances.push(parseInstance(ctx, s));
        break;
      case 'vrrp_sync_group': {
        const members: Token[] = [];
        for (const c of s.children ?? []) {
          if (c.words[0]!.text === 'group') for (const m of c.children ?? []) members.push(...m.words);
          else ctx.other(c, 'vrrp_sync_group');
        }
        syncGroups.push({ at: k, members });
        break;
      }
      case 'virtual_server_group':
        if (!s.words[1]) ctx.error(k, 'virtual_server_group needs a name');
        else groups.set(s.words[1].text, parseGroup(ctx, s));
        break;
      case 'virtual_server': {
        const vs = parseVirtualServer(ctx, s, groups);
        if (vs) servers.push(vs);
        break;
      }
      default:
        ctx.other(s, 'the top level');
    }
  }
  for (const g of syncGroups) {
    for (const m of g.members) {
      if (!instances.some((i) => i.name === m.text)) ctx.error(m, `vrrp_sync_group: no vrrp_instance named "${m.text}"`);
    }
  }
  if (sync && !instances.some((i) => i.name === sync!.instance)) ctx.error(sync.at, `lvs_sync_daemon: no vrrp_instance named "${sync.instance}"`);
  if (ctx.failed) return { ok: false, problems: ctx.problems };

  // Real servers are named in order of first appearance; one address, one name.
  const rsNames = new Map<string, string>();
  const rsName = (a: string): string => {
    let n = rsNames.get(a);
    if (!n) rsNames.set(a, (n = `rs${rsNames.size + 1}`));
    return n;
  };

  const modelInstances = instances.map((i) => ({
    name: i.name,
    vrid: i.vrid ?? 0,
    interface: i.iface ?? 'eth0',
    addresses: i.addresses,
  }));
  type Svc = NonNullable<InstallationInput['services']>[number];
  const services: (Svc & { vip: string; mode: L4Mode; realServers: { address: string; name: string }[] })[] = [];
  const usedNames = new Set<string>();
  const ipVips = new Set(servers.flatMap((v) => v.keys.flatMap((x) => (x.kind === 'ip' ? [x.vip] : []))));
  const natRouter = findNatRouter(modelInstances, ipVips, servers);

  for (const vs of servers) {
    const first = vs.realServers[0];
    const pc = first?.check;
    for (const r of vs.realServers.slice(1)) {
      if (JSON.stringify(r.check?.check) !== JSON.stringify(pc?.check) && !(pc?.check.type === 'send-expect' && r.check?.check.type === 'send-expect')) {
        ctx.warn(r.at, `real_server ${r.address}: its health check differs from the first real server's; the model keeps one check per service (the first)`);
      }
    }
    const t = { ...vs.timers, ...first?.timers, ...pc?.timers };
    const d = checkerDefaults(pc?.kind);
    const checkTimers = {
      delayLoop: t.delayLoop ?? 60,
      connectTimeout: t.connectTimeout ?? (pc?.kind === 'misc' ? (t.delayLoop ?? 60) : 5),
      retry: t.retry ?? d.retry,
      delayBeforeRetry: t.delayBeforeRetry ?? d.delayBeforeRetry,
    };
    let healthCheck: HealthCheck = pc?.check ?? { type: 'none' };
    if (healthCheck.type === 'send-expect' && first) {
      const own = first.port !== 0 ? first.port : undefined;
      if (healthCheck.port === own) {
        const { port: _p, ...rest } = healthCheck;
        healthCheck = rest;
      }
    }
    for (const key of vs.keys) {
      const realServers = vs.realServers.map((r) => ({ name: rsName(r.address), address: r.address, port: r.port, weight: r.weight }));
      let vip: string;
      let ports: number[];
      let fwmark: number | undefined;
      if (key.kind === 'ip') {
        vip = key.vip;
        ports = [key.port];
      } else if (notes.has(key.mark) && isIPv4(notes.get(key.mark)!.vip)) {
        fwmark = key.mark;
        vip = notes.get(key.mark)!.vip;
        ports = notes.get(key.mark)!.ports;
      } else {
        fwmark = key.mark;
        const v = fwmarkVip(modelInstances, ipVips, natRouter?.address ? addressOf(natRouter.address) : undefined);
        ports = [...new Set(vs.realServers.map((r) => r.port).filter((p) => p !== 0))].sort((x, y) => x - y);
        if (!v || ports.length === 0) {
          ctx.error(
            vs.at,
            `virtual_server fwmark ${key.mark}: keepalived.conf does not say ${!v ? 'which address' : 'which ports'} the mark stands for`,
            !v ? 'add the VIP to a vrrp_instance virtual_ipaddress' : 'give the real servers the port they serve',
          );
          continue;
        }
        vip = v;
      }
      const protocol = fwmark !== undefined ? (notes.get(fwmark)?.protocol ?? 'tcp') : vs.protocol;
      let name = keepalivedServiceName(fwmark, protocol, vip, ports[0]!);
      for (let n = 2; usedNames.has(name); n++) name = `${keepalivedServiceName(fwmark, protocol, vip, ports[0]!)}-${n}`;
      usedNames.add(name);
      services.push({
        name,
        vip,
        protocol,
        ports,
        ...(fwmark !== undefined ? { fwmark } : {}),
        scheduler: vs.scheduler,
        ...(vs.persistence ? { persistence: vs.persistence } : {}),
        mode: vs.mode,
        realServers,
        healthCheck,
        checkTimers,
        ...(vs.sorry ? { sorryServer: fwmark !== undefined ? { address: vs.sorry.address } : vs.sorry } : {}),
        quiescent: vs.inhibit || vs.realServers.some((r) => r.inhibit),
      });
    }
  }
  if (services.length === 0 && !ctx.failed) {
    ctx.error(
      first,
      'no virtual_server: this keepalived.conf only floats addresses, and the model needs at least one service',
      'a layer-7 balancer (nginx, HAProxy) describes its services in its own file: import that one',
    );
  }
  if (ctx.failed) return { ok: false, problems: ctx.problems };

  const name = routerId && NODE_NAME.test(routerId.text) ? routerId.text : 'dir1';
  if (routerId && name !== routerId.text) ctx.warn(routerId, `router_id "${routerId.text}" is not a usable node name; the director is called dir1`);
  const main = instances[0];
  const ifaces = directorInterfaces(modelInstances);
  const input: InstallationInput = {
    manager: 'keepalived',
    directors: [],
    services,
    ...(natRouter ? { natRouter } : {}),
  };
  if (!main) {
    input.directors = [{ name, interfaces: ifaces.map((n) => ({ name: n })) }];
  } else {
    for (const i of instances.slice(1)) {
      if (i.priority !== main.priority || i.state !== main.state) ctx.warn(i.at, `vrrp_instance ${i.name}: its state or priority differs from ${main.name}'s; the model keeps one priority per director`);
    }
    const iface = main.iface ?? 'eth0';
    const me = {
      name,
      interfaces: ifaces.map((n) => ({ name: n, ...(n === iface && main.src ? { address: `${main.src}/32` } : {}) })),
      priority: main.priority ?? 100,
    };
    const peer = main.peers[0];
    if (main.peers.length > 1) ctx.warn(main.at, 'more than one unicast_peer: only the first becomes the second director');
    // The master goes first in the model: a BACKUP that would give way to its peer.
    const peerFirst = peer !== undefined && main.state === 'BACKUP' && !main.nopreempt;
    if (peer === undefined) input.directors = [me];
    else {
      const preferred = peerFirst ? 'dir1' : 'dir2';
      const peerName = preferred === name ? (peerFirst ? 'dir2' : 'dir1') : preferred;
      const other = { name: peerName, interfaces: ifaces.map((n) => ({ name: n, ...(n === iface ? { address: `${peer}/32` } : {}) })) };
      input.directors = peerFirst ? [other, me] : [me, other];
    }
    input.vrrp = {
      version: main.version ?? globalVersion ?? 2,
      advertInt: main.advertInt ?? 1,
      transport: peer !== undefined && main.src !== undefined ? 'unicast' : 'multicast',
      ...(main.auth ? { auth: main.auth } : {}),
      nopreempt: main.nopreempt,
      instances: modelInstances,
      ...(sync ? { syncDaemon: { interface: sync.iface, ...(sync.id !== undefined ? { syncId: sync.id } : {}) } } : {}),
    };
  }
  return finishParse(input, opts.file, ctx.problems);
}

/**
 * What survives model -> keepalived.conf (for `directorName`) -> model: the
 * contract parse(render(m)) deep-equals. Lost on the way: names of the
 * installation, services and real servers (keepalived keys them by address),
 * platforms, real servers' interfaces and gateways, prefixes of the
 * directors' own addresses (unicast_src_ip has none: /32), the peer's name,
 * layer-7 services, ports and protocol of fwmark services (taken from the
 * real servers), firewall, container hosts, Piranha settings and sysctls.
 * Throws when the projection is not a valid model (a service-less
 * installation: keepalived.conf of an nginx pair floats addresses only).
 */
export function projectKeepalived(model: Installation, directorName: string): Installation {
  const index = model.directors.findIndex((d) => d.name === directorName);
  const director = model.directors[index];
  if (!director) throw new RangeError(`no director named "${directorName}"`);
  const vrrp = effectiveVrrp(model);
  const l4 = model.services.filter((s): s is NormalizedService & { mode: L4Mode } => isL4(s.mode));
  const rsNames = new Map<string, string>();
  const rsName = (a: string): string => {
    let n = rsNames.get(a);
    if (!n) rsNames.set(a, (n = `rs${rsNames.size + 1}`));
    return n;
  };
  const instances: VrrpInstance[] = (vrrp?.instances ?? []).map((i) => ({
    name: i.name,
    vrid: i.vrid,
    interface: i.interface,
    addresses: i.addresses.map((a) => (a.interface !== undefined && a.interface !== i.interface ? { address: a.address, interface: a.interface } : { address: a.address })),
  }));
  const ipVips = new Set(l4.filter((s) => s.fwmark === undefined).map((s) => s.vip));
  const natRouter = findNatRouter(instances, ipVips, l4);
  const usedNames = new Set<string>();
  const services = l4.map((s) => {
    const fw = s.fwmark !== undefined;
    // Our renderer notes a fwmark service's VIP, ports and protocol (FWMARK_NOTE_RE).
    const vip = s.vip;
    const ports = fw ? s.ports : [s.ports[0]!];
    const protocol = s.protocol;
    let name = keepalivedServiceName(s.fwmark, protocol, vip, ports[0]!);
    for (let n = 2; usedNames.has(name); n++) name = `${keepalivedServiceName(s.fwmark, protocol, vip, ports[0]!)}-${n}`;
    usedNames.add(name);
    const first = s.realServers[0];
    const t = s.checkTimers;
    const hc = first ? projectCheck(s, first.port) : ({ type: 'none' } as const);
    const checkTimers =
      hc.type === 'none'
        ? { delayLoop: t.delayLoop, connectTimeout: 5, retry: 1, delayBeforeRetry: 1 }
        : hc.type === 'send-expect' || hc.type === 'script'
          ? { ...t, connectTimeout: Math.ceil(t.connectTimeout) }
          : t;
    return {
      name,
      vip,
      protocol,
      ports,
      ...(fw ? { fwmark: s.fwmark } : {}),
      scheduler: s.scheduler,
      ...(s.persistence ? { persistence: s.persistence } : {}),
      mode: s.mode,
      realServers: s.realServers.map((r) => ({ name: rsName(r.address), address: r.address, port: r.port, weight: r.weight })),
      healthCheck: hc,
      checkTimers,
      ...(s.sorryServer ? { sorryServer: fw ? { address: s.sorryServer.address } : { address: s.sorryServer.address, port: sorryPort(s) } } : {}),
      quiescent: s.quiescent && s.realServers.length > 0,
    };
  });
  const ifaces = directorInterfaces(instances);
  const input: InstallationInput = { manager: 'keepalived', directors: [], services, ...(natRouter ? { natRouter } : {}) };
  const main = instances[0];
  if (!vrrp || !main) {
    input.directors = [{ name: director.name, interfaces: ifaces.map((n) => ({ name: n })) }];
  } else {
    const uni = unicastPair(model, vrrp, index, main.interface);
    const me = {
      name: director.name,
      interfaces: ifaces.map((n) => ({ name: n, ...(n === main.interface && uni ? { address: `${uni.src}/32` } : {}) })),
      priority: director.priority ?? (index === 0 ? 150 : 100),
    };
    if (!uni) input.directors = [me];
    else {
      const peerFirst = index !== 0 && !vrrp.nopreempt;
      const preferred = peerFirst ? 'dir1' : 'dir2';
      const peerName = preferred === director.name ? (peerFirst ? 'dir2' : 'dir1') : preferred;
      const other = { name: peerName, interfaces: ifaces.map((n) => ({ name: n, ...(n === main.interface ? { address: `${uni.peer}/32` } : {}) })) };
      input.directors = peerFirst ? [other, me] : [me, other];
    }
    input.vrrp = {
      version: vrrp.version,
      advertInt: vrrp.advertInt,
      transport: uni ? 'unicast' : 'multicast',
      ...(vrrp.version === 2 && vrrp.auth ? { auth: vrrp.auth } : {}),
      nopreempt: vrrp.nopreempt,
      instances,
      ...(vrrp.syncDaemon ? { syncDaemon: vrrp.syncDaemon } : {}),
    };
  }
  const n = normalize(input);
  if (!n.ok) throw new Error(`keepalived projection is not a valid model: ${n.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return n.model;
}

function projectCheck(s: NormalizedService, firstPort: number): HealthCheck {
  const hc = s.healthCheck;
  switch (hc.type) {
    case 'none':
    case 'tcp':
    case 'http':
    case 'https':
      return hc;
    case 'script':
      return { type: 'script', command: hc.command };
    case 'send-expect': {
      const e = expectArg(hc.expect, hc.regex);
      const port = checkPort(hc, s, firstPort);
      return { type: 'send-expect', send: hc.send, expect: e.expect, regex: e.regex, ...(port !== (firstPort !== 0 ? firstPort : undefined) ? { port } : {}) };
    }
    default: {
      const never: never = hc;
      return never;
    }
  }
}
