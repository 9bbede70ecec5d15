/**
 * The IPVS table -> model. Reads either form a user can paste:
 *  - rules: `ipvsadm -Sn` / `ipvsadm-save -n` (also without -n: port names
 *    like http are looked up in a small table; host names cannot be, since
 *    core does no DNS, and are errors that say to save with -n);
 *  - the listing: `ipvsadm -Ln` (`TCP  10.10.1.30:80 wlc persistent 30`,
 *    `FWM  80 wlc`, `  -> 10.8.8.33:80  Masq  1  0  0`).
 * The table holds no names, checks, timers, directors, and for a firewall
 * mark service neither its VIP nor its ports: see projectIpvsadm for what an
 * import can give back.
 */
import type { Installation, InstallationInput, L4Mode, NormalizedService, Scheduler } from '../model.js';
import { SCHEDULERS } from '../model.js';
import { isIPv4, netmaskToPrefix } from '../net.js';
import { ipvsVirtuals } from '../render/ipvsadm.js';
import { PROFILES } from '../timers.js';
import { ProblemSink, refuseBinary, splitLines } from './line-scanner.js';
import { finishParse, type ParseOptions, type ParseResult } from './types.js';

/** The VIP an import gives a fwmark service: the table does not say which addresses the mark covers. */
export const FWMARK_PLACEHOLDER_VIP = '0.0.0.0';
/** The port an import gives a fwmark service when no real server names one. */
export const FWMARK_PLACEHOLDER_PORT = 1;

/**
 * Port names `ipvsadm -S` (without -n) and ldirectord print, from
 * /etc/services (netbase). Only the names a balanced service plausibly has.
 */
export const SERVICE_PORTS: Readonly<Record<string, number>> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, www: 80, pop3: 110, nntp: 119, ntp: 123, imap2: 143, imap: 143,
  snmp: 161, ldap: 389, https: 443, submissions: 465, submission: 587, ldaps: 636, imaps: 993, pop3s: 995, openvpn: 1194,
  'ms-sql-s': 1433, radius: 1812, mysql: 3306, sip: 5060, postgresql: 5432, 'http-alt': 8080,
};

/** The ipvsadm default persistence timeout when `-p` has no value (ipvsadm(8)). */
export const IPVSADM_DEFAULT_PERSISTENCE = 300;

interface Pos {
  line: number;
  column: number;
}

interface RawService {
  key: string;
  pos: Pos;
  protocol: 'tcp' | 'udp';
  vip?: string;
  port: number;
  fwmark?: number;
  scheduler: Scheduler;
  persistence?: { timeout: number; netmask?: string };
  reals: { address: string; port: number; weight: number; mode: L4Mode | 'local'; pos: Pos }[];
}

/** Which of the two forms `text` is: rules start with -A/-a, anything else is the listing. */
export function ipvsadmFlavour(text: string): 'rules' | 'listing' {
  for (const l of splitLines(text)) {
    const t = l.trim();
    if (t === '' || t.startsWith('#')) continue;
    return t.startsWith('-') ? 'rules' : 'listing';
  }
  return 'rules';
}

