/**
 * nginx configuration -> model. A real tokenizer for nginx syntax (words,
 * "double" and 'single' quotes with backslash escapes, `#` comments,
 * directives ended by `;`, blocks in `{}`), then a reading of what the model
 * carries: upstreams, the servers that proxy to them, their listen
 * addresses. Everything else is reported as a positioned warning; broken
 * syntax is an error at the place nginx itself would stop.
 *
 * The reading is the inverse of render/nginx.ts (see its header for the
 * health-check mapping); `projectNginx` states what survives.
 */
import type { InstallationInput, Scheduler } from '../model.js';
import { isIPv4 } from '../net.js';
import type { Problem, SourcePosition } from '../problems.js';
import { importedInstallation, schedulerFor, type L7Method } from '../render/nginx.js';
import { finishParse, positioned, type ParseOptions, type ParseResult } from './types.js';

type ServiceInput = InstallationInput['services'][number];

/** More warnings than this are summed up in one last warning rather than listed (a 10 MB file must not yield a million). */
export const MAX_LISTED_WARNINGS = 200;

/** Collects problems; warnings beyond MAX_LISTED_WARNINGS are counted, and the count is reported, never dropped silently. */
export class ProblemLog {
  readonly problems: Problem[] = [];
  private warnings = 0;
  private unlisted = 0;
  private firstUnlisted: SourcePosition | undefined;

  error(at: SourcePosition, message: string, hint?: string): void {
    this.problems.push(positioned('error', at, message, hint));
  }

  warn(at: SourcePosition, message: string, hint?: string): void {
    if (this.warnings >= MAX_LISTED_WARNINGS) {
      this.unlisted++;
      this.firstUnlisted ??= at;
      return;
    }
    this.warnings++;
    this.problems.push(positioned('warning', at, message, hint));
  }

  get hasErrors(): boolean {
    return this.problems.some((p) => p.severity === 'error');
  }

  /** The problems, with the count of unlisted warnings as a last one. */
  finish(): Problem[] {
    if (this.unlisted > 0 && this.firstUnlisted) {
      return [
        ...this.problems,
        positioned('warning', this.firstUnlisted, `${this.unlisted} more warnings not listed (the first is here)`, 'fix the listed ones and import again to see the rest'),
      ];
    }
    return [...this.problems];
  }
}

/** One word of a directive, with where it starts. */
export interface Word {
  value: string;
  at: SourcePosition;
}

/** `name args;` or `name args { children }`. */
export interface Directive {
  name: Word;
  args: Word[];
  block?: Directive[];
}

/** Directives that always open a block (nginx core, http, stream modules). */
const BLOCK_DIRECTIVES = new Set(['http', 'stream', 'events', 'mail', 'upstream', 'location', 'if', 'map', 'types', 'geo', 'split_clients', 'limit_except', 'match']);
/** Directives we read that never take one; `server` is one of them only inside an upstream. */
const SIMPLE_DIRECTIVES = new Set([
  'listen', 'proxy_pass', 'proxy_connect_timeout', 'proxy_set_header', 'least_conn', 'ip_hash', 'hash', 'random', 'keepalive', 'zone',
  'include', 'root', 'index', 'server_name', 'return', 'rewrite', 'error_log', 'access_log', 'pid', 'user', 'worker_processes',
  'load_module', 'proxy_timeout', 'proxy_responses', 'resolver',
]);

/**
 * Whether a directive takes a block where it stands, as nginx knows from its
 * module tables; undefined for a directive we do not know (no judgement: it
 * is reported as not modelled later).
 */
function takesBlock(parent: string, name: string): boolean | undefined {
  if (name === 'server') return parent !== 'upstream';
  if (BLOCK_DIRECTIVES.has(name)) return true;
  if (SIMPLE_DIRECTIVES.has(name)) return false;
  return undefined;
}

/**
 * Tokenize and nest nginx syntax. Stops at the first syntax error, as
 * `nginx -t` does, and returns what it read up to there.
 */
