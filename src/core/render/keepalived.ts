/**
 * Model -> keepalived.conf for one director: VRRP failover of the VIPs and
 * the IPVS table with its health checks (keepalived.conf(5), 2.2.7).
 *
 * Every statement goes on its own line: keepalived 2.2.7 silently
 * mis-parses one-line blocks such as `global_defs { router_id X vrrp_version 3 }`
 * (it dropped a real server and rounded advert_int 0.1 to 1 in the lab probe).
 */
import {
  isL4,
  type Director,
  type HealthCheck,
  type Installation,
  type L4Mode,
  type NormalizedService,
  type NormalizedVrrp,
  type VrrpInstance,
} from '../model.js';
import { addressOf } from '../net.js';
import { PROFILES } from '../timers.js';
import { SEND_EXPECT_SCRIPT_PATH } from './check-scripts.js';

/** Where keepalived reads its configuration by default (keepalived(8) `-f`). */
export const KEEPALIVED_CONF_PATH = '/etc/keepalived/keepalived.conf';

/** The name of the sync group written when a director carries several instances. */
export const SYNC_GROUP_NAME = 'VG_1';

const LB_KIND: Record<L4Mode, string> = { nat: 'NAT', dr: 'DR', tun: 'TUN' };

/**
 * The VRRP settings a keepalived.conf gets. An answers file for a pair of
 * directors without a `vrrp` section (a Piranha pair moving to keepalived:
 * pulse's heartbeat failover becomes VRRP) gets the same defaults normalize()
 * gives `vrrp: {}`; a lone director without VRRP gets no vrrp_instance.
 */
export function effectiveVrrp(model: Installation): NormalizedVrrp | undefined {
  if (model.vrrp) return model.vrrp;
  if (model.directors.length < 2) return undefined;
  const profile = PROFILES[model.timerProfile];
  const addresses: VrrpInstance['addresses'] = [];
  const seen = new Set<string>();
  for (const s of model.services) {
    if (seen.has(s.vip)) continue;
    seen.add(s.vip);
    addresses.push({ address: `${s.vip}/32` });
  }
  if (model.natRouter) addresses.push({ address: model.natRouter.address, interface: model.natRouter.interface });
  return {
    version: profile.vrrpVersion,
    advertInt: profile.advertInt,
    transport: 'unicast',
    nopreempt: false,
    instances: [{ name: 'VI_1', vrid: 51, interface: model.directors[0]?.interfaces[0]?.name ?? 'eth0', addresses }],
  };
}

/** The director's own address (without prefix) on `iface`, if the model knows it. */
export function directorAddressOn(d: Director, iface: string): string | undefined {
  const i = d.interfaces.find((x) => x.name === iface);
  return i?.address ? addressOf(i.address) : undefined;
}

/**
 * unicast_src_ip and unicast_peer of `director` for an instance, when VRRP
 * goes by unicast and both directors' addresses on that interface are known;
 * otherwise keepalived falls back to multicast (224.0.0.18).
 */
export function unicastPair(model: Installation, vrrp: NormalizedVrrp, directorIndex: number, iface: string): { src: string; peer: string } | undefined {
  if (vrrp.transport !== 'unicast' || model.directors.length !== 2) return undefined;
  const me = model.directors[directorIndex];
  const other = model.directors[1 - directorIndex];
  if (!me || !other) return undefined;
  const src = directorAddressOn(me, iface);
  const peer = directorAddressOn(other, iface);
  return src && peer ? { src, peer } : undefined;
}

/**
 * A keepalived quoted string: keepalived interprets backslash escapes inside
 * quotes (keepalived.conf(5) "Quoted strings"), so `\` and `"` are escaped.
 */
export function keepalivedQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A keepalived word: bare when it is plainly one, quoted otherwise. */
export function keepalivedWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : keepalivedQuote(s);
}

/**
 * One argument of a script command line for keepalived. keepalived splits a
 * script's string at unquoted spaces, groups with single quotes and treats a
 * backslash as an escape even inside them (keepalived.conf(5): "For specifying
 * scripts with parameters..."); a single quote cannot be escaped at all, so
 * callers must keep `'` out (see sendExpectArgs). Returns the word before
 * keepalived's own quoted-string escaping.
 */