/** Parse `ipvsadm -Sn` rules or the `ipvsadm -Ln` listing (detected). */
export function parseIpvsadm(text: string, opts: ParseOptions): ParseResult {
  const sink = new ProblemSink(opts.file);
  const refused = refuseBinary(text, sink, 'binary data: expected the text of ipvsadm -Sn or ipvsadm -Ln');
  if (refused) return refused;
  const services = ipvsadmFlavour(text) === 'rules' ? readRules(text, sink) : readListing(text, sink);
  if (sink.hasErrors) return { ok: false, problems: sink.list };
  if (services.length === 0) {
    sink.error(1, 1, 'no virtual service in the input', 'paste the output of ipvsadm -Sn or ipvsadm -Ln');
    return { ok: false, problems: sink.list };
  }
  const out: NonNullable<InstallationInput['services']> = [];
  for (const s of services) {
    const modes = new Set(s.reals.filter((r) => r.mode !== 'local').map((r) => r.mode));
    if (modes.size > 1) {
      const second = s.reals.find((r) => r.mode !== s.reals[0]!.mode)!;
      sink.error(second.pos.line, second.pos.column, `real servers of ${describe(s)} use different forwarding methods (${[...modes].join(', ')}); a service has one mode`, 'give every real server of the service the same -g, -m or -i');
      continue;
    }
    if (s.reals.some((r) => r.mode === 'local')) {
      const local = s.reals.find((r) => r.mode === 'local')!;
      sink.warn(local.pos.line, local.pos.column, 'a "Local" real server (an address of the director itself) is imported with the service\'s mode');
    }
    const mode: L4Mode = ([...modes][0] as L4Mode | undefined) ?? 'dr';
    let vip = s.vip;
    let ports = [s.port];
    if (s.fwmark !== undefined) {
      vip = FWMARK_PLACEHOLDER_VIP;
      ports = fwmarkPorts(s.reals.map((r) => r.port));
      sink.warn(s.pos.line, s.pos.column, `firewall mark ${s.fwmark}: the table does not say its VIP or ports; imported with VIP ${FWMARK_PLACEHOLDER_VIP} and ports ${ports.join(',')}`, 'set the VIP and the marked ports in the model before generating other files');
    }
    out.push({
      name: serviceName(s.protocol, s.vip, s.port, s.fwmark),
      vip: vip!,
      protocol: s.protocol,
      ports,
      ...(s.fwmark !== undefined ? { fwmark: s.fwmark } : {}),
      scheduler: s.scheduler,
      ...(s.persistence ? { persistence: s.persistence } : {}),
      mode,
      realServers: realNames(s.reals).map((r) => ({ name: r.name, address: r.address, port: r.port, weight: r.weight })),
    });
  }
  if (sink.hasErrors) return { ok: false, problems: sink.list };
  return finishParse({ version: 1, manager: 'ipvsadm', directors: [], services: out }, opts.file, sink.list);
}

function describe(s: RawService): string {
  return s.fwmark !== undefined ? `fwmark ${s.fwmark}` : `${s.protocol} ${s.vip}:${s.port}`;
}

/** Service names an import gives (the table has none): tcp-10.0.0.1-80, udp-…, fwmark-80. */
export function serviceName(protocol: 'tcp' | 'udp', vip: string | undefined, port: number, fwmark: number | undefined): string {
  return fwmark !== undefined ? `fwmark-${fwmark}` : `${protocol}-${vip}-${port}`;
}

/** Distinct non-zero real server ports, or the placeholder. */
export function fwmarkPorts(realPorts: readonly number[]): number[] {
  const ports: number[] = [];
  for (const p of realPorts) if (p > 0 && !ports.includes(p)) ports.push(p);
  return ports.length ? ports : [FWMARK_PLACEHOLDER_PORT];
}

/** Real servers are named by address; the same address twice (other port) gets -PORT. */
export function realNames<T extends { address: string; port: number }>(reals: readonly T[]): (T & { name: string })[] {
  const count = new Map<string, number>();
  for (const r of reals) count.set(r.address, (count.get(r.address) ?? 0) + 1);
  return reals.map((r) => ({ ...r, name: count.get(r.address)! > 1 ? `${r.address}-${r.port}` : r.address }));
}

/** "10.0.0.1:80" / "host:http" -> address and port, with positioned errors. */
export function hostPort(text: string, pos: Pos, sink: ProblemSink, what: string, portRequired = true): { address: string; port: number } | undefined {
  if (text.startsWith('[')) {
    sink.error(pos.line, pos.column, `${what} ${text}: IPv6 is not supported by lvs-toolkit yet`);
    return undefined;
  }
  const m = /^([^:\s]+)(?::([^:\s]*))?$/.exec(text);
  if (!m || (portRequired && m[2] === undefined)) {
    sink.error(pos.line, pos.column, `${what}: expected ADDRESS:PORT like 10.0.0.1:80, got "${text}"`);
    return undefined;
  }
  const host = m[1]!;
  if (!isIPv4(host)) {
    if (/^\d+(\.\d+)*$/.test(host)) sink.error(pos.line, pos.column, `${what}: "${host}" is not an IPv4 address`);
    else sink.error(pos.line, pos.column, `${what}: "${host}" is a host name; an import cannot resolve names`, 'save the table with numeric addresses: ipvsadm -Sn (or ipvsadm-save -n, ipvsadm -Ln)');
    return undefined;
  }
  const port = portNumber(m[2] ?? '0');
  if (port === undefined) {
    sink.error(pos.line, pos.column + host.length + 1, `${what}: unknown port "${m[2]}"`, 'save the table with numeric ports: ipvsadm -Sn');
    return undefined;
  }
  return { address: host, port };
}

