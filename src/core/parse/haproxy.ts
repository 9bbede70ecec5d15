/**
 * haproxy.cfg -> model. HAProxy's syntax is line based: a section keyword
 * (global, defaults, frontend, backend, listen, ...) starts a section, every
 * other line is a keyword with words, `#` starts a comment, "double quotes"
 * process escapes, 'single quotes' do not, a backslash escapes one
 * character. We read frontends with their binds and default_backend,
 * backends with balance, checks and servers, and `listen` sections (both in
 * one); everything else is a positioned warning.
 *
 * The reading is the inverse of render/haproxy.ts (see its header for the
 * check mapping); `projectHaproxy` states what survives.
 */
import type { HealthCheck, InstallationInput } from '../model.js';
import { isIPv4 } from '../net.js';
import type { SourcePosition } from '../problems.js';
import { HAPROXY_PREAMBLE } from '../render/haproxy.js';
import { importedInstallation, schedulerFor, type L7Method } from '../render/nginx.js';
import { ProblemLog, type Word } from './nginx.js';
import { finishParse, type ParseOptions, type ParseResult } from './types.js';

type ServiceInput = InstallationInput['services'][number];

interface Line {
  words: Word[];
  at: SourcePosition;
}

/** Split one line into words; undefined (with an error logged) when a quote is not closed. */
function splitLine(text: string, lineNo: number, file: string, log: ProblemLog): Word[] | undefined {
  const words: Word[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') break;
    const at = { file, line: lineNo, column: i + 1 };
    let value = '';
    while (i < n) {
      const w = text[i]!;
      if (w === ' ' || w === '\t' || w === '\r' || w === '#') break;
      if (w === '\\' && i + 1 < n) {
        const e = text[i + 1]!;
        value += e === 'r' ? '\r' : e === 'n' ? '\n' : e === 't' ? '\t' : e;
        i += 2;
        continue;
      }
      if (w === "'" || w === '"') {
        const close = w;
        const start = i;
        i++;
        let closed = false;
        while (i < n) {
          const q = text[i]!;
          if (q === close) {
            closed = true;
            i++;
            break;
          }
          if (close === '"' && q === '\\' && i + 1 < n) {
            const e = text[i + 1]!;
            value += e === 'r' ? '\r' : e === 'n' ? '\n' : e === 't' ? '\t' : e;
            i += 2;
            continue;
          }
          if (close === '"' && q === '$') {
            log.warn({ file, line: lineNo, column: i + 1 }, 'HAProxy expands environment variables in double quotes; the variable is imported as written', 'write \\$ for a literal dollar sign');
          }
          value += q;
          i++;
        }
        if (!closed) {
          log.error({ file, line: lineNo, column: start + 1 }, `unterminated ${close === '"' ? 'double' : 'single'} quote`, `close it with ${close} on the same line`);
          return undefined;
        }
        continue;
      }
      value += w;
      i++;
    }
    words.push({ value, at });
  }
  return words;
}

const MODELLED_SECTIONS = new Set(['global', 'defaults', 'frontend', 'backend', 'listen']);
const OTHER_SECTIONS = new Set(['userlist', 'peers', 'resolvers', 'mailers', 'program', 'http-errors', 'ring', 'cache', 'fcgi-app', 'crt-store', 'traces', 'log-forward']);

/** Server/default-server keywords that take one argument (configuration manual, 5.2), so their argument is skipped with them. */
const SERVER_ARG_KEYWORDS = new Set([
  'addr', 'agent-addr', 'agent-inter', 'agent-port', 'agent-send', 'alpn', 'ca-file', 'check-alpn', 'check-proto', 'check-sni', 'ciphers',
  'ciphersuites', 'cookie', 'crl-file', 'crt', 'downinter', 'error-limit', 'id', 'init-addr', 'log-proto', 'max-reuse', 'maxconn',
  'maxqueue', 'minconn', 'namespace', 'observe', 'on-error', 'on-marked-down', 'on-marked-up', 'pool-low-conn', 'pool-max-conn',
  'pool-purge-delay', 'proto', 'proxy-v2-options', 'redir', 'resolve-net', 'resolve-opts', 'resolve-prefer', 'resolvers', 'shard',
  'slowstart', 'sni', 'source', 'ssl-max-ver', 'ssl-min-ver', 'tcp-ut', 'track', 'usesrc', 'ws',
]);

/** HAProxy time (default unit ms): "3000", "3s", "500ms", "1m" -> seconds; undefined when not one. */
export function parseHaproxyTime(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)?$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const factor = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 'ms']!;
  return Math.round(n * factor * 1000) / 1000;
}