export function parseNginxSyntax(text: string, file: string, log: ProblemLog): Directive[] {
  const root: Directive[] = [];
  const stack: { list: Directive[]; opened?: SourcePosition; parent: string }[] = [{ list: root, parent: '' }];
  let words: Word[] = [];
  let line = 1;
  let col = 1;
  let i = 0;
  const n = text.length;
  const here = (): SourcePosition => ({ file, line, column: col });
  const advance = (): string => {
    const c = text[i++]!;
    if (c === '\n') {
      line++;
      col = 1;
    } else col++;
    return c;
  };

  const nul = text.indexOf('\0');
  if (nul !== -1) {
    const before = text.slice(0, nul);
    const l = before.split('\n').length;
    log.error({ file, line: l, column: nul - before.lastIndexOf('\n') }, 'binary data (a NUL byte): this is not an nginx configuration file');
    return root;
  }

  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const endDirective = (terminator: ';' | '{', at: SourcePosition): boolean => {
    const top = stack[stack.length - 1]!;
    const [name, ...args] = words;
    words = [];
    if (!name) {
      log.error(at, `unexpected "${terminator}"`, 'a directive name must come first');
      return false;
    }
    const block = takesBlock(top.parent, name.value);
    if (block === false && terminator === '{') {
      log.error(at, `directive "${name.value}" is not terminated by ";"`, `end the "${name.value}" at line ${name.at.line} with ";"`);
      return false;
    }
    if (block === true && terminator === ';') {
      log.error(at, `directive "${name.value}" has no opening "{"`, `write ${name.value} ... { ... }`);
      return false;
    }
    const d: Directive = terminator === '{' ? { name, args, block: [] } : { name, args };
    top.list.push(d);
    if (d.block) stack.push({ list: d.block, opened: name.at, parent: name.value });
    return true;
  };

  while (i < n) {
    const c = text[i]!;
    if (isSpace(c)) {
      advance();
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') advance();
      continue;
    }
    if (c === ';' || c === '{') {
      const at = here();
      advance();
      if (!endDirective(c, at)) return root;
      continue;
    }
    if (c === '}') {
      const at = here();
      advance();
      if (words.length > 0) {
        log.error(at, 'unexpected "}"', `the directive "${words[0]!.value}" at line ${words[0]!.at.line} needs a ";" before it`);
        return root;
      }
      if (stack.length === 1) {
        log.error(at, 'unexpected "}"', 'no block is open here');
        return root;
      }
      stack.pop();
      continue;
    }
    const at = here();
    let value = '';
    if (c === '"' || c === "'") {
      advance();
      let closed = false;
      while (i < n) {
        const q = advance();
        if (q === '\\' && i < n) {
          const e = advance();
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === c || e === '\\' ? e : `\\${e}`;
          continue;
        }
        if (q === c) {
          closed = true;
          break;
        }
        value += q;
      }
      if (!closed) {
        log.error(at, `unterminated ${c === '"' ? 'double' : 'single'} quote`, `close the string opened here with ${c}`);
        return root;
      }
      if (i < n && !isSpace(text[i]!) && text[i] !== ';' && text[i] !== '{' && text[i] !== '}') {
        log.error(here(), `unexpected "${text[i]}" after a quoted string`, 'put a space, ";" or "{" after the closing quote');
        return root;
      }
    } else {
      while (i < n) {
        const w = text[i]!;
        if (isSpace(w) || w === ';' || w === '{' || w === '}') {
          // "${name}" is a variable, not a block (ngx_conf_file.c reads it as part of the word).
          if (w === '{' && value.endsWith('$')) {
            value += advance();
            while (i < n && text[i] !== '}' && !isSpace(text[i]!)) value += advance();
            if (i < n && text[i] === '}') value += advance();
            continue;
          }
          break;
        }
        if (w === '\\' && i + 1 < n) {
          advance();
          value += advance();
          continue;
        }
        value += advance();
      }
    }
    words.push({ value, at });
  }
  if (words.length > 0) {
    log.error(here(), 'unexpected end of file, expecting ";" or "}"', `the directive "${words[0]!.value}" at line ${words[0]!.at.line} is not finished`);
  } else if (stack.length > 1) {
    const open = stack[stack.length - 1]!.opened!;
    log.error(here(), 'unexpected end of file, expecting "}"', `the block opened at line ${open.line}, column ${open.column} is not closed`);
  }
  return root;
}

type Context = 'http' | 'stream';

interface UpstreamServer {
  address: string;
  port: number;
  weight: number;
  backup: boolean;
  maxFails?: number;
  failTimeout?: number;
  at: SourcePosition;
}

interface Upstream {
  name: Word;
  context: Context;
  method: L7Method;
  servers: UpstreamServer[];
  used: boolean;
}

interface Listen {
  address: string;
  port: number;
  udp: boolean;
  at: SourcePosition;
}

interface ProxyServer {
  context: Context;
  at: SourcePosition;
  listens: Listen[];
  target?: Word;
  connectTimeout?: number;
}