/** "80" -> 80, "http" -> 80 (SERVICE_PORTS), anything else undefined. */
export function portNumber(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= 65535 ? n : undefined;
  }
  return SERVICE_PORTS[text];
}

const LONG: Record<string, string> = {
  '--add-service': '-A', '--add-server': '-a', '--tcp-service': '-t', '--udp-service': '-u', '--fwmark-service': '-f',
  '--scheduler': '-s', '--persistent': '-p', '--netmask': '-M', '--real-server': '-r', '--gatewaying': '-g',
  '--masquerading': '-m', '--ipip': '-i', '--weight': '-w', '--u-threshold': '-x', '--l-threshold': '-y', '--sched-flags': '-b',
};

function tokens(line: string): { text: string; column: number }[] {
  const out: { text: string; column: number }[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push({ text: m[0], column: m.index + 1 });
  return out;
}

function scheduler(text: string, pos: Pos, sink: ProblemSink): Scheduler | undefined {
  if ((SCHEDULERS as readonly string[]).includes(text)) return text as Scheduler;
  sink.error(pos.line, pos.column, `unknown scheduler "${text}"; expected one of ${SCHEDULERS.join(', ')}`);
  return undefined;
}

function readRules(text: string, sink: ProblemSink): RawService[] {
  const services = new Map<string, RawService>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length && !sink.full; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const toks = tokens(raw);
    const at = (t: { column: number }): Pos => ({ line: lineNo, column: t.column });
    let command: '-A' | '-a' | undefined;
    let protocol: 'tcp' | 'udp' = 'tcp';
    let selector: { text: string; pos: Pos; kind: '-t' | '-u' | '-f' } | undefined;
    let sched: Scheduler = 'wlc';
    let persistence: { timeout: number; netmask?: string } | undefined;
    let netmask: string | undefined;
    let real: { text: string; pos: Pos } | undefined;
    let mode: L4Mode = 'dr';
    let weight = 1;
    let bad = false;
    for (let k = 0; k < toks.length; k++) {
      const tok = toks[k]!;
      const opt = LONG[tok.text] ?? tok.text;
      const next = (): { text: string; column: number } | undefined => {
        const n = toks[k + 1];
        if (!n) {
          sink.error(lineNo, tok.column, `${tok.text} needs a value`);
          bad = true;
          return undefined;
        }
        k++;
        return n;
      };
      switch (opt) {
        case '-A':
        case '-a':
          if (command) {
            sink.error(lineNo, tok.column, `a second command ${tok.text} on one line`);
            bad = true;
          }
          command = opt;
          break;
        case '-t':
        case '-u':
        case '-f': {
          const v = next();
          if (!v) break;
          selector = { text: v.text, pos: at(v), kind: opt };
          protocol = opt === '-u' ? 'udp' : 'tcp';
          break;
        }
        case '-s': {
          const v = next();
          if (v) sched = scheduler(v.text, at(v), sink) ?? sched;
          break;
        }
        case '-p': {
          const n = toks[k + 1];
          let timeout = IPVSADM_DEFAULT_PERSISTENCE;
          if (n && /^\d+$/.test(n.text)) {
            timeout = Number(n.text);
            k++;
            if (timeout < 1 || timeout > 2678400) {
              sink.error(lineNo, n.column, `persistence timeout ${n.text}: expected 1..2678400 seconds`);
              bad = true;
            }
          }
          persistence = { timeout };
          break;
        }
        case '-M': {
          const v = next();
          if (!v) break;
          if (netmaskToPrefix(v.text) === undefined) {
            sink.error(lineNo, v.column, `-M: expected a netmask like 255.255.255.0, got "${v.text}"`);
            bad = true;
          } else netmask = v.text;
          break;
        }
        case '-r': {
          const v = next();
          if (v) real = { text: v.text, pos: at(v) };
          break;
        }
        case '-g':
          mode = 'dr';
          break;
        case '-m':
          mode = 'nat';
          break;
        case '-i':
          mode = 'tun';
          break;
        case '-w': {
          const v = next();
          if (!v) break;
          if (!/^\d+$/.test(v.text) || Number(v.text) > 65535) {
            sink.error(lineNo, v.column, `-w: expected a weight 0..65535, got "${v.text}"`);
            bad = true;
          } else weight = Number(v.text);
          break;
        }
        case '--tun-type': {
          const v = next();
          if (v && v.text !== 'ipip') sink.warn(lineNo, v.column, `tunnel type ${v.text} is not kept: the model's TUN mode is IP-in-IP`);
          break;
        }
        case '-x':
        case '-y':
        case '-b':
        case '--pe':
        case '--tun-port': {
          const v = next();
          if (v) sink.warn(lineNo, tok.column, `${tok.text} ${v.text} is not kept: the model has no place for it`);
          break;
        }
        case '--tun-nocsum':
        case '--tun-csum':
        case '--tun-remcsum':
          sink.warn(lineNo, tok.column, `${tok.text} is not kept: the model has no place for it`);
          break;
        case '-6':
          sink.error(lineNo, tok.column, 'IPv6 services are not supported by lvs-toolkit yet');
          bad = true;
          break;
        case '--sctp-service':
          sink.error(lineNo, tok.column, 'SCTP services are not supported: the model has tcp and udp');
          bad = true;
          k++;
          break;
        default:
          sink.error(lineNo, tok.column, `unexpected "${tok.text}": expected an option of ipvsadm -S output (-A, -a, -t, -u, -f, -s, -p, -M, -r, -g, -m, -i, -w)`);
          bad = true;
      }
    }
    if (bad) continue;
    if (!command) {
      sink.error(lineNo, 1, 'expected -A (a virtual service) or -a (a real server) at the start of the line');
      continue;
    }
    if (!selector) {
      sink.error(lineNo, 1, `${command} without -t, -u or -f: which virtual service?`);
      continue;
    }
    let key: string;
    let vip: string | undefined;
    let port = 0;
    let fwmark: number | undefined;
    if (selector.kind === '-f') {
      if (!/^\d+$/.test(selector.text) || Number(selector.text) < 1 || Number(selector.text) > 4294967295) {
        sink.error(selector.pos.line, selector.pos.column, `-f: expected a firewall mark 1..4294967295, got "${selector.text}"`);
        continue;
      }
      fwmark = Number(selector.text);
      key = `f${fwmark}`;
    } else {
      const hp = hostPort(selector.text, selector.pos, sink, 'virtual service');
      if (!hp) continue;
      if (hp.port === 0) {
        sink.error(selector.pos.line, selector.pos.column, 'virtual service port 0 ("all ports") is not supported: use a firewall mark');
        continue;
      }
      vip = hp.address;
      port = hp.port;
      key = `${protocol}:${vip}:${port}`;
    }
    if (command === '-A') {
      if (services.has(key)) {
        sink.error(lineNo, 1, `virtual service ${selector.text} is added twice (first at line ${services.get(key)!.pos.line})`);
        continue;
      }
      if (netmask && persistence && netmask !== '255.255.255.255') persistence.netmask = netmask;
      else if (netmask && !persistence) sink.warn(lineNo, 1, '-M without -p does nothing; ignored');
      services.set(key, { key, pos: { line: lineNo, column: 1 }, protocol, ...(vip ? { vip } : {}), port, ...(fwmark !== undefined ? { fwmark } : {}), scheduler: sched, ...(persistence ? { persistence } : {}), reals: [] });
      continue;
    }
    const svc = services.get(key);
    if (!svc) {
      sink.error(selector.pos.line, selector.pos.column, `-a for ${selector.text}, but no -A added that virtual service above`, 'ipvsadm-restore needs the -A line before its -a lines');
      continue;
    }
    if (!real) {
      sink.error(lineNo, 1, '-a without -r: which real server?');
      continue;
    }
    const hp = hostPort(real.text, real.pos, sink, 'real server', false);
    if (!hp) continue;
    svc.reals.push({ address: hp.address, port: hp.port === 0 && fwmark === undefined ? port : hp.port, weight, mode, pos: { line: lineNo, column: 1 } });
  }
  return [...services.values()];
}

