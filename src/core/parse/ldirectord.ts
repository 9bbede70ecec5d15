/**
 * ldirectord.cf -> model, reading the file the way ldirectord 4.x's
 * read_config does (see render/ldirectord.ts for the facts): a virtual's
 * options are indented by a tab or 4+ spaces, a blank line ends the
 * section, `#` starts a comment inside a section, globals start at column 1.
 * Defaults are what ldirectord 4.12's code does: scheduler wrr, quiescent
 * no (set_defaults; ldirectord(8) claims yes), checktype negotiate,
 * checkinterval 10, checktimeout 5 (negotiate 30), failurecount 1.
 */
import type { Installation, InstallationInput, L4Mode, NormalizedService, Scheduler } from '../model.js';
import { SCHEDULERS } from '../model.js';
import { intToIpv4, ipv4ToInt, isIPv4, netmaskToPrefix } from '../net.js';
import { ipvsVirtuals } from '../render/ipvsadm.js';
import { ldirectordServiceName, ldirectordText, ldirectordTimers, receiveRegex } from '../render/ldirectord.js';
import { FWMARK_PLACEHOLDER_VIP, fwmarkPorts, hostPort, realNames, serviceName, tableOnlyInstallation } from './ipvsadm.js';
import { ProblemSink, modelName, refuseBinary, splitLines } from './line-scanner.js';
import { finishParse, type ParseOptions, type ParseResult } from './types.js';

/** Largest `real = A->B` range expanded (a /24). */
export const MAX_REAL_RANGE = 256;

interface Opt {
  key: string;
  value: string;
  line: number;
  column: number;
  valueColumn: number;
}

interface Virtual {
  target: Opt;
  opts: Map<string, Opt>;
  reals: Opt[];
}

const MODELLED_GLOBALS = new Set(['checktimeout', 'negotiatetimeout', 'checkinterval', 'failurecount', 'fork', 'quiescent', 'fallback']);
const UNKEPT_GLOBALS = new Set([
  'checkcount', 'autoreload', 'callback', 'logfile', 'execute', 'supervised', 'readdquiescent', 'emailalert', 'emailalertfreq',
  'emailalertstatus', 'emailalertfrom', 'cleanstop', 'smtp', 'maintenancedir', 'fallbackcommand',
]);
const MODELLED_VIRTUAL = new Set([
  'real', 'request', 'receive', 'checktype', 'checkcommand', 'checktimeout', 'negotiatetimeout', 'failurecount', 'checkinterval',
  'checkport', 'scheduler', 'persistent', 'netmask', 'protocol', 'service', 'virtualhost', 'fallback', 'quiescent', 'servicename',
]);
const UNKEPT_VIRTUAL = new Set([
  'checkcount', 'login', 'passwd', 'database', 'secret', 'load', 'schedflags', 'ops', 'httpmethod', 'fallbackcommand',
  'emailalert', 'emailalertfreq', 'emailalertstatus', 'monitorfile', 'cleanstop', 'smtp', 'comment',
]);
const QUOTED = new Set(['request', 'receive']);
const METHOD_MODE: Record<string, L4Mode> = { gate: 'dr', masq: 'nat', ipip: 'tun' };

function unquote(v: string): string {
  const m = /^"(.*)"$/.exec(v);
  return m ? m[1]! : v;
}

