/**
 * lvs.cf (Piranha) -> model. The file says less than the model: no prefixes
 * for the directors' own addresses, no platforms, no VRRP. What it does say
 * is kept, and `projectLvsCf` states exactly what survives a round trip.
 * The timer mapping is documented in render/lvs-cf.ts.
 */
import type { Installation, InstallationInput, Mode, NormalizedService } from '../model.js';
import { SCHEDULERS, isL4 } from '../model.js';
import { addressOf, cidrContains, isIPv4, netmaskToPrefix, prefixOf } from '../net.js';
import { NANNY_INTERVAL, heartbeatAddress, nannyCheck, vipDevice } from '../render/lvs-cf.js';
import { ProblemSink, modelName, refuseBinary, splitLines } from './line-scanner.js';
import { finishParse, type ParseOptions, type ParseResult } from './types.js';

/** The Piranha configuration tool's defaults for nanny's `timeout` and `reentry` (seeds 002 and 004 carry them). */
export const NANNY_DEFAULT_TIMEOUT = 6;
export const NANNY_DEFAULT_REENTRY = 15;

interface Entry {
  key: string;
  value: string;
  line: number;
  keyColumn: number;
  valueColumn: number;
}

interface Block {
  kind: 'virtual' | 'server';
  name: string;
  line: number;
  column: number;
  entries: Map<string, Entry>;
  servers: Block[];
}

const GLOBAL_KEYS = new Set([
  'serial_no', 'primary', 'service', 'backup_active', 'backup', 'heartbeat', 'heartbeat_port', 'keepalive', 'deadtime',
  'network', 'nat_router', 'nat_nmask', 'debug_level', 'monitor_links', 'syncdaemon',
]);
/** Known lvs.cf(5) globals the model has no place for: read, reported, not kept. */
const GLOBAL_UNKEPT = new Set([
  'primary_private', 'backup_private', 'rsh_command', 'reservation_conflict_action', 'tcp_timeout', 'tcpfin_timeout',
  'udp_timeout', 'hard_shutdown', 'syncd_iface', 'syncd_id', 'lvs_command',
]);
const VIRTUAL_KEYS = new Set([
  'active', 'address', 'vip_nmask', 'fwmark', 'port', 'persistent', 'pmask', 'send', 'expect', 'use_regex', 'send_program',
  'load_monitor', 'scheduler', 'protocol', 'timeout', 'reentry', 'quiesce_server', 'sorry_server',
]);
const SERVER_KEYS = new Set(['address', 'active', 'weight']);