const FORWARD_WORD: Record<string, L4Mode | 'local'> = { Masq: 'nat', Route: 'dr', Tunnel: 'tun', Local: 'local' };

function readListing(text: string, sink: ProblemSink): RawService[] {
  const services: RawService[] = [];
  const lines = splitLines(text);
  let current: RawService | undefined;
  for (let i = 0; i < lines.length && !sink.full; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    if (/^IP Virtual Server version/.test(t) || /^Prot LocalAddress:Port/.test(t) || /^-> RemoteAddress:Port/.test(t)) {
      if (/InPkts|Conns|CPS|PersistConn|Lthreshold/.test(t)) {
        sink.error(lineNo, 1, 'this is a statistics or threshold listing', 'paste plain ipvsadm -Ln (or ipvsadm -Sn)');
      }
      continue;
    }
    const toks = tokens(raw);
    const first = toks[0]!;
    if (first.text === '->') {
      if (!current) {
        sink.error(lineNo, first.column, 'a real server line before any virtual service line (TCP/UDP/FWM)');
        continue;
      }
      const addr = toks[1];
      const fwd = toks[2];
      const weightTok = toks.length >= 6 ? toks[toks.length - 3] : undefined;
      if (!addr || !fwd || !weightTok) {
        sink.error(lineNo, first.column, 'expected "-> ADDRESS:PORT FORWARD WEIGHT ACTIVECONN INACTCONN"');
        continue;
      }
      const m = FORWARD_WORD[fwd.text];
      if (!m) {
        sink.error(lineNo, fwd.column, `unknown forwarding method "${fwd.text}"; expected Masq, Route, Tunnel or Local`);
        continue;
      }
      if (!/^\d+$/.test(weightTok.text) || Number(weightTok.text) > 65535) {
        sink.error(lineNo, weightTok.column, `expected a weight 0..65535, got "${weightTok.text}"`);
        continue;
      }
      const hp = hostPort(addr.text, { line: lineNo, column: addr.column }, sink, 'real server');
      if (!hp) continue;
      current.reals.push({ address: hp.address, port: hp.port === 0 && current.fwmark === undefined ? current.port : hp.port, weight: Number(weightTok.text), mode: m, pos: { line: lineNo, column: first.column } });
      continue;
    }
    const prot = first.text;
    if (prot !== 'TCP' && prot !== 'UDP' && prot !== 'FWM') {
      if (prot === 'SCTP') sink.error(lineNo, first.column, 'SCTP services are not supported: the model has tcp and udp');
      else sink.error(lineNo, first.column, `unexpected "${prot}": expected TCP, UDP, FWM or "->" lines of ipvsadm -Ln`);
      current = undefined;
      continue;
    }
    const target = toks[1];
    const schedTok = toks[2];
    if (!target || !schedTok) {
      sink.error(lineNo, first.column, `expected "${prot}  ${prot === 'FWM' ? 'MARK' : 'ADDRESS:PORT'} SCHEDULER [persistent N] [mask M]"`);
      current = undefined;
      continue;
    }
    const sched = scheduler(schedTok.text, { line: lineNo, column: schedTok.column }, sink);
    let persistence: { timeout: number; netmask?: string } | undefined;
    for (let k = 3; k < toks.length; k++) {
      const f = toks[k]!;
      if (f.text === 'persistent' && toks[k + 1] && /^\d+$/.test(toks[k + 1]!.text)) {
        persistence = { timeout: Number(toks[++k]!.text) };
      } else if (f.text === 'mask' && toks[k + 1]) {
        const mask = toks[++k]!;
        if (netmaskToPrefix(mask.text) === undefined) sink.error(lineNo, mask.column, `mask: expected a netmask like 255.255.255.0, got "${mask.text}"`);
        else if (persistence && mask.text !== '255.255.255.255') persistence.netmask = mask.text;
      } else if (f.text === 'IPv6') {
        sink.error(lineNo, f.column, 'IPv6 services are not supported by lvs-toolkit yet');
      } else if (f.text === 'pe' && toks[k + 1]) {
        sink.warn(lineNo, f.column, `persistence engine ${toks[++k]!.text} is not kept: the model has no place for it`);
      } else {
        sink.warn(lineNo, f.column, `flag "${f.text}" is not kept: the model has no place for it`);
      }
    }
    if (!sched) {
      current = undefined;
      continue;
    }
    const pos = { line: lineNo, column: first.column };
    if (prot === 'FWM') {
      if (!/^\d+$/.test(target.text) || Number(target.text) < 1 || Number(target.text) > 4294967295) {
        sink.error(lineNo, target.column, `FWM: expected a firewall mark 1..4294967295, got "${target.text}"`);
        current = undefined;
        continue;
      }
      const fwmark = Number(target.text);
      current = { key: `f${fwmark}`, pos, protocol: 'tcp', port: 0, fwmark, scheduler: sched, ...(persistence ? { persistence } : {}), reals: [] };
    } else {
      const hp = hostPort(target.text, { line: lineNo, column: target.column }, sink, 'virtual service');
      if (!hp) {
        current = undefined;
        continue;
      }
      const protocol = prot === 'UDP' ? 'udp' : 'tcp';
      current = { key: `${protocol}:${hp.address}:${hp.port}`, pos, protocol, vip: hp.address, port: hp.port, scheduler: sched, ...(persistence ? { persistence } : {}), reals: [] };
    }
    if (services.some((s) => s.key === current!.key)) {
      sink.error(lineNo, first.column, `virtual service ${target.text} is listed twice`);
      current = undefined;
      continue;
    }
    services.push(current);
  }
  return services;
}