/** What nginx writes itself and we read without a word: the headers every renderer sets. */
const OUR_HEADERS = new Set(['host $host', 'x-forwarded-for $proxy_add_x_forwarded_for']);

const TIME_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000, y: 31536000 };

/**
 * nginx time ("10", "500ms", "1m30s") in seconds; undefined when it is not
 * one. `wholeSeconds`: the directive takes no "ms" (fail_timeout, see
 * render/nginx.ts failTimeoutSeconds).
 */
export function parseNginxTime(text: string, wholeSeconds = false): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)(ms|s|m|h|d|w|M|y)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (wholeSeconds && m[2] === 'ms') return undefined;
    total += Number(m[1]) * TIME_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total * 1000) / 1000 : undefined;
}

/** "10.0.0.1:80", "10.0.0.1" (port defaults), "80", "*:80" -> address and port; undefined when not IPv4. */
function splitHostPort(text: string, defaultPort: number | undefined): { address: string; port: number } | 'ipv6' | undefined {
  if (text.startsWith('[')) return 'ipv6';
  if (/^\d+$/.test(text)) return { address: '0.0.0.0', port: Number(text) };
  const m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  const host = m[1] === '*' ? '0.0.0.0' : m[1]!;
  if (!isIPv4(host)) return undefined;
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { address: host, port };
}

class NginxReader {
  readonly upstreams: Upstream[] = [];
  readonly servers: ProxyServer[] = [];
  private readonly byName = new Map<string, Upstream>();
  private readonly nameCount = new Map<string, number>();
  private depth = 0;

  constructor(
    private readonly log: ProblemLog,
    private readonly opts: ParseOptions,
  ) {}

  unmodelled(d: Directive, where: string): void {
    this.log.warn(d.name.at, `"${d.name.value}" in ${where} is not modelled and is not imported`);
  }

  /** The file's top level: main context, or an http-context fragment like conf.d/*.conf. */
  top(list: Directive[], file: string): void {
    for (const d of list) {
      switch (d.name.value) {
        case 'http':
          if (this.needBlock(d)) this.context(d.block!, 'http', file);
          break;
        case 'stream':
          if (this.needBlock(d)) this.context(d.block!, 'stream', file);
          break;
        case 'upstream':
        case 'server':
          this.contextDirective(d, 'http', file);
          break;
        case 'include':
          this.include(d, file, (inc, f) => this.top(inc, f));
          break;
        default:
          this.unmodelled(d, 'the main context');
      }
    }
  }

  private needBlock(d: Directive): boolean {
    if (d.block) return true;
    this.log.error(d.name.at, `"${d.name.value}" needs a block`, `write ${d.name.value} { ... }`);
    return false;
  }

  private include(d: Directive, fromFile: string, then: (list: Directive[], file: string) => void): void {
    const pattern = d.args[0]?.value;
    if (!pattern || d.args.length !== 1) {
      this.log.error(d.name.at, 'include takes exactly one file or pattern');
      return;
    }
    if (!this.opts.resolveInclude) {
      this.log.warn(d.name.at, `include ${pattern} is not followed (no resolver given); what it holds is not imported`);
      return;
    }
    if (this.depth >= 8) {
      this.log.error(d.name.at, `include ${pattern} nests more than 8 levels deep`, 'look for a file that includes itself');
      return;
    }
    this.depth++;
    for (const inc of this.opts.resolveInclude(pattern, fromFile)) {
      const list = parseNginxSyntax(inc.text, inc.path, this.log);
      then(list, inc.path);
    }
    this.depth--;
  }

  private context(list: Directive[], ctx: Context, file: string): void {
    for (const d of list) this.contextDirective(d, ctx, file);
  }

  private contextDirective(d: Directive, ctx: Context, file: string): void {
    switch (d.name.value) {
      case 'upstream':
        if (this.needBlock(d)) this.upstream(d, ctx);
        break;
      case 'server':
        if (this.needBlock(d)) this.server(d, ctx);
        break;
      case 'include':
        this.include(d, file, (inc, f) => this.context(inc, ctx, f));
        break;
      default:
        this.unmodelled(d, `the ${ctx} context`);
    }
  }