interface ServerParams {
  check?: boolean;
  checkSsl?: boolean;
  weight?: number;
  backup?: boolean;
  inter?: number;
  fastinter?: number;
  fall?: number;
  rise?: number;
  port?: number;
}

interface BackendServer extends ServerParams {
  name: Word;
  address: string;
  /** The port of the address; `port` (from ServerParams) is the check port. */
  addrPort?: number;
  at: SourcePosition;
}

interface Bind {
  address: string;
  port: number;
  at: SourcePosition;
}

interface Proxy {
  kind: 'frontend' | 'backend' | 'listen';
  name: Word;
  at: SourcePosition;
  binds: Bind[];
  defaultBackend?: Word;
  method?: L7Method;
  defaults: ServerParams;
  servers: BackendServer[];
  connectTimeout?: number;
  /** `bare`: `option httpchk` alone, which sends OPTIONS / unless an `http-check send` says otherwise. */
  httpchk?: { path: string; at: SourcePosition; bare?: boolean };
  virtualhost?: string;
  status?: number;
  tcpCheck?: { at: SourcePosition; send?: string; expect?: string; regex?: boolean };
  used: boolean;
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function fromHex(text: string): string | undefined {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let k = 0; k < bytes.length; k++) bytes[k] = parseInt(text.slice(2 * k, 2 * k + 2), 16);
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

class HaproxyReader {
  readonly proxies: Proxy[] = [];
  private defaultsParams: ServerParams = {};
  private defaultsConnect: number | undefined;
  private defaultsMethod: L7Method | undefined;

  constructor(private readonly log: ProblemLog) {}

  private unmodelled(w: Word, where: string): void {
    this.log.warn(w.at, `"${w.value}" in ${where} is not modelled and is not imported`);
  }

  read(lines: Line[]): void {
    let section: 'global' | 'defaults' | 'other' | Proxy | undefined;
    let sectionName = '';
    for (const { words } of lines) {
      const head = words[0]!;
      const kw = head.value;
      if (MODELLED_SECTIONS.has(kw) || OTHER_SECTIONS.has(kw)) {
        sectionName = words.slice(0, 2).map((w) => w.value).join(' ');
        if (kw === 'global' || kw === 'defaults') {
          section = kw;
          if (words.length > 1) this.log.warn(words[1]!.at, `named ${kw} sections are not modelled; read as the plain ${kw} section`);
        } else if (kw === 'frontend' || kw === 'backend' || kw === 'listen') {
          const name = words[1];
          if (!name) {
            this.log.error(head.at, `${kw} needs a name`, `write ${kw} NAME`);
            section = 'other';
            continue;
          }
          for (const extra of words.slice(2)) this.log.warn(extra.at, `"${extra.value}" after the ${kw} name is not modelled`);
          const p: Proxy = { kind: kw, name, at: head.at, binds: [], defaults: {}, servers: [], used: false };
          this.proxies.push(p);
          section = p;
        } else {
          this.log.warn(head.at, `the ${kw} section is not modelled; its lines are not imported`);
          section = 'other';
        }
        continue;
      }
      if (section === undefined) {
        this.log.error(head.at, `"${kw}" outside of any section`, 'start with global, defaults, frontend, backend or listen');
        continue;
      }
      if (section === 'other') continue;
      const text = words.map((w) => w.value).join(' ');
      if (section === 'global') {
        if (!HAPROXY_PREAMBLE.slice(1, 5).some((l) => l.trim() === text)) this.unmodelled(head, 'global');
        continue;
      }
      if (section === 'defaults') {
        this.defaultsLine(words, text);
        continue;
      }
      this.proxyLine(section, words, sectionName);
    }
  }

  private defaultsLine(words: Word[], text: string): void {
    const kw = words[0]!.value;
    if (kw === 'timeout' && words[1]?.value === 'connect') {
      this.defaultsConnect = this.time(words[2], 'timeout connect', words[0]!.at);
      return;
    }
    if (kw === 'default-server') {
      this.serverParams(words.slice(1), this.defaultsParams, 'default-server');
      return;
    }
    if (kw === 'balance') {
      this.defaultsMethod = this.balance(words);
      return;
    }
    if (kw === 'mode') {
      this.mode(words);
      return;
    }
    if (HAPROXY_PREAMBLE.some((l) => l.trim() === text)) return;
    this.unmodelled(words[0]!, 'defaults');
  }