/** Undo lvs.cf escapes in a quoted value (\r \n \t, and \x for any other x). */
function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => (c === 'r' ? '\r' : c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/**
 * Parse lvs.cf text. Unknown keywords are warnings at their position; bad
 * values, unclosed blocks and missing required settings are errors.
 */
export function parseLvsCf(text: string, opts: ParseOptions): ParseResult {
  const sink = new ProblemSink(opts.file);
  const refused = refuseBinary(text, sink, 'binary data: this is not an lvs.cf text file', 'point at /etc/sysconfig/ha/lvs.cf');
  if (refused) return refused;
  const globals = new Map<string, Entry>();
  const virtuals: Block[] = [];
  const stack: Block[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length && !sink.full; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const indent = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (body === '' || body.startsWith('#')) continue;
    const open = /^(virtual|server)\s+(\S+)\s*\{$/.exec(body);
    if (open) {
      const kind = open[1] as 'virtual' | 'server';
      const top = stack[stack.length - 1];
      const block: Block = { kind, name: open[2]!, line: lineNo, column: indent + 1, entries: new Map(), servers: [] };
      if (kind === 'virtual') {
        if (top) {
          sink.error(lineNo, indent + 1, `"virtual" inside ${top.kind} ${top.name} (opened at line ${top.line})`, 'close the previous block with }');
          continue;
        }
        virtuals.push(block);
      } else {
        if (top?.kind !== 'virtual') {
          sink.error(lineNo, indent + 1, top ? `"server" inside server ${top.name}` : '"server" outside a virtual block', 'put server blocks inside virtual NAME { ... }');
          continue;
        }
        top.servers.push(block);
      }
      stack.push(block);
      continue;
    }
    if (body === '}') {
      if (!stack.pop()) sink.error(lineNo, indent + 1, '"}" closes nothing');
      continue;
    }
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(body);
    if (!kv) {
      sink.error(lineNo, indent + 1, 'expected "key = value", "virtual NAME {", "server NAME {" or "}"');
      continue;
    }
    const key = kv[1]!;
    const valueColumn = indent + body.indexOf(kv[2]!, key.length) + 1;
    let value = kv[2]!.trim();
    if (value.startsWith('"')) {
      const q = /^"((?:[^"\\]|\\.)*)"\s*$/.exec(value);
      if (!q) {
        sink.error(lineNo, valueColumn, `unterminated or malformed quoted value for ${key}`, 'close the string with " (escape a quote inside as \\")');
        continue;
      }
      value = unescape(q[1]!);
    }
    const entry: Entry = { key, value, line: lineNo, keyColumn: indent + 1, valueColumn };
    const top = stack[stack.length - 1];
    const known = !top ? GLOBAL_KEYS : top.kind === 'virtual' ? VIRTUAL_KEYS : SERVER_KEYS;
    const where = !top ? 'global' : `${top.kind} ${top.name}`;
    if (!known.has(key)) {
      if (!top && GLOBAL_UNKEPT.has(key)) sink.warn(lineNo, indent + 1, `"${key}" is not kept: the model has no place for it`);
      else sink.warn(lineNo, indent + 1, `unknown keyword "${key}" in ${where} section; ignored`, `lvs.cf(5) ${!top ? 'globals' : top.kind} keywords: ${[...known].join(', ')}`);
      continue;
    }
    const map = top ? top.entries : globals;
    const prev = map.get(key);
    if (prev) sink.warn(lineNo, indent + 1, `"${key}" given again (first at line ${prev.line}); the last one counts`);
    map.set(key, entry);
  }
  if (!sink.full) {
    for (const open of stack) {
      sink.error(lines.length + 1, 1, `${open.kind} ${open.name} (opened at line ${open.line}) is not closed: expected "}" before the end of the file`);
    }
  }
  if (sink.hasErrors) return { ok: false, problems: sink.list };
  const input = build(globals, virtuals, sink);
  if (sink.hasErrors || !input) return { ok: false, problems: sink.list };
  return finishParse(input, opts.file, sink.list);
}

function number(e: Entry, sink: ProblemSink, what: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  const n = Number(e.value);
  const ok = e.value !== '' && Number.isFinite(n) && (!opts.int || Number.isInteger(n)) && (opts.min === undefined || n >= opts.min) && (opts.max === undefined || n <= opts.max);
  if (!ok) {
    const range = opts.min !== undefined && opts.max !== undefined ? ` ${opts.min}..${opts.max}` : '';
    sink.error(e.line, e.valueColumn, `${e.key}: expected ${what}${range}, got "${e.value}"`);
    return undefined;
  }
  return n;
}

function flag(e: Entry, sink: ProblemSink): boolean | undefined {
  if (e.value === '0' || e.value === '1') return e.value === '1';
  sink.error(e.line, e.valueColumn, `${e.key}: expected 0 or 1, got "${e.value}"`);
  return undefined;
}

function address(e: Entry, sink: ProblemSink): string | undefined {
  if (isIPv4(e.value)) return e.value;
  sink.error(e.line, e.valueColumn, `${e.key}: expected an IPv4 address like 10.0.0.1, got "${e.value}"`, 'lvs.cf may name hosts, but an import needs addresses');
  return undefined;
}