/** Parse ldirectord.cf. Unknown keywords are positioned warnings; what ldirectord itself rejects is an error. */
export function parseLdirectord(text: string, opts: ParseOptions): ParseResult {
  const sink = new ProblemSink(opts.file);
  const refused = refuseBinary(text, sink, 'binary data: this is not an ldirectord.cf text file');
  if (refused) return refused;
  const globals = new Map<string, Opt>();
  const virtuals: Virtual[] = [];
  let current: Virtual | undefined;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length && !sink.full; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    if (/^\s*#/.test(raw)) continue;
    if (raw.trim() === '') {
      current = undefined;
      continue;
    }
    const expanded = raw.replace(/\t/g, '    ');
    const indent = expanded.length - expanded.trimStart().length;
    if (indent > 0) {
      if (!current) {
        sink.error(lineNo, 1, 'an indented option outside a virtual section', 'ldirectord ends a virtual section at the first blank or unindented line: keep its options together right under "virtual ="');
        continue;
      }
      if (indent < 4) {
        sink.error(lineNo, 1, 'options of a virtual are indented by a tab or at least 4 spaces');
        continue;
      }
      const body = expanded.trimStart().replace(/#.*$/, '').trimEnd();
      const col = raw.length - raw.trimStart().length + 1;
      const kv = /^([a-z0-9]+)\s*=\s*(.*)$/.exec(body);
      if (!kv) {
        sink.error(lineNo, col, 'expected "option = value"');
        continue;
      }
      const key = kv[1]!;
      const opt: Opt = { key, value: kv[2]!, line: lineNo, column: col, valueColumn: col + body.indexOf(kv[2]!, key.length) };
      if (QUOTED.has(key)) {
        const q = /^"(.*)"/.exec(opt.value);
        if (!q || q[1] === '') {
          sink.error(lineNo, opt.valueColumn, `${key} takes a non-empty quoted string: ${key} = "..."`, 'a "#" inside the string starts a comment in ldirectord.cf');
          continue;
        }
        opt.value = q[1]!;
      } else {
        opt.value = unquote(opt.value.trim());
      }
      if (key === 'real') current.reals.push(opt);
      else if (MODELLED_VIRTUAL.has(key)) current.opts.set(key, opt);
      else if (UNKEPT_VIRTUAL.has(key)) sink.warn(lineNo, col, `"${key}" is not kept: the model has no place for it`);
      else sink.warn(lineNo, col, `unknown keyword "${key}" in a virtual section; ignored`, 'ldirectord itself refuses unknown commands: fix the file before using it');
      continue;
    }
    current = undefined;
    const kv = /^([a-z0-9]+)\s*=\s*(.*)$/.exec(raw.trimEnd());
    if (!kv) {
      sink.error(lineNo, 1, 'expected "option = value" or "virtual = ADDRESS:PORT|FWMARK"');
      continue;
    }
    const key = kv[1]!;
    const opt: Opt = { key, value: unquote(kv[2]!.trim()), line: lineNo, column: 1, valueColumn: raw.indexOf(kv[2]!, key.length) + 1 };
    if (key === 'virtual') {
      current = { target: opt, opts: new Map(), reals: [] };
      virtuals.push(current);
    } else if (key === 'virtual6') {
      sink.error(lineNo, 1, 'IPv6 virtual services are not supported by lvs-toolkit yet');
    } else if (MODELLED_GLOBALS.has(key)) globals.set(key, opt);
    else if (UNKEPT_GLOBALS.has(key)) sink.warn(lineNo, 1, `"${key}" is not kept: the model has no place for it`);
    else sink.warn(lineNo, 1, `unknown keyword "${key}"; ignored`, 'ldirectord itself refuses unknown commands: fix the file before using it');
  }
  if (sink.hasErrors) return { ok: false, problems: sink.list };
  if (virtuals.length === 0) {
    sink.error(lines.length + 1, 1, 'no "virtual =" section: nothing to balance');
    return { ok: false, problems: sink.list };
  }
  const services = virtuals.map((v) => buildService(v, globals, sink));
  if (sink.hasErrors) return { ok: false, problems: sink.list };
  const input: InstallationInput = {
    version: 1,
    manager: 'ldirectord',
    directors: [],
    services: services.filter((s): s is NonNullable<typeof s> => s !== undefined),
  };
  return finishParse(input, opts.file, sink.list);
}

function posInt(o: Opt, sink: ProblemSink, min: number, max: number): number | undefined {
  if (/^\d+$/.test(o.value) && Number(o.value) >= min && Number(o.value) <= max) return Number(o.value);
  sink.error(o.line, o.valueColumn, `${o.key}: expected a whole number ${min}..${max}, got "${o.value}"`);
  return undefined;
}

function yesNo(o: Opt, sink: ProblemSink): boolean | undefined {
  if (o.value === 'yes' || o.value === 'no') return o.value === 'yes';
  sink.error(o.line, o.valueColumn, `${o.key} must be yes or no, got "${o.value}"`);
  return undefined;
}

type InputService = NonNullable<InstallationInput['services']>[number];

function buildService(v: Virtual, globals: Map<string, Opt>, sink: ProblemSink): InputService | undefined {
  const o = (k: string): Opt | undefined => v.opts.get(k);
  const t = v.target;
  let vip: string | undefined;
  let port = 0;
  let fwmark: number | undefined;
  if (/^\d+$/.test(t.value)) {
    fwmark = Number(t.value);
    if (fwmark < 1 || fwmark > 4294967295) {
      sink.error(t.line, t.valueColumn, `virtual: firewall mark ${t.value} is outside 1..4294967295`);
      return undefined;
    }
  } else {
    const hp = hostPort(t.value, { line: t.line, column: t.valueColumn }, sink, 'virtual');
    if (!hp) return undefined;
    vip = hp.address;
    port = hp.port;
    if (port === 0) {
      sink.error(t.line, t.valueColumn, 'virtual: port 0 is not a service port; use a firewall mark for all ports');
      return undefined;
    }
  }
  let protocol: 'tcp' | 'udp' = port === 53 ? 'udp' : 'tcp';
  const pr = o('protocol');
  if (pr) {
    if (fwmark !== undefined && pr.value !== 'fwm') sink.error(pr.line, pr.valueColumn, 'protocol must be fwm for a firewall-mark virtual');
    else if (fwmark === undefined && pr.value !== 'tcp' && pr.value !== 'udp') sink.error(pr.line, pr.valueColumn, `protocol must be tcp or udp for an address:port virtual, got "${pr.value}"`);
    else if (pr.value === 'udp') protocol = 'udp';
    else protocol = 'tcp';
  }
  let scheduler: Scheduler = 'wrr';
  const sc = o('scheduler');
  if (sc) {
    if ((SCHEDULERS as readonly string[]).includes(sc.value)) scheduler = sc.value as Scheduler;
    else sink.error(sc.line, sc.valueColumn, `unknown scheduler "${sc.value}"; expected one of ${SCHEDULERS.join(', ')}`);
  }
  let persistence: { timeout: number; netmask?: string } | undefined;
  const pe = o('persistent');
  if (pe) {
    const n = posInt(pe, sink, 1, 2678400);
    if (n !== undefined) persistence = { timeout: n };
  }
  const nm = o('netmask');
  if (nm) {
    if (netmaskToPrefix(nm.value) === undefined) sink.error(nm.line, nm.valueColumn, `netmask: expected a dotted netmask like 255.255.255.0, got "${nm.value}"`);
    else if (persistence) persistence.netmask = nm.value;
    else sink.warn(nm.line, nm.column, 'netmask without persistent does nothing; ignored');
  }
  const reals: { address: string; port: number; weight: number; mode: L4Mode; line: number; column: number }[] = [];
  for (const r of v.reals) {
    const m = /^(\S+?)(?:->(\S+?))?(?::(\S+))?\s+(\S+)(?:\s+(\d+))?(.*)$/.exec(r.value);
    if (!m) {
      sink.error(r.line, r.valueColumn, 'real: expected "ADDRESS[:PORT] gate|masq|ipip [WEIGHT]"');
      continue;
    }
    const mode = METHOD_MODE[m[4]!];
    if (!mode) {
      sink.error(r.line, r.valueColumn, `real: forward method must be gate, masq or ipip, got "${m[4]}"`);
      continue;
    }
    const weight = m[5] === undefined ? 1 : Number(m[5]);
    if (weight > 65535) {
      sink.error(r.line, r.valueColumn, `real: weight ${weight} is outside 0..65535`);
      continue;
    }
    if (m[6]!.trim() !== '') sink.warn(r.line, r.valueColumn, `real: "${m[6]!.trim()}" (per-server request/receive or thresholds) is not kept`);
    const first = hostPort(m[3] !== undefined ? `${m[1]}:${m[3]}` : m[1]!, { line: r.line, column: r.valueColumn }, sink, 'real', false);
    if (!first) continue;
    const rport = mode !== 'nat' && fwmark === undefined ? port : first.port === 0 && fwmark === undefined ? port : first.port;
    if (m[2] === undefined) {
      reals.push({ address: first.address, port: rport, weight, mode, line: r.line, column: r.column });
      continue;
    }
    if (!isIPv4(m[2])) {
      sink.error(r.line, r.valueColumn, `real: range end "${m[2]}" is not an IPv4 address`);
      continue;
    }
    const a = ipv4ToInt(first.address);
    const b = ipv4ToInt(m[2]);
    if (b < a || b - a >= MAX_REAL_RANGE) {
      sink.error(r.line, r.valueColumn, `real: range ${first.address}->${m[2]} must run upwards and hold at most ${MAX_REAL_RANGE} addresses`);
      continue;
    }
    for (let n = a; n <= b; n++) reals.push({ address: intToIpv4(n), port: rport, weight, mode, line: r.line, column: r.column });
  }
  const modes = new Set(reals.map((r) => r.mode));
  if (modes.size > 1) {
    const odd = reals.find((r) => r.mode !== reals[0]!.mode)!;
    sink.error(odd.line, odd.column, `real servers of virtual ${t.value} use different forward methods (${[...modes].join(', ')}); a service has one mode`);
    return undefined;
  }
  let sorryServer: { address: string; port?: number } | undefined;
  let fallbackMode: L4Mode | undefined;
  const fb = o('fallback') ?? globals.get('fallback');
  if (fb) {
    const m = /^(\S+?)(?::(\S+))?(?:\s+(\S+))?$/.exec(fb.value);
    const hp = m ? hostPort(m[2] !== undefined ? `${m[1]}:${m[2]}` : m[1]!, { line: fb.line, column: fb.valueColumn }, sink, 'fallback', false) : undefined;
    if (!m) sink.error(fb.line, fb.valueColumn, 'fallback: expected "ADDRESS[:PORT] [gate|masq|ipip]"');
    if (m?.[3] !== undefined) {
      fallbackMode = METHOD_MODE[m[3]];
      if (!fallbackMode) sink.error(fb.line, fb.valueColumn, `fallback: forward method must be gate, masq or ipip, got "${m[3]}"`);
    }
    if (hp) sorryServer = { address: hp.address, ...(m?.[2] !== undefined ? { port: hp.port } : {}) };
  }
  const mode: L4Mode = reals[0]?.mode ?? fallbackMode ?? 'dr';
  if (fb && fallbackMode && fallbackMode !== mode) sink.warn(fb.line, fb.column, `fallback forwards by ${fallbackMode}, the real servers by ${mode}: the model keeps one mode`);

  const timer = (k: string, local: boolean): number | undefined => {
    const e = local ? o(k) : globals.get(k);
    return e ? posInt(e, sink, 1, 86400) : undefined;
  };
  const forking = globals.get('fork') ? yesNo(globals.get('fork')!, sink) === true : false;
  const ci = o('checkinterval');
  if (ci && !forking) sink.warn(ci.line, ci.column, 'checkinterval inside a virtual is ignored by ldirectord unless fork = yes');
  const delayLoop = (forking ? timer('checkinterval', true) : undefined) ?? timer('checkinterval', false) ?? 10;
  const failures = timer('failurecount', true) ?? timer('failurecount', false) ?? 1;

  let checktype = o('checktype')?.value ?? 'negotiate';
  const service = o('service')?.value ?? (fwmark !== undefined ? 'none' : defaultService(port));
  const negotiate = checktype === 'negotiate';
  const connectTimeout = negotiate
    ? timer('negotiatetimeout', true) ?? timer('checktimeout', true) ?? timer('negotiatetimeout', false) ?? timer('checktimeout', false) ?? 30
    : timer('checktimeout', true) ?? timer('negotiatetimeout', true) ?? timer('checktimeout', false) ?? timer('negotiatetimeout', false) ?? 5;
  let checkPort: number | undefined;
  const cp = o('checkport');
  if (cp) checkPort = posInt(cp, sink, 1, 65535);
  const portPart = checkPort !== undefined ? { port: checkPort } : {};
  let healthCheck: InputService['healthCheck'] = { type: 'tcp', ...portPart };
  const ct = o('checktype');
  if (/^\d+$/.test(checktype)) {
    sink.warn(ct!.line, ct!.valueColumn, `checktype ${checktype} (connect, with a negotiate every ${checktype} checks) is imported as its negotiate check`);
    checktype = 'negotiate';
  }
  switch (checktype) {
    case 'connect':
      healthCheck = { type: 'tcp', ...portPart };
      break;
    case 'ping':
      sink.warn(ct!.line, ct!.valueColumn, 'checktype ping is imported as a TCP connect check (the model has no ICMP check)');
      break;
    case 'on':
      healthCheck = { type: 'none' };
      break;
    case 'off':
      sink.warn(ct!.line, ct!.valueColumn, 'checktype off keeps every real server out; imported as no check (always in)');
      healthCheck = { type: 'none' };
      break;
    case 'external':
    case 'external-perl': {
      const cc = o('checkcommand');
      healthCheck = { type: 'script', command: cc?.value || '/bin/true' };
      if (checktype === 'external-perl') sink.warn(ct!.line, ct!.valueColumn, 'external-perl is imported as an external command');
      break;
    }
    case 'negotiate': {
      const req = o('request');
      const rec = o('receive');
      if (service === 'http' || service === 'https') {
        const path = req ? (req.value.startsWith('/') ? req.value : `/${req.value}`) : '/';
        const vh = o('virtualhost');
        healthCheck = { type: service, path, ...(vh ? { virtualhost: vh.value } : {}), ...portPart };
        if (rec) sink.warn(rec.line, rec.column, 'receive on an http check is not kept: the model checks the status, not the body');
      } else if (service === 'simpletcp') {
        // check_simpletcp sends the request without its first character when it begins with "/" (read_config adds one).
        const send = (req ? (req.value.startsWith('/') ? req.value.slice(1) : req.value) : '').replace(/\\n/g, '\n');
        healthCheck = { type: 'send-expect', send, expect: rec?.value ?? '', regex: true, ...portPart };
      } else if (service === 'none') {
        healthCheck = { type: 'none' };
      } else {
        const so = o('service');
        sink.warn(so?.line ?? t.line, so?.column ?? 1, `service ${service} check is imported as a TCP connect check (the model knows http, https and send/expect)`);
      }
      break;
    }
    default:
      sink.error(ct!.line, ct!.valueColumn, `checktype must be connect, negotiate, external, external-perl, ping, on, off or a number, got "${checktype}"`);
  }
  let quiescent = false;
  const q = o('quiescent') ?? globals.get('quiescent');
  if (q) quiescent = yesNo(q, sink) ?? false;

  const sn = o('servicename');
  const fallbackName = serviceName(protocol, vip, port, fwmark);
  let name = fallbackName;
  if (sn) {
    name = modelName(sn.value, fallbackName);
    if (name !== sn.value) sink.warn(sn.line, sn.valueColumn, `servicename "${sn.value}" imported as "${name}" (names are letters, digits, _ . -)`);
  }
  let ports = [port];
  if (fwmark !== undefined) {
    ports = fwmarkPorts(reals.map((r) => r.port));
    sink.warn(t.line, t.valueColumn, `firewall mark ${fwmark}: ldirectord.cf does not say its VIP or ports; imported with VIP ${FWMARK_PLACEHOLDER_VIP} and ports ${ports.join(',')}`, 'set the VIP and the marked ports in the model before generating other files');
  }
  return {
    name,
    vip: vip ?? FWMARK_PLACEHOLDER_VIP,
    protocol,
    ports,
    ...(fwmark !== undefined ? { fwmark } : {}),
    scheduler,
    ...(persistence ? { persistence } : {}),
    mode,
    realServers: realNames(reals).map((r) => ({ name: r.name, address: r.address, port: r.port, weight: r.weight })),
    healthCheck,
    checkTimers: { delayLoop, connectTimeout, retry: failures - 1, delayBeforeRetry: delayLoop },
    ...(sorryServer ? { sorryServer } : {}),
    quiescent,
  };
}

/** ldirectord's `service` default for a negotiate check, by virtual port (ldirectord(8)). */
function defaultService(port: number): string {
  const byPort: Record<number, string> = {
    21: 'ftp', 25: 'smtp', 53: 'dns', 80: 'http', 110: 'pop', 119: 'nntp', 143: 'imap', 389: 'ldap', 443: 'https', 587: 'submission',
    636: 'ldaps', 993: 'imaps', 995: 'pops', 1521: 'oracle', 1812: 'radius', 3128: 'http_proxy', 3306: 'mysql', 5432: 'pgsql', 5060: 'sip',
  };
  return byPort[port] ?? 'none';
}

/**
 * What of `model` survives ldirectord.cf: `parseLdirectord(renderLdirectord(m))`
 * equals `projectLdirectord(m)`. One service per IPVS virtual (a multi-port
 * service splits, named NAME-PORT), fwmark services get the placeholder VIP,
 * timers in whole seconds with delayBeforeRetry = delayLoop, send/expect as
 * ldirectord sends and matches it, no directors.
 */
export function projectLdirectord(model: Installation): Installation {
  const services: NormalizedService[] = ipvsVirtuals(model).map((v) => {
    const s = v.service;
    const fw = s.fwmark;
    const t = ldirectordTimers(s);
    const hc = s.healthCheck;
    let healthCheck: NormalizedService['healthCheck'];
    switch (hc.type) {
      case 'none':
      case 'tcp':
      case 'script':
        healthCheck = { ...hc };
        break;
      case 'http':
      case 'https':
        healthCheck = { type: hc.type, path: hc.path, ...(hc.virtualhost !== undefined ? { virtualhost: hc.virtualhost } : {}), ...(hc.port !== undefined ? { port: hc.port } : {}) };
        break;
      case 'send-expect':
        healthCheck = { type: 'send-expect', send: ldirectordText(hc.send), expect: receiveRegex(hc.expect, hc.regex), regex: true, ...(hc.port !== undefined ? { port: hc.port } : {}) };
        break;
      default: {
        const never: never = hc;
        return never;
      }
    }
    const reals = v.realServers.map((r) => ({ ...r, port: s.mode !== 'nat' && fw === undefined ? v.port : r.port }));
    return {
      name: ldirectordServiceName(s, v.port),
      vip: fw !== undefined ? FWMARK_PLACEHOLDER_VIP : s.vip,
      protocol: fw !== undefined ? 'tcp' : s.protocol,
      ports: fw !== undefined ? fwmarkPorts(reals.map((r) => r.port)) : [v.port],
      ...(fw !== undefined ? { fwmark: fw } : {}),
      scheduler: s.scheduler,
      ...(s.persistence ? { persistence: { ...s.persistence } } : {}),
      mode: s.mode,
      realServers: realNames(reals).map((r) => ({ name: r.name, address: r.address, port: r.port, weight: r.weight, platform: { type: 'host' as const }, interface: 'eth0' })),
      healthCheck,
      checkTimers: { delayLoop: t.checkinterval, connectTimeout: t.checktimeout, retry: t.failurecount - 1, delayBeforeRetry: t.checkinterval },
      ...(s.sorryServer ? { sorryServer: { ...s.sorryServer } } : {}),
      quiescent: s.quiescent,
    };
  });
  return tableOnlyInstallation('ldirectord', services);
}