  private mode(words: Word[]): void {
    const m = words[1]?.value;
    if (m === 'http') return;
    if (m === 'tcp') this.log.warn(words[1]!.at, 'mode tcp is imported as an HAProxy service, which is written back in mode http');
    else this.log.error(words[0]!.at, `mode needs http or tcp, not "${m ?? ''}"`);
  }

  private time(w: Word | undefined, what: string, at: SourcePosition): number | undefined {
    const t = w ? parseHaproxyTime(w.value) : undefined;
    if (t === undefined || t <= 0) {
      this.log.error(w?.at ?? at, `${what} needs a time like 3s or 3000 (ms)`);
      return undefined;
    }
    return t;
  }

  private int(w: Word | undefined, what: string, min: number, max: number, at: SourcePosition): number | undefined {
    if (!w || !/^\d+$/.test(w.value) || Number(w.value) < min || Number(w.value) > max) {
      this.log.error(w?.at ?? at, `${what} needs a whole number ${min}..${max}`);
      return undefined;
    }
    return Number(w.value);
  }

  private balance(words: Word[]): L7Method | undefined {
    const algo = words[1];
    switch (algo?.value) {
      case 'roundrobin':
        return 'round-robin';
      case 'static-rr':
        this.log.warn(algo.at, 'static-rr is imported as round robin (weights changed at run time are not modelled)');
        return 'round-robin';
      case 'leastconn':
        return 'least-conn';
      case 'source':
        return 'source-hash';
      default:
        this.log.warn(algo?.at ?? words[0]!.at, `balance ${algo?.value ?? ''} has no scheduler in the model; imported as round robin`);
        return 'round-robin';
    }
  }

  private serverParams(words: Word[], into: ServerParams, where: string): void {
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      const next = words[k + 1];
      switch (w.value) {
        case 'check':
          into.check = true;
          break;
        case 'check-ssl':
          into.checkSsl = true;
          break;
        case 'verify':
          if (next?.value !== 'none') this.log.warn(next?.at ?? w.at, `verify ${next?.value ?? ''} is not modelled`);
          k++;
          break;
        case 'backup':
          into.backup = true;
          break;
        case 'weight':
          into.weight = this.int(next, 'weight', 0, 256, w.at);
          k++;
          break;
        case 'inter':
          into.inter = this.time(next, 'inter', w.at);
          k++;
          break;
        case 'fastinter':
          into.fastinter = this.time(next, 'fastinter', w.at);
          k++;
          break;
        case 'fall':
          into.fall = this.int(next, 'fall', 1, 101, w.at);
          k++;
          break;
        case 'rise':
          into.rise = this.int(next, 'rise', 1, 1000000, w.at);
          k++;
          break;
        case 'port':
          into.port = this.int(next, 'port', 1, 65535, w.at);
          k++;
          break;
        default:
          if (SERVER_ARG_KEYWORDS.has(w.value)) {
            this.log.warn(w.at, `${where} parameter "${w.value} ${next?.value ?? ''}" is not modelled and is not imported`);
            k++;
          } else this.log.warn(w.at, `${where} parameter "${w.value}" is not modelled and is not imported`);
      }
    }
  }

  private proxyLine(p: Proxy, words: Word[], where: string): void {
    const head = words[0]!;
    const front = p.kind !== 'backend';
    const back = p.kind !== 'frontend';
    switch (head.value) {
      case 'mode':
        this.mode(words);
        return;
      case 'bind':
        if (front) return this.bind(p, words);
        break;
      case 'default_backend':
        if (front) {
          if (!words[1]) this.log.error(head.at, 'default_backend needs a backend name');
          else p.defaultBackend = words[1];
          return;
        }
        break;
      case 'balance':
        if (back) {
          p.method = this.balance(words);
          return;
        }
        break;
      case 'server':
        if (back) return this.server(p, words);
        break;
      case 'default-server':
        if (back) return this.serverParams(words.slice(1), p.defaults, 'default-server');
        break;
      case 'timeout':
        if (back && words[1]?.value === 'connect') {
          p.connectTimeout = this.time(words[2], 'timeout connect', words[0]!.at);
          return;
        }
        break;
      case 'option':
        if (back && words[1]?.value === 'httpchk') return this.httpchk(p, words);
        if (back && words[1]?.value === 'tcp-check') {
          p.tcpCheck ??= { at: head.at };
          return;
        }
        break;
      case 'http-check':
        if (back) return this.httpCheck(p, words);
        break;
      case 'tcp-check':
        if (back) return this.tcpCheck(p, words);
        break;
    }
    this.unmodelled(head, where);
  }