/** "10.10.1.30 eth0:1" -> address and base device. */
function addressDevice(e: Entry, sink: ProblemSink): { ip: string; dev: string } | undefined {
  const m = /^(\S+)\s+([A-Za-z0-9_.@-]+)(?::\d+)?$/.exec(e.value);
  if (!m) {
    sink.error(e.line, e.valueColumn, `${e.key}: expected "ADDRESS DEVICE:N" like "10.10.1.30 eth0:1", got "${e.value}"`);
    return undefined;
  }
  if (!isIPv4(m[1]!)) {
    sink.error(e.line, e.valueColumn, `${e.key}: expected an IPv4 address like 10.0.0.1, got "${m[1]}"`);
    return undefined;
  }
  return { ip: m[1]!, dev: m[2]! };
}

const NETWORK_MODE: Record<string, Mode> = { nat: 'nat', direct: 'dr', tunnel: 'tun' };

function build(globals: Map<string, Entry>, virtuals: Block[], sink: ProblemSink): InstallationInput | undefined {
  const get = (k: string): Entry | undefined => globals.get(k);
  const svc = get('service');
  if (svc && svc.value !== 'lvs') {
    sink.error(svc.line, svc.valueColumn, `service = ${svc.value}: only LVS virtual servers (service = lvs) are read; "fos" failover services are not load balancing`);
  }
  let mode: Mode = 'nat';
  const net = get('network');
  if (!net) sink.warn(1, 1, 'no "network =": Piranha then does NAT', 'say network = nat, direct or tunnel');
  else if (NETWORK_MODE[net.value]) mode = NETWORK_MODE[net.value]!;
  else sink.error(net.line, net.valueColumn, `network: expected nat, direct or tunnel, got "${net.value}"`);

  let natRouter: { address: string; interface: string } | undefined;
  const nr = get('nat_router');
  if (nr) {
    const ad = addressDevice(nr, sink);
    const mask = get('nat_nmask');
    let prefix = 24;
    if (mask) {
      const p = netmaskToPrefix(mask.value);
      if (p === undefined) sink.error(mask.line, mask.valueColumn, `nat_nmask: expected a netmask like 255.255.255.0, got "${mask.value}"`);
      else prefix = p;
    } else {
      sink.warn(nr.line, nr.keyColumn, 'no nat_nmask: the NAT network is taken as /24', 'add nat_nmask = 255.255.255.0 (or the real mask)');
    }
    if (ad) natRouter = { address: `${ad.ip}/${prefix}`, interface: ad.dev };
  }

  const piranha: NonNullable<InstallationInput['piranha']> = {};
  const opt = <T>(k: string, f: (e: Entry) => T | undefined, set: (v: T) => void): void => {
    const e = get(k);
    if (!e) return;
    const v = f(e);
    if (v !== undefined) set(v);
  };
  opt('serial_no', (e) => number(e, sink, 'a whole number', { int: true, min: 0 }), (v) => (piranha.serialNo = v));
  opt('heartbeat', (e) => flag(e, sink), (v) => (piranha.heartbeat = v));
  opt('heartbeat_port', (e) => number(e, sink, 'a port', { int: true, min: 1, max: 65535 }), (v) => (piranha.heartbeatPort = v));
  opt('keepalive', (e) => number(e, sink, 'seconds above 0', { min: Number.MIN_VALUE }), (v) => (piranha.keepalive = v));
  opt('deadtime', (e) => number(e, sink, 'seconds above 0', { min: Number.MIN_VALUE }), (v) => (piranha.deadtime = v));
  opt('monitor_links', (e) => flag(e, sink), (v) => (piranha.monitorLinks = v));
  opt('syncdaemon', (e) => flag(e, sink), (v) => (piranha.syncDaemon = v));
  opt('debug_level', (e) => e.value, (v) => (piranha.debugLevel = v));
  opt('primary', (e) => address(e, sink), (v) => (piranha.primary = v));
  let backupActive = false;
  opt('backup_active', (e) => flag(e, sink), (v) => (backupActive = v));
  const backupEntry = get('backup');
  if (backupEntry && backupActive) {
    const b = address(backupEntry, sink);
    if (b) piranha.backup = b;
  } else if (backupEntry) {
    sink.warn(backupEntry.line, backupEntry.keyColumn, 'backup is set but backup_active is not 1: no backup director is imported');
  } else if (backupActive) {
    const e = get('backup_active')!;
    sink.error(e.line, e.keyColumn, 'backup_active = 1 but no "backup = ADDRESS"');
  }
  const primaryEntry = get('primary');
  if (!primaryEntry) sink.warn(1, 1, 'no "primary =": the import has no director', 'add primary = the primary router\'s address');

  const services: NonNullable<InstallationInput['services']> = [];
  const devices: string[] = [];
  for (const v of virtuals) {
    const e = (k: string): Entry | undefined => v.entries.get(k);
    const active = e('active');
    if (active && flag(active, sink) === false) {
      sink.warn(v.line, v.column, `virtual ${v.name} is inactive (active = 0): not imported`);
      continue;
    }
    const addr = e('address');
    const port = e('port');
    if (!addr) sink.error(v.line, v.column, `virtual ${v.name}: no "address = VIP DEVICE:N"`);
    if (!port) sink.error(v.line, v.column, `virtual ${v.name}: no "port ="`);
    if (!addr || !port) continue;
    const ad = addressDevice(addr, sink);
    const portN = number(port, sink, 'a port', { int: true, min: 1, max: 65535 });
    if (!ad || portN === undefined) continue;
    if (!devices.includes(ad.dev)) devices.push(ad.dev);
    const nm = e('vip_nmask');
    if (nm && nm.value !== '255.255.255.255') {
      sink.warn(nm.line, nm.keyColumn, `vip_nmask ${nm.value} is not kept: the model brings every VIP up as a /32`);
    }
    let fwmark: number | undefined;
    const fm = e('fwmark');
    if (fm) fwmark = number(fm, sink, 'a firewall mark', { int: true, min: 1, max: 4294967295 });
    let protocol: 'tcp' | 'udp' = 'tcp';
    const pr = e('protocol');
    if (pr) {
      if (pr.value === 'tcp' || pr.value === 'udp') protocol = pr.value;
      else sink.error(pr.line, pr.valueColumn, `protocol: expected tcp or udp, got "${pr.value}"`);
    }
    let scheduler: (typeof SCHEDULERS)[number] = 'wlc';
    const sc = e('scheduler');
    if (sc) {
      if ((SCHEDULERS as readonly string[]).includes(sc.value)) scheduler = sc.value as (typeof SCHEDULERS)[number];
      else sink.error(sc.line, sc.valueColumn, `scheduler: expected one of ${SCHEDULERS.join(', ')}, got "${sc.value}"`);
    }
    let persistence: { timeout: number; netmask?: string } | undefined;
    const pe = e('persistent');
    if (pe) {
      const t = number(pe, sink, 'seconds', { int: true, min: 0, max: 2678400 });
      if (t) persistence = { timeout: t };
    }
    const pm = e('pmask');
    if (pm) {
      if (netmaskToPrefix(pm.value) === undefined) sink.error(pm.line, pm.valueColumn, `pmask: expected a netmask like 255.255.255.0, got "${pm.value}"`);
      else if (persistence) persistence.netmask = pm.value;
      else sink.warn(pm.line, pm.keyColumn, 'pmask without persistent does nothing; ignored');
    }
    const lm = e('load_monitor');
    if (lm && lm.value !== 'none') sink.warn(lm.line, lm.keyColumn, `load_monitor ${lm.value} is not kept: the model has no load monitor`);
    const timeout = e('timeout');
    const reentry = e('reentry');
    const connectTimeout = timeout ? number(timeout, sink, 'seconds above 0', { min: Number.MIN_VALUE, max: 3600 }) : NANNY_DEFAULT_TIMEOUT;
    const delayBeforeRetry = reentry ? number(reentry, sink, 'seconds', { min: 0, max: 3600 }) : NANNY_DEFAULT_REENTRY;
    let healthCheck: NormalizedService['healthCheck'] = { type: 'tcp' };
    const sp = e('send_program');
    const send = e('send');
    const expect = e('expect');
    const ur = e('use_regex');
    const regex = ur ? flag(ur, sink) ?? false : false;
    if (sp && sp.value !== '') {
      healthCheck = { type: 'script', command: sp.value };
      if (send) sink.warn(send.line, send.keyColumn, 'send is ignored when send_program is set (nanny runs the program instead)');
      if (expect) sink.warn(expect.line, expect.keyColumn, 'expect with send_program is not kept: the model judges a check script by its exit status');
    } else if ((send && send.value !== '') || (expect && expect.value !== '')) {
      healthCheck = { type: 'send-expect', send: send?.value ?? '', expect: expect?.value ?? '', regex };
    }
    let quiescent = false;
    const qs = e('quiesce_server');
    if (qs) quiescent = flag(qs, sink) ?? false;
    let sorryServer: { address: string } | undefined;
    const ss = e('sorry_server');
    if (ss) {
      const a = address(ss, sink);
      if (a) sorryServer = { address: a };
    }
    const realServers: NonNullable<InstallationInput['services']>[number]['realServers'] = [];
    for (const s of v.servers) {
      const se = (k: string): Entry | undefined => s.entries.get(k);
      const sa = se('active');
      if (sa && flag(sa, sink) === false) {
        sink.warn(s.line, s.column, `server ${s.name} is inactive (active = 0): not imported`);
        continue;
      }
      const ra = se('address');
      if (!ra) {
        sink.error(s.line, s.column, `server ${s.name}: no "address ="`);
        continue;
      }
      const ip = address(ra, sink);
      const w = se('weight');
      const weight = w ? number(w, sink, 'a weight', { int: true, min: 0, max: 65535 }) : 1;
      if (!ip || weight === undefined) continue;
      const name = modelName(s.name, ip);
      if (name !== s.name) sink.warn(s.line, s.column, `server name "${s.name}" imported as "${name}" (names are letters, digits, _ . -)`);
      realServers.push({
        name,
        address: ip,
        port: portN,
        weight,
        ...(mode === 'nat' && natRouter ? { gateway: addressOf(natRouter.address) } : {}),
      });
    }
    const name = modelName(v.name, `virtual-${services.length + 1}`);
    if (name !== v.name) sink.warn(v.line, v.column, `virtual name "${v.name}" imported as "${name}"`);
    if (connectTimeout === undefined || delayBeforeRetry === undefined) continue;
    services.push({
      name,
      vip: ad.ip,
      protocol,
      ports: [portN],
      ...(fwmark !== undefined ? { fwmark } : {}),
      scheduler,
      ...(persistence ? { persistence } : {}),
      mode,
      realServers,
      healthCheck,
      checkTimers: { delayLoop: NANNY_INTERVAL, connectTimeout, retry: 0, delayBeforeRetry },
      ...(sorryServer ? { sorryServer } : {}),
      quiescent,
    });
  }
  if (virtuals.length === 0) sink.error(1, 1, 'no "virtual NAME { ... }" block: nothing to balance');
  if (sink.hasErrors) return undefined;
  if (natRouter && !devices.includes(natRouter.interface)) devices.push(natRouter.interface);
  if (devices.length === 0) devices.push('eth0');
  const directors: NonNullable<InstallationInput['directors']> = [];
  if (piranha.primary) directors.push(directorFor('primary', piranha.primary, devices, natRouter));
  if (piranha.primary && piranha.backup) directors.push(directorFor('backup', piranha.backup, devices, natRouter));
  return {
    version: 1,
    manager: 'piranha',
    directors,
    ...(natRouter ? { natRouter } : {}),
    services,
    piranha,
  };
}