  private upstream(d: Directive, ctx: Context): void {
    const name = d.args[0];
    if (!name || d.args.length !== 1) {
      this.log.error(d.name.at, 'upstream needs exactly one name', 'write upstream NAME { ... }');
      return;
    }
    const up: Upstream = { name, context: ctx, method: 'round-robin', servers: [], used: false };
    for (const c of d.block!) {
      switch (c.name.value) {
        case 'server':
          this.upstreamServer(c, up);
          break;
        case 'least_conn':
          up.method = 'least-conn';
          break;
        case 'ip_hash':
          up.method = 'source-hash';
          break;
        case 'hash': {
          const key = c.args[0]?.value;
          if (key === '$remote_addr' || key === '$binary_remote_addr') up.method = 'source-hash';
          else this.log.warn(c.name.at, `hash ${key ?? ''} balances by something other than the client address; imported as round robin`);
          if (c.args[1]?.value === 'consistent') this.log.warn(c.args[1].at, '"consistent" hashing is not modelled; imported as source hashing (sh)');
          break;
        }
        default:
          this.unmodelled(c, `upstream ${name.value}`);
      }
    }
    if (up.servers.length === 0) this.log.warn(name.at, `upstream ${name.value} has no server this importer understands`);
    const key = `${ctx}/${name.value}`;
    const before = this.byName.get(key);
    if (before) {
      this.log.error(name.at, `duplicate upstream "${name.value}"`, `the first is at line ${before.name.at.line} of ${before.name.at.file}`);
      return;
    }
    this.byName.set(key, up);
    this.upstreams.push(up);
  }

  private upstreamServer(c: Directive, up: Upstream): void {
    const addr = c.args[0];
    if (!addr) {
      this.log.error(c.name.at, 'server needs an address', 'write server 10.0.0.1:80;');
      return;
    }
    const hp = splitHostPort(addr.value, up.context === 'http' ? 80 : undefined);
    if (hp === 'ipv6' || hp === undefined) {
      this.log.warn(addr.at, `server ${addr.value} is not an IPv4 address with a port; IPv6, unix sockets and host names are not modelled`);
      return;
    }
    const s: UpstreamServer = { ...hp, weight: 1, backup: false, at: addr.at };
    for (const p of c.args.slice(1)) {
      const [key, val] = p.value.includes('=') ? [p.value.slice(0, p.value.indexOf('=')), p.value.slice(p.value.indexOf('=') + 1)] : [p.value, undefined];
      switch (key) {
        case 'weight': {
          const w = Number(val);
          if (!/^\d+$/.test(val ?? '') || w < 1 || w > 65535) this.log.error(p.at, `invalid weight "${val ?? ''}"`, 'weight is a whole number 1..65535');
          else s.weight = w;
          break;
        }
        case 'max_fails':
          if (!/^\d+$/.test(val ?? '')) this.log.error(p.at, `invalid max_fails "${val ?? ''}"`, 'max_fails is a whole number');
          else s.maxFails = Number(val);
          break;
        case 'fail_timeout': {
          const t = parseNginxTime(val ?? '', true);
          if (t === undefined) this.log.error(p.at, `invalid fail_timeout "${val ?? ''}"`, 'a time in seconds like 10s or 1m (nginx takes no ms here)');
          else s.failTimeout = t;
          break;
        }
        case 'backup':
          s.backup = true;
          break;
        case 'down':
          s.weight = 0;
          break;
        default:
          this.log.warn(p.at, `server parameter "${p.value}" is not modelled and is not imported`);
      }
    }
    up.servers.push(s);
  }

  private server(d: Directive, ctx: Context): void {
    if (d.args.length > 0) this.log.error(d.args[0]!.at, 'server takes no arguments here', 'write server { ... }');
    const ps: ProxyServer = { context: ctx, at: d.name.at, listens: [] };
    this.servers.push(ps);
    for (const c of d.block!) {
      switch (c.name.value) {
        case 'listen':
          this.listen(c, ps);
          break;
        case 'location':
          if (ctx === 'http' && this.needBlock(c)) this.location(c, ps);
          else if (ctx === 'stream') this.unmodelled(c, 'a stream server');
          break;
        case 'proxy_pass':
          if (ctx === 'stream') this.proxyPass(c, ps);
          else this.log.error(c.name.at, '"proxy_pass" is not allowed directly in an http server', 'put it in a location block');
          break;
        case 'proxy_connect_timeout':
          this.connectTimeout(c, ps);
          break;
        default:
          this.unmodelled(c, 'a server block');
      }
    }
  }