  private bind(p: Proxy, words: Word[]): void {
    const spec = words[1];
    if (!spec) {
      this.log.error(words[0]!.at, 'bind needs an address', 'write bind 10.0.0.1:80 or bind :80');
      return;
    }
    for (const extra of words.slice(2)) this.log.warn(extra.at, `bind parameter "${extra.value}" is not modelled and is not imported`);
    for (const part of spec.value.split(',')) {
      const m = /^(?:ipv4@)?(\*|[0-9.]*):(\d+)(?:-(\d+))?$/.exec(part);
      if (!m || (m[1] !== '' && m[1] !== '*' && !isIPv4(m[1]!))) {
        this.log.warn(spec.at, `bind ${part} is not an IPv4 address and port (IPv6, sockets and names are not modelled); not imported`);
        continue;
      }
      const lo = Number(m[2]);
      const hi = m[3] !== undefined ? Number(m[3]) : lo;
      if (lo < 1 || hi > 65535 || hi < lo || hi - lo > 1024) {
        this.log.error(spec.at, `bind ${part}: ports are 1..65535 (a range of at most 1024 is imported)`);
        continue;
      }
      const address = m[1] === '' || m[1] === '*' ? '0.0.0.0' : m[1]!;
      for (let port = lo; port <= hi; port++) p.binds.push({ address, port, at: spec.at });
    }
  }

  private server(p: Proxy, words: Word[]): void {
    const [head, name, addr] = words;
    if (!name || !addr) {
      this.log.error(head!.at, 'server needs a name and an address', 'write server app1 10.0.0.1:80 check');
      return;
    }
    const m = /^(?:ipv4@)?([0-9.]+)(?::(\d+))?$/.exec(addr.value);
    if (!m || !isIPv4(m[1]!)) {
      this.log.warn(addr.at, `server ${name.value} ${addr.value} is not an IPv4 address (names, IPv6 and sockets are not modelled); not imported`);
      return;
    }
    const s: BackendServer = { name, address: m[1]!, at: name.at };
    if (m[2] !== undefined) {
      const port = Number(m[2]);
      if (port < 1 || port > 65535) this.log.error(addr.at, `port ${port} is out of 1..65535`);
      else s.addrPort = port;
    }
    this.serverParams(words.slice(3), s, 'server');
    p.servers.push(s);
  }

  private httpchk(p: Proxy, words: Word[]): void {
    const args = words.slice(2).map((w) => w.value);
    let path = '/';
    if (args.length === 1) path = args[0]!;
    else if (args.length >= 2) {
      if (args[0] !== 'GET') this.log.warn(words[2]!.at, `check method ${args[0]} is imported as GET`);
      path = args[1]!;
      if (args.length > 2) this.log.warn(words[4]!.at, `"${args.slice(2).join(' ')}" after the check URI is not modelled`);
    }
    p.httpchk = { path, at: words[1]!.at, ...(args.length === 0 ? { bare: true } : {}) };
  }

  private httpCheck(p: Proxy, words: Word[]): void {
    const sub = words[1]?.value;
    if (sub === 'expect' && words[2]?.value === 'status' && words.length === 4) {
      p.status = this.int(words[3], 'http-check expect status', 100, 599, words[0]!.at);
      return;
    }
    if (sub === 'send') {
      let sawMeth = false;
      for (let k = 2; k < words.length; k++) {
        const w = words[k]!;
        const v = words[k + 1];
        if (w.value === 'meth') {
          sawMeth = true;
          if (v?.value !== 'GET') this.log.warn(v?.at ?? w.at, `check method ${v?.value ?? ''} is imported as GET`);
          k++;
        } else if (w.value === 'uri' && v) {
          p.httpchk = { path: v.value, at: p.httpchk?.at ?? words[0]!.at };
          sawMeth = true;
          k++;
        } else if (w.value === 'ver') k++;
        else if (w.value === 'hdr' && words[k + 1]?.value.toLowerCase() === 'host' && words[k + 2]) {
          p.virtualhost = words[k + 2]!.value;
          k += 2;
        } else this.log.warn(w.at, `http-check send "${w.value}" is not modelled and is not imported`);
      }
      if (sawMeth && p.httpchk) p.httpchk = { path: p.httpchk.path, at: p.httpchk.at };
      return;
    }
    this.unmodelled(words[0]!, `backend ${p.name.value} (http-check ${sub ?? ''})`);
  }