/**
 * A director as lvs.cf knows it: its interfaces are the devices the file
 * names; its heartbeat address gets a prefix only when it lies in the NAT
 * network (nat_nmask says that prefix), otherwise the address stays in
 * piranha.primary/backup alone.
 */
function directorFor(
  name: string,
  heartbeat: string,
  devices: readonly string[],
  natRouter: { address: string; interface: string } | undefined,
): { name: string; interfaces: { name: string; address?: string }[] } {
  return {
    name,
    interfaces: devices.map((d) =>
      natRouter && d === natRouter.interface && cidrContains(natRouter.address, heartbeat)
        ? { name: d, address: `${heartbeat}/${prefixOf(natRouter.address)}` }
        : { name: d },
    ),
  };
}

/**
 * What of `model` survives lvs.cf: `parseLvsCf(renderLvsCf(m))` equals
 * `projectLvsCf(m)` when lvsCfProblems(m) has no error. Directors become
 * `primary`/`backup` on the devices the file names; services keep one port,
 * real servers the virtual's port and host defaults; checks become nanny's.
 */
export function projectLvsCf(model: Installation): Installation {
  const l4 = model.services.filter((s) => isL4(s.mode));
  const natRouter = model.natRouter;
  const devices: string[] = [];
  for (const s of l4) {
    const d = vipDevice(model, s);
    if (!devices.includes(d)) devices.push(d);
  }
  if (natRouter && !devices.includes(natRouter.interface)) devices.push(natRouter.interface);
  if (devices.length === 0) devices.push('eth0');
  const primary = model.directors.length > 0 ? heartbeatAddress(model, 0) : undefined;
  const backup = model.directors.length > 1 ? heartbeatAddress(model, 1) : undefined;
  const directors: Installation['directors'] = [];
  const platform = { type: 'host' as const };
  if (primary) directors.push({ ...directorFor('primary', primary, devices, natRouter), platform });
  if (primary && backup) directors.push({ ...directorFor('backup', backup, devices, natRouter), platform });
  const mode = l4[0]?.mode ?? 'nat';
  const services: NormalizedService[] = l4.map((s) => {
    const port = s.ports[0]!;
    const check = nannyCheck(s);
    const healthCheck: NormalizedService['healthCheck'] =
      check.kind === 'send'
        ? { type: 'send-expect', send: check.send, expect: check.expect, regex: check.regex }
        : check.kind === 'program'
          ? { type: 'script', command: check.command }
          : { type: 'tcp' };
    return {
      name: s.name,
      vip: s.vip,
      protocol: s.protocol,
      ports: [port],
      ...(s.fwmark !== undefined ? { fwmark: s.fwmark } : {}),
      scheduler: s.scheduler,
      ...(s.persistence ? { persistence: { ...s.persistence } } : {}),
      mode,
      realServers: s.realServers.map((r) => ({
        name: r.name,
        address: r.address,
        port,
        weight: r.weight,
        platform,
        interface: 'eth0',
        ...(mode === 'nat' && natRouter ? { gateway: addressOf(natRouter.address) } : {}),
      })),
      healthCheck,
      checkTimers: { delayLoop: NANNY_INTERVAL, connectTimeout: s.checkTimers.connectTimeout, retry: 0, delayBeforeRetry: s.checkTimers.delayBeforeRetry },
      ...(s.sorryServer ? { sorryServer: { address: s.sorryServer.address } } : {}),
      quiescent: s.quiescent,
    };
  });
  const piranha: NonNullable<Installation['piranha']> = { ...model.piranha };
  if (primary) piranha.primary = primary;
  else delete piranha.primary;
  if (primary && backup) piranha.backup = backup;
  else delete piranha.backup;
  return {
    version: 1,
    name: 'lvs',
    manager: 'piranha',
    timerProfile: 'default',
    directors,
    ...(natRouter ? { natRouter: { ...natRouter } } : {}),
    services,
    containerHosts: [],
    firewall: 'nftables',
    piranha,
    ipvsSysctls: { expireQuiescentTemplate: false, conntrack: false },
  };
}