function scriptArg(s: string): string {
  const escaped = s.replace(/\\/g, '\\\\');
  return s === '' || /[\s"#!{}]/.test(s) ? `'${escaped}'` : escaped;
}

/** The misc_path value (a quoted keepalived string) that runs argv[0] with its arguments. */
export function keepalivedScriptCommand(argv: readonly string[]): string {
  return keepalivedQuote(argv.map(scriptArg).join(' '));
}

/**
 * Encode bytes for `printf %b` in the send/expect script: backslash, control
 * characters and the single quote (which keepalived's script splitting cannot
 * carry) become escapes.
 */
export function encodePrintfB(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === "'" || c < 0x20 || c === 0x7f) out += `\\0${c.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return out;
}

/**
 * The EXPECT argument and its mode. A fixed string with a single quote in it
 * cannot pass through keepalived's script splitting, so it becomes an
 * extended regex where each `'` is matched by `.` and everything else is
 * escaped literally: a little looser, never stricter.
 */
export function expectArg(expect: string, regex: boolean): { expect: string; regex: boolean } {
  if (!expect.includes("'")) return { expect, regex };
  if (regex) return { expect: expect.replace(/'/g, '.'), regex: true };
  return { expect: expect.replace(/[.[\]{}()*+?^$|\\]/g, '\\$&').replace(/'/g, '.'), regex: true };
}

/** The argv of the send/expect MISC_CHECK for one real server. */
export function sendExpectArgv(
  check: Extract<HealthCheck, { type: 'send-expect' }>,
  host: string,
  port: number,
  timeout: number,
): string[] {
  const e = expectArg(check.expect, check.regex);
  return [SEND_EXPECT_SCRIPT_PATH, host, String(port), String(timeout), encodePrintfB(check.send), e.expect, ...(e.regex ? ['regex'] : [])];
}

/** Seconds as keepalived prints them: integers plain, fractions as decimals. */
function num(n: number): string {
  return String(n);
}

class Lines {
  private readonly out: string[] = [];
  private depth = 0;
  line(s: string): void {
    this.out.push(`${'    '.repeat(this.depth)}${s}`);
  }
  open(s: string): void {
    this.line(`${s} {`);
    this.depth++;
  }
  close(): void {
    this.depth--;
    this.line('}');
  }
  blank(): void {
    this.out.push('');
  }
  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

/** The sorry server's port in keepalived.conf: its own for NAT, the service's for DR and TUN. */
export function sorryPort(s: NormalizedService): number {
  return s.mode === 'nat' ? (s.sorryServer?.port ?? s.ports[0]!) : s.ports[0]!;
}

/** The port a check connects to on a real server: the check's own, else the server's, else (fwmark, port 0) the service's first. */
export function checkPort(check: HealthCheck, service: NormalizedService, rsPort: number): number {
  const own = check.type === 'tcp' || check.type === 'http' || check.type === 'https' || check.type === 'send-expect' ? check.port : undefined;
  return own ?? (rsPort !== 0 ? rsPort : service.ports[0]!);
}

function renderCheck(o: Lines, s: NormalizedService, rsAddress: string, rsPort: number): void {
  const hc = s.healthCheck;
  const t = s.checkTimers;
  const common = (): void => {
    o.line(`connect_timeout ${num(t.connectTimeout)}`);
    o.line(`retry ${t.retry}`);
    o.line(`delay_before_retry ${num(t.delayBeforeRetry)}`);
  };
  switch (hc.type) {
    case 'none':
      return;
    case 'tcp':
      o.open('TCP_CHECK');
      if (hc.port !== undefined) o.line(`connect_port ${hc.port}`);
      common();
      o.close();
      return;
    case 'http':
    case 'https':
      o.open(hc.type === 'http' ? 'HTTP_GET' : 'SSL_GET');
      o.open('url');
      o.line(`path ${keepalivedWord(hc.path)}`);
      if (hc.digest !== undefined) o.line(`digest ${hc.digest}`);
      if (hc.status !== undefined) o.line(`status_code ${hc.status}`);
      o.close();
      if (hc.virtualhost !== undefined) o.line(`virtualhost ${keepalivedWord(hc.virtualhost)}`);
      if (hc.port !== undefined) o.line(`connect_port ${hc.port}`);
      common();
      o.close();
      return;
    case 'send-expect': {
      // keepalived has no send/expect checker; MISC_CHECK runs our script,
      // which gives up after TIMEOUT seconds; keepalived kills it a second later.
      const timeout = Math.ceil(t.connectTimeout);
      o.open('MISC_CHECK');
      o.line(`misc_path ${keepalivedScriptCommand(sendExpectArgv(hc, rsAddress, checkPort(hc, s, rsPort), timeout))}`);
      o.line(`misc_timeout ${timeout + 1}`);
      o.line(`retry ${t.retry}`);
      o.line(`delay_before_retry ${num(t.delayBeforeRetry)}`);
      o.close();
      return;
    }
    case 'script':
      o.open('MISC_CHECK');
      o.line(`misc_path ${keepalivedQuote(hc.command)}`);
      o.line(`misc_timeout ${Math.ceil(t.connectTimeout)}`);
      o.line(`retry ${t.retry}`);
      o.line(`delay_before_retry ${num(t.delayBeforeRetry)}`);
      o.close();
      return;
    default: {
      const never: never = hc;
      return never;
    }
  }
}

function renderVirtualServer(o: Lines, s: NormalizedService, mode: L4Mode): void {
  // keepalived.conf cannot say what a mark stands for; this note lets our importer read it back.
  if (s.fwmark !== undefined) o.line(`! lvs-toolkit fwmark ${s.fwmark}: ${s.protocol} ${s.vip} ports ${s.ports.join(',')}`);
  o.open(s.fwmark !== undefined ? `virtual_server fwmark ${s.fwmark}` : `virtual_server ${s.vip} ${s.ports[0]}`);
  o.line(`delay_loop ${num(s.checkTimers.delayLoop)}`);
  o.line(`lb_algo ${s.scheduler}`);
  o.line(`lb_kind ${LB_KIND[mode]}`);
  // keepalived 2.2.7 warns "protocol specified for fwmark - protocol will be ignored".
  if (s.fwmark === undefined) o.line(`protocol ${s.protocol.toUpperCase()}`);
  if (s.persistence) {
    o.line(`persistence_timeout ${s.persistence.timeout}`);
    if (s.persistence.netmask) o.line(`persistence_granularity ${s.persistence.netmask}`);
  }
  if (s.sorryServer) {
    // A port on a fwmark service's sorry server draws a warning (keepalived -t exits 5).
    // DR and TUN cannot change the port: keepalived 2.2.7 warns "virtual server and
    // sorry server ports don't match - resetting" (and -t exits 5), so they get the VS port.
    const port = s.fwmark !== undefined ? undefined : sorryPort(s);
    o.line(`sorry_server ${s.sorryServer.address}${port !== undefined ? ` ${port}` : ''}`);
  }
  for (const rs of s.realServers) {
    o.blank();
    o.open(`real_server ${rs.address} ${rs.port}`);
    o.line(`weight ${rs.weight}`);
    if (s.quiescent) o.line('inhibit_on_failure');
    renderCheck(o, s, rs.address, rs.port);
    o.close();
  }
  o.close();
}

/**
 * keepalived.conf for the director named `directorName`. Throws only when
 * no such director exists (a caller's bug: the name comes from the model).
 */
export function renderKeepalived(model: Installation, directorName: string): string {
  const index = model.directors.findIndex((d) => d.name === directorName);
  const director = model.directors[index];
  if (!director) throw new RangeError(`no director named "${directorName}" (have: ${model.directors.map((d) => d.name).join(', ')})`);
  const vrrp = effectiveVrrp(model);
  const o = new Lines();
  o.line(`! keepalived.conf for ${director.name} (${model.name}), written by lvs-toolkit`);
  o.open('global_defs');
  o.line(`router_id ${director.name}`);
  // Without these keepalived warns about scripts run as root (and -t exits 5).
  o.line('enable_script_security');
  o.line('script_user root');
  if (vrrp?.syncDaemon && vrrp.instances[0]) {
    const sd = vrrp.syncDaemon;
    o.line(`lvs_sync_daemon ${sd.interface} ${vrrp.instances[0].name}${sd.syncId !== undefined ? ` id ${sd.syncId}` : ''}`);
  }
  o.close();
  if (vrrp) {
    if (vrrp.instances.length > 1) {
      o.blank();
      o.open(`vrrp_sync_group ${SYNC_GROUP_NAME}`);
      o.open('group');
      for (const inst of vrrp.instances) o.line(inst.name);
      o.close();
      o.close();
    }
    for (const inst of vrrp.instances) {
      o.blank();
      renderInstance(o, model, vrrp, inst, index);
    }
  }
  for (const s of model.services) {
    if (!isL4(s.mode)) continue;
    o.blank();
    renderVirtualServer(o, s, s.mode);
  }
  return o.text();
}

function renderInstance(o: Lines, model: Installation, vrrp: NormalizedVrrp, inst: VrrpInstance, index: number): void {
  const director = model.directors[index]!;
  o.open(`vrrp_instance ${inst.name}`);
  // With nopreempt both start as BACKUP: keepalived ignores nopreempt on a MASTER.
  o.line(`state ${index === 0 && !vrrp.nopreempt ? 'MASTER' : 'BACKUP'}`);
  if (vrrp.nopreempt) o.line('nopreempt');
  o.line(`interface ${inst.interface}`);
  o.line(`virtual_router_id ${inst.vrid}`);
  o.line(`priority ${director.priority ?? (index === 0 ? 150 : 100)}`);
  o.line(`advert_int ${num(vrrp.advertInt)}`);
  // Per instance, not vrrp_version in global_defs (lab probe, problem 7).
  if (vrrp.version === 3) o.line('version 3');
  // VRRPv3 has no authentication (RFC 5798 section 9); validation warns when one is set.
  if (vrrp.version === 2 && vrrp.auth) {
    o.open('authentication');
    o.line(`auth_type ${vrrp.auth.type}`);
    o.line(`auth_pass ${keepalivedWord(vrrp.auth.password)}`);
    o.close();
  }
  const uni = unicastPair(model, vrrp, index, inst.interface);
  if (uni) {
    o.line(`unicast_src_ip ${uni.src}`);
    o.open('unicast_peer');
    o.line(uni.peer);
    o.close();
  }
  o.open('virtual_ipaddress');
  for (const a of inst.addresses) {
    o.line(a.interface !== undefined && a.interface !== inst.interface ? `${a.address} dev ${a.interface}` : a.address);
  }
  o.close();
  o.close();
}