/**
 * What of `model` the IPVS table keeps: `parseIpvsadm(renderIpvsadm(m))`
 * equals `projectIpvsadm(m)`. One service per IPVS virtual service, named
 * by serviceName; fwmark services get the placeholder VIP and their real
 * servers' ports; no directors, checks (the schema's tcp default), default
 * timers, host real servers.
 */
export function projectIpvsadm(model: Installation): Installation {
  const checkTimers = { ...PROFILES.default.check };
  const services: NormalizedService[] = ipvsVirtuals(model).map((v) => {
    const s = v.service;
    const fw = s.fwmark;
    const netmask = s.persistence?.netmask;
    return {
      name: serviceName(s.protocol, s.vip, v.port, fw),
      vip: fw !== undefined ? FWMARK_PLACEHOLDER_VIP : s.vip,
      protocol: fw !== undefined ? 'tcp' : s.protocol,
      ports: fw !== undefined ? fwmarkPorts(v.realServers.map((r) => r.port)) : [v.port],
      ...(fw !== undefined ? { fwmark: fw } : {}),
      scheduler: s.scheduler,
      ...(s.persistence
        ? { persistence: { timeout: s.persistence.timeout, ...(netmask !== undefined && netmask !== '255.255.255.255' ? { netmask } : {}) } }
        : {}),
      mode: s.mode,
      realServers: realNames(v.realServers).map((r) => ({
        name: r.name,
        address: r.address,
        port: r.port,
        weight: r.weight,
        platform: { type: 'host' as const },
        interface: 'eth0',
      })),
      healthCheck: { type: 'tcp' as const },
      checkTimers,
      quiescent: false,
    };
  });
  return tableOnlyInstallation('ipvsadm', services);
}

/**
 * The installation an import of a services-only format (the IPVS table,
 * ldirectord.cf) gives: the services it read and the model's defaults for
 * everything the format cannot say, which is exactly what normalize fills in
 * for the parser's answers. Shared by the projections of both formats.
 */
export function tableOnlyInstallation(manager: Installation['manager'], services: NormalizedService[]): Installation {
  return {
    version: 1,
    name: 'lvs',
    manager,
    timerProfile: 'default',
    directors: [],
    services,
    containerHosts: [],
    firewall: 'nftables',
    ipvsSysctls: { expireQuiescentTemplate: false, conntrack: false },
  };
}