  private tcpCheck(p: Proxy, words: Word[]): void {
    const tc = (p.tcpCheck ??= { at: words[0]!.at });
    const sub = words[1]?.value;
    const arg = words[2];
    if ((sub === 'send' || sub === 'send-binary') && arg && words.length === 3) {
      if (tc.send !== undefined) this.log.warn(words[0]!.at, 'the model has one send and one expect; this further send is not imported');
      else tc.send = sub === 'send' ? arg.value : fromHex(arg.value);
      if (tc.send === undefined) this.log.error(arg.at, 'send-binary needs an even number of hex digits');
      return;
    }
    if (sub === 'expect' && arg && words[3] && words.length === 4 && ['string', 'rstring', 'binary'].includes(arg.value)) {
      if (tc.expect !== undefined) this.log.warn(words[0]!.at, 'the model has one send and one expect; this further expect is not imported');
      else {
        tc.expect = arg.value === 'binary' ? fromHex(words[3].value) : words[3].value;
        tc.regex = arg.value === 'rstring';
        if (tc.expect === undefined) this.log.error(words[3].at, 'expect binary needs an even number of hex digits');
      }
      return;
    }
    this.unmodelled(words[0]!, `backend ${p.name.value} (tcp-check ${sub ?? ''})`);
  }

  services(): ServiceInput[] {
    const out: ServiceInput[] = [];
    const taken = new Set<string>();
    for (const p of this.proxies) {
      if (p.kind === 'backend') continue;
      let back: Proxy | undefined = p;
      if (p.kind === 'frontend') {
        if (!p.defaultBackend) {
          this.log.warn(p.at, `frontend ${p.name.value} has no default_backend; not imported`);
          continue;
        }
        back = this.proxies.find((b) => b.kind === 'backend' && b.name.value === p.defaultBackend!.value);
        if (!back) {
          this.log.error(p.defaultBackend.at, `no backend named ${p.defaultBackend.value}`);
          continue;
        }
      }
      back.used = true;
      const s = this.service(p, back, taken);
      if (s) out.push(s);
    }
    for (const b of this.proxies) {
      if (b.kind === 'backend' && !b.used) this.log.warn(b.at, `backend ${b.name.value} is not the default_backend of any frontend; not imported`);
    }
    return out;
  }

  private service(front: Proxy, back: Proxy, taken: Set<string>): ServiceInput | undefined {
    const first = front.binds[0];
    if (!first) {
      this.log.warn(front.at, `${front.kind} ${front.name.value} has no IPv4 bind; not imported`);
      return undefined;
    }
    const ports: number[] = [];
    for (const b of front.binds) {
      if (b.address !== first.address) this.log.warn(b.at, `a service has one VIP in the model; bind ${b.address}:${b.port} (another address than ${first.address}) is not imported`);
      else if (!ports.includes(b.port)) ports.push(b.port);
    }
    let name = back.name.value;
    if (!SERVICE_NAME.test(name)) {
      name = name.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
      this.log.warn(back.name.at, `the name ${back.name.value} is imported as ${name} (service names are letters, digits, _ . -)`);
    }
    let unique = name;
    for (let k = 2; taken.has(unique); k++) unique = `${name}-${k}`;
    taken.add(unique);

    const eff = (s: BackendServer): ServerParams => ({ ...this.defaultsParams, ...back.defaults, ...s });
    const real = back.servers.filter((s) => !eff(s).backup);
    const backups = back.servers.filter((s) => eff(s).backup);
    for (const b of backups.slice(1)) this.log.warn(b.at, 'the model has one sorry server; this further backup server is not imported');
    if (real.length === 0) this.log.warn(back.at, `backend ${back.name.value} has no server this importer understands`);
    const params = real.map(eff);
    const checked = params.some((q) => q.check);
    const p0 = params.find((q) => q.check) ?? params[0] ?? {};
    if (checked && params.some((q) => !q.check)) this.log.warn(back.at, 'some servers of this backend are checked and some are not; the model checks all or none, imported as all');
    const differs = (k: keyof ServerParams): boolean => new Set(params.map((q) => q[k])).size > 1;
    if (checked && (['inter', 'fastinter', 'fall', 'rise', 'port', 'checkSsl'] as const).some(differs)) {
      this.log.warn(back.at, 'the servers of this backend have different check settings; the model keeps the first checked server\'s for the whole service');
    }
    const inter = p0.inter ?? 2;
    const rise = p0.rise ?? 2;
    if (checked && rise !== 1) this.log.warn(back.at, `rise ${rise}${p0.rise === undefined ? ' (the HAProxy default)' : ''} is not modelled: the model puts a server back after one good check`);
    const health = checked ? this.health(back, p0) : ({ type: 'none' } as const);
    if (!checked && (back.httpchk || back.tcpCheck)) this.log.warn((back.httpchk ?? back.tcpCheck)!.at, 'a check is described but no server has "check"; imported as no check');
    const sorry = backups[0];
    return {
      name: unique,
      vip: first.address,
      protocol: 'tcp',
      ports,
      scheduler: schedulerFor(back.method ?? this.defaultsMethod ?? 'round-robin', params.map((q) => q.weight ?? 1)),
      mode: 'haproxy',
      realServers: real.map((s, j) => {
        let rsName = s.name.value;
        if (!NODE_NAME.test(rsName)) {
          this.log.warn(s.name.at, `server name ${rsName} is not a node name (letters, digits, _ . - and a letter or digit first); imported as ${s.address}`);
          rsName = s.address;
        }
        if (s.addrPort === undefined) this.log.warn(s.at, `server ${s.name.value} has no port (HAProxy would keep the client's); imported with port ${ports[0]}`);
        return { name: rsName, address: s.address, port: s.addrPort ?? ports[0]!, weight: params[j]!.weight ?? 1 };
      }),
      quiescent: false,
      ...(sorry ? { sorryServer: { address: sorry.address, port: sorry.addrPort ?? ports[0]! } } : {}),
      healthCheck: health,
      ...(checked
        ? {
            checkTimers: {
              delayLoop: inter,
              connectTimeout: back.connectTimeout ?? this.defaultsConnect ?? inter,
              retry: (p0.fall ?? 3) - 1,
              delayBeforeRetry: p0.fastinter ?? inter,
            },
          }
        : {}),
    };
  }