  private listen(c: Directive, ps: ProxyServer): void {
    const addr = c.args[0];
    if (!addr) {
      this.log.error(c.name.at, 'listen needs an address or a port');
      return;
    }
    const hp = splitHostPort(addr.value, 80);
    if (hp === 'ipv6') {
      this.log.warn(addr.at, `listen ${addr.value} is IPv6, which the model does not hold; not imported`);
      return;
    }
    if (hp === undefined) {
      this.log.warn(addr.at, `listen ${addr.value} is not an IPv4 address and port; not imported`);
      return;
    }
    let udp = false;
    for (const p of c.args.slice(1)) {
      if (p.value === 'udp' && ps.context === 'stream') udp = true;
      else this.log.warn(p.at, `listen parameter "${p.value}" is not modelled and is not imported`);
    }
    ps.listens.push({ ...hp, udp, at: addr.at });
  }

  private location(c: Directive, ps: ProxyServer): void {
    const path = c.args.map((a) => a.value).join(' ');
    for (const l of c.block!) {
      switch (l.name.value) {
        case 'proxy_pass':
          if (path !== '/') this.log.warn(l.name.at, `proxy_pass in location ${path}: routing by path is not modelled; imported as if for location /`);
          this.proxyPass(l, ps);
          break;
        case 'proxy_connect_timeout':
          this.connectTimeout(l, ps);
          break;
        case 'proxy_set_header': {
          const text = l.args.map((a) => a.value).join(' ');
          if (!OUR_HEADERS.has(text.replace(/^\S+/, (h) => h.toLowerCase()))) this.unmodelled(l, `location ${path}`);
          break;
        }
        default:
          this.unmodelled(l, `location ${path}`);
      }
    }
  }

  private proxyPass(c: Directive, ps: ProxyServer): void {
    const url = c.args[0];
    if (!url || c.args.length !== 1) {
      this.log.error(c.name.at, 'proxy_pass takes exactly one address');
      return;
    }
    if (ps.target) {
      this.log.warn(c.name.at, `a second proxy_pass in the same server (the first, to ${ps.target.value}, is imported)`);
      return;
    }
    let target = url.value;
    if (ps.context === 'http') {
      const m = /^(https?):\/\/([^/]+)(\/.*)?$/.exec(target);
      if (!m) {
        this.log.warn(url.at, `proxy_pass ${target} is not an http:// address; not imported`);
        return;
      }
      if (m[1] === 'https') this.log.warn(url.at, 'TLS to the real servers (https://) is not modelled; imported as plain http');
      if (m[3] && m[3] !== '/') this.log.warn(url.at, `the URI part "${m[3]}" of proxy_pass is not modelled`);
      target = m[2]!;
    }
    ps.target = { value: target, at: url.at };
  }

  private connectTimeout(c: Directive, ps: ProxyServer): void {
    const t = parseNginxTime(c.args[0]?.value ?? '');
    if (t === undefined || t <= 0 || c.args.length !== 1) this.log.error(c.name.at, 'proxy_connect_timeout needs one time like 3s');
    else ps.connectTimeout = t;
  }

  /** Turn the servers that proxy somewhere into services. */
  services(): ServiceInput[] {
    const out: ServiceInput[] = [];
    const taken = new Set<string>();
    for (const ps of this.servers) {
      if (!ps.target) {
        this.log.warn(ps.at, 'this server does not proxy (no proxy_pass); it is not imported');
        continue;
      }
      const service = this.service(ps, ps.target, taken);
      if (service) out.push(service);
    }
    for (const up of this.upstreams) {
      if (!up.used) this.log.warn(up.name.at, `upstream ${up.name.value} is not used by any proxy_pass; not imported`);
    }
    return out;
  }

  private service(ps: ProxyServer, target: Word, taken: Set<string>): ServiceInput | undefined {
    let servers: UpstreamServer[];
    let method: L7Method = 'round-robin';
    let name: string;
    const up = this.byName.get(`${ps.context}/${target.value}`);
    if (up) {
      up.used = true;
      servers = up.servers;
      method = up.method;
      name = up.name.value;
    } else {
      const hp = splitHostPort(target.value, ps.context === 'http' ? 80 : undefined);
      if (hp === undefined || hp === 'ipv6') {
        this.log.warn(target.at, `proxy_pass to ${target.value}: no upstream of that name here, and not an IPv4 address with a port; not imported`);
        return undefined;
      }
      servers = [{ ...hp, weight: 1, backup: false, at: target.at }];
      name = `proxy-${hp.address}-${hp.port}`;
    }
    // nginx's default listen is *:80 (ngx_http_core_module); a stream server must say it.
    const listens = ps.listens.length > 0 || ps.context === 'stream' ? ps.listens : [{ address: '0.0.0.0', port: 80, udp: false, at: ps.at }];
    const first = listens[0];
    if (!first) {
      this.log.warn(ps.at, 'this server has no IPv4 listen address; not imported');
      return undefined;
    }
    const ports: number[] = [];
    for (const l of listens) {
      if (l.address !== first.address) {
        this.log.warn(l.at, `a service has one VIP in the model; listen ${l.address}:${l.port} (another address than ${first.address}) is not imported`);
        continue;
      }
      if (l.udp !== first.udp) {
        this.log.warn(l.at, 'listen mixes udp and tcp in one server; this one is not imported');
        continue;
      }
      if (!ports.includes(l.port)) ports.push(l.port);
    }
    if (ps.context === 'stream' && !first.udp) {
      this.log.warn(first.at, 'a TCP stream proxy is imported as an nginx service, which is written back as an HTTP proxy');
    }
    const real = servers.filter((s) => !s.backup);
    const backups = servers.filter((s) => s.backup);
    for (const b of backups.slice(1)) this.log.warn(b.at, 'the model has one sorry server; this further backup server is not imported');
    let unique = name;
    for (let k = this.nameCount.get(name) ?? 2; taken.has(unique); k++) {
      unique = `${name}-${k}`;
      this.nameCount.set(name, k + 1);
    }
    taken.add(unique);

    const checked = real.filter((s) => s.maxFails !== undefined || s.failTimeout !== undefined);
    const passive = checked.length > 0 && !real.every((s) => s.maxFails === 0);
    const maxFails = real.map((s) => s.maxFails ?? 1);
    const failTimeouts = real.map((s) => s.failTimeout ?? 10);
    if (passive && (new Set(maxFails).size > 1 || new Set(failTimeouts).size > 1)) {
      this.log.warn(real[0]!.at, 'the servers of this upstream have different max_fails/fail_timeout; the model keeps the first server\'s for the whole service');
    }
    if (!passive && ps.connectTimeout !== undefined) {
      this.log.warn(ps.at, 'proxy_connect_timeout is only modelled together with max_fails/fail_timeout (a check); not imported');
    }
    const retry = Math.min(100, Math.max(0, (maxFails[0] ?? 1) - 1));
    if (passive && (maxFails[0] ?? 1) - 1 > 100) this.log.warn(real[0]!.at, `max_fails=${maxFails[0]} is more than the model's 101 attempts; imported as 101`);
    const scheduler: Scheduler = schedulerFor(method, real.map((s) => s.weight));
    const sorry = backups[0];
    return {
      name: unique,
      vip: first.address,
      protocol: first.udp ? 'udp' : 'tcp',
      ports,
      scheduler,
      mode: 'nginx',
      realServers: real.map((s) => ({ name: s.address, address: s.address, port: s.port, weight: s.weight })),
      quiescent: false,
      ...(sorry ? { sorryServer: { address: sorry.address, port: sorry.port } } : {}),
      healthCheck: passive ? { type: 'tcp' } : { type: 'none' },
      ...(passive
        ? {
            checkTimers: {
              delayLoop: failTimeouts[0] ?? 10,
              // nginx's default proxy_connect_timeout is 60s.
              connectTimeout: ps.connectTimeout ?? 60,
              retry,
              delayBeforeRetry: 0,
            },
          }
        : {}),
    };
  }
}

/**
 * Read an nginx configuration (a whole nginx.conf, a conf.d fragment in
 * http context, or our stream file) into a model with one balancer `lb1`
 * and a service per server block that proxies. Never throws.
 */
export function parseNginx(text: string, opts: ParseOptions): ParseResult {
  const log = new ProblemLog();
  const tree = parseNginxSyntax(text, opts.file, log);
  if (log.hasErrors) return { ok: false, problems: log.finish() };
  const reader = new NginxReader(log, opts);
  reader.top(tree, opts.file);
  const services = reader.services();
  if (log.hasErrors) return { ok: false, problems: log.finish() };
  if (services.length === 0) {
    log.error({ file: opts.file, line: 1, column: 1 }, 'no service found: no server block proxies to an IPv4 upstream', 'an imported file needs an upstream and a server with listen and proxy_pass');
    return { ok: false, problems: log.finish() };
  }
  return finishParse(importedInstallation(services), opts.file, log.finish());
}