  private health(back: Proxy, p0: ServerParams): HealthCheck {
    const port = p0.port !== undefined ? { port: p0.port } : {};
    if (back.httpchk) {
      if (back.httpchk.bare) this.log.warn(back.httpchk.at, 'a bare "option httpchk" sends OPTIONS /; imported as GET /');
      if (back.tcpCheck) this.log.warn(back.tcpCheck.at, 'both option httpchk and tcp-check; the HTTP check is imported');
      return {
        type: p0.checkSsl ? 'https' : 'http',
        path: back.httpchk.path,
        ...(back.status !== undefined ? { status: back.status } : {}),
        ...port,
        ...(back.virtualhost !== undefined ? { virtualhost: back.virtualhost } : {}),
      };
    }
    if (p0.checkSsl) this.log.warn(back.at, 'check-ssl without option httpchk (a TLS handshake check) is imported as a TCP check');
    if (back.tcpCheck) {
      const tc = back.tcpCheck;
      if (tc.send !== undefined && tc.expect !== undefined) {
        return { type: 'send-expect', send: tc.send, expect: tc.expect, regex: tc.regex ?? false, ...port };
      }
      this.log.warn(tc.at, 'tcp-check without one send and one expect is imported as a TCP connect check');
    }
    return { type: 'tcp', ...port };
  }
}

/**
 * Read a haproxy.cfg into a model with one balancer `lb1` and a service per
 * frontend (with its default_backend) or listen section. Never throws.
 */
export function parseHaproxy(text: string, opts: ParseOptions): ParseResult {
  const log = new ProblemLog();
  const nul = text.indexOf('\0');
  if (nul !== -1) {
    const before = text.slice(0, nul);
    log.error({ file: opts.file, line: before.split('\n').length, column: nul - before.lastIndexOf('\n') }, 'binary data (a NUL byte): this is not a haproxy.cfg');
    return { ok: false, problems: log.finish() };
  }
  const lines: Line[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const words = splitLine(raw, lineNo, opts.file, log);
    if (words && words.length > 0) lines.push({ words, at: words[0]!.at });
  }
  const reader = new HaproxyReader(log);
  reader.read(lines);
  const services = reader.services();
  if (log.hasErrors) return { ok: false, problems: log.finish() };
  if (services.length === 0) {
    log.error({ file: opts.file, line: 1, column: 1 }, 'no service found: no frontend with a default_backend (or listen section) binds an IPv4 address', 'an imported file needs a frontend with bind and default_backend, and that backend');
    return { ok: false, problems: log.finish() };
  }
  return finishParse(importedInstallation(services), opts.file, log.finish());
}
