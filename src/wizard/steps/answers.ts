/**
 * The wizard's answers: what a person typed, kept as text so a half-typed VIP
 * survives going back and forth, and turned into the model only when a step
 * is left. Flat keys ("d.0.address", "rs.1.weight") keep editing, defaults
 * and "which field owns this problem" one small table instead of a tree walk.
 *
 * Pure: no I/O. The defaults of each mode are the lab's example of that mode
 * (src/lab/examples.ts), so Enter through every step yields a design the lab
 * is known to run.
 */
import {
  isL4,
  PLATFORMS,
  type Installation,
  type InstallationInput,
  type Mode,
  type NormalizedService,
  type PlatformType,
} from '../../core/model.js';
import { normalize } from '../../core/normalize.js';
import type { Problem } from '../../core/problems.js';
import { validate } from '../../core/validate.js';
import { addressOf } from '../../core/net.js';

export type DirectorField = 'name' | 'iface' | 'address' | 'innerIface' | 'innerAddress' | 'priority' | 'ctid';
/** `host` (its own container host), `gateway` and `iface` come from an imported design; empty means the usual. */
export type RealServerField = 'name' | 'address' | 'weight' | 'port' | 'ctid' | 'host' | 'gateway' | 'iface';

/** Every answer the wizard asks for. `d.N` is director N (0 or 1), `rs.N` real server N, `target.NODE` how to reach NODE. */
export type AnswerKey =
  | 'layer'
  | 'mode'
  | 'dPlatform'
  | 'dHost'
  | 'rsPlatform'
  | 'rsHost'
  | 'serviceName'
  | 'vip'
  | 'protocol'
  | 'ports'
  | 'fwmark'
  | 'pair'
  | 'vrid'
  | 'transport'
  | 'authPass'
  | 'natRouter'
  | 'rsCount'
  | 'scheduler'
  | 'persistence'
  | 'check'
  | 'checkPath'
  | 'timerProfile'
  | `d.${0 | 1}.${DirectorField}`
  | `rs.${number}.${RealServerField}`
  | `target.${string}`;

/** Text per answer key; a key never set reads as "" (see get). */
export type Answers = Readonly<Partial<Record<AnswerKey, string>>>;

/** The most real servers the form offers; a bigger farm is an answers file's job. */
export const MAX_REAL_SERVERS = 16;

/** Read one answer; a key never set reads as "". */
export function get(a: Answers, key: AnswerKey): string {
  return a[key] ?? '';
}

/** The chosen mode; DR while the answer is not a mode (the lab default). */
export function modeOf(a: Answers): Mode {
  const m = get(a, 'mode');
  return m === 'nat' || m === 'dr' || m === 'tun' || m === 'nginx' || m === 'haproxy' ? m : 'dr';
}

/** How many real servers the form shows (1..MAX_REAL_SERVERS). */
export function rsCount(a: Answers): number {
  const n = Number(get(a, 'rsCount'));
  return Number.isInteger(n) && n >= 1 && n <= MAX_REAL_SERVERS ? n : 1;
}

/** Two directors with VRRP (or Piranha's heartbeat for an imported Piranha pair). */
export function isPair(a: Answers): boolean {
  return get(a, 'pair') === 'yes';
}

function isContainer(p: string): boolean {
  return p !== 'host' && (PLATFORMS as readonly string[]).includes(p);
}

function isOpenvz(p: string): boolean {
  return p === 'openvz-venet' || p === 'openvz-veth';
}

/**
 * The defaults for a mode: the lab example of that mode (a DR pair with fast
 * timers; a two-armed NAT director; a one-armed TUN director; a layer-7
 * balancer whose VIP is its own address).
 */
export function defaultsFor(mode: Mode): Answers {
  const nat = mode === 'nat';
  const l7 = !isL4(mode);
  const rsNet = nat ? '10.0.1' : '10.0.0';
  const a: Partial<Record<AnswerKey, string>> = {
    layer: l7 ? 'l7' : 'l4',
    mode,
    dPlatform: 'host',
    dHost: '',
    rsPlatform: 'host',
    rsHost: '',
    serviceName: 'web',
    vip: l7 ? '10.0.0.1' : '10.0.0.100',
    protocol: 'tcp',
    ports: '80',
    fwmark: '',
    pair: mode === 'dr' ? 'yes' : 'no',
    vrid: '51',
    transport: 'unicast',
    authPass: '',
    natRouter: '',
    rsCount: '2',
    scheduler: 'rr',
    persistence: '',
    check: mode === 'tun' ? 'tcp' : l7 ? 'none' : 'http',
    checkPath: '/',
    timerProfile: mode === 'dr' ? 'fast' : 'default',
  };
  for (const i of [0, 1] as const) {
    a[`d.${i}.name`] = l7 ? `lb${i + 1}` : `dir${i + 1}`;
    a[`d.${i}.iface`] = 'eth0';
    a[`d.${i}.address`] = `10.0.0.${i + 1}/24`;
    a[`d.${i}.innerIface`] = nat ? 'eth1' : '';
    a[`d.${i}.innerAddress`] = nat ? `10.0.1.${i + 1}/24` : '';
    a[`d.${i}.priority`] = i === 0 ? '150' : '100';
    a[`d.${i}.ctid`] = String(101 + i);
  }
  for (let i = 0; i < MAX_REAL_SERVERS; i++) {
    a[`rs.${i}.name`] = `rs${i + 1}`;
    a[`rs.${i}.address`] = `${rsNet}.${11 + i}`;
    a[`rs.${i}.weight`] = '1';
    a[`rs.${i}.port`] = '';
    a[`rs.${i}.ctid`] = String(201 + i);
  }
  return a;
}

/** The first screen's answers: the lab's DR pair. */
export const DEFAULT_ANSWERS: Answers = defaultsFor('dr');

/**
 * Switch mode keeping what the person typed: an answer still equal to the old
 * mode's default takes the new mode's default (NAT's real servers move to the
 * inner network), anything they changed stays.
 */
export function switchMode(a: Answers, to: Mode): Answers {
  const from = modeOf(a);
  if (from === to) return a;
  const oldD = defaultsFor(from);
  const newD = defaultsFor(to);
  const out: Partial<Record<AnswerKey, string>> = { ...a };
  for (const k of Object.keys(newD) as AnswerKey[]) {
    if (a[k] === undefined || a[k] === oldD[k]) out[k] = newD[k];
  }
  out.mode = to;
  out.layer = isL4(to) ? 'l4' : 'l7';
  return out;
}

/** A problem found while reading the answers themselves, before the model sees them. */
function fieldProblem(path: string, message: string, hint?: string): Problem {
  return { severity: 'error', path, message, ...(hint ? { hint } : {}) };
}

/** "80, 443" -> [80, 443]; a token that is not a whole number is a problem at `path`. */
function parseNumbers(text: string, path: string, problems: Problem[]): number[] {
  const out: number[] = [];
  for (const tok of text.split(/[\s,]+/).filter((t) => t !== '')) {
    if (!/^\d+$/.test(tok)) {
      problems.push(fieldProblem(path, `"${tok}" is not a number`, 'whole numbers, separated by commas: 80, 443'));
      continue;
    }
    out.push(Number(tok));
  }
  return out;
}

/** An optional whole number: "" is undefined, anything else must be digits. */
function optionalNumber(text: string, path: string, problems: Problem[]): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (!/^\d+$/.test(t)) {
    problems.push(fieldProblem(path, `"${t}" is not a whole number`));
    return undefined;
  }
  return Number(t);
}

function platformOf(type: string, host: string, ctid: number | undefined): { type: PlatformType; host?: string; ctid?: number } {
  const t = ((PLATFORMS as readonly string[]).includes(type) ? type : 'host') as PlatformType;
  if (t === 'host') return { type: t };
  return { type: t, ...(host ? { host } : {}), ...(isOpenvz(t) && ctid !== undefined ? { ctid } : {}) };
}

/**
 * What an imported design says that the questions do not ask (the manager,
 * Piranha's settings, a sorry server, explicit check timers, further
 * services): kept as it was and put back when the answers become a model, so
 * pre-filling from a user's lvs.cf loses nothing.
 */
export interface Carried {
  top: Pick<Partial<Installation>, 'name' | 'manager' | 'piranha' | 'ipvsSysctls' | 'firewall'>;
  service: Partial<Pick<NormalizedService, 'sorryServer' | 'quiescent' | 'hostPortMap' | 'checkTimers' | 'healthCheck'>>;
  /** The imported timer profile: carried check timers apply while this is still the answer. */
  profile: string;
  otherServices: NormalizedService[];
  /** Real servers of the first service beyond the form's MAX_REAL_SERVERS, kept as they were. */
  moreRealServers?: NormalizedService['realServers'];
  syncDaemon?: { interface: string; syncId?: number };
}

/**
 * Answers -> the input of normalize(). Text that is not a number where one is
 * needed becomes a problem at the model path of its field; everything else is
 * passed on for zod and validate() to judge.
 */
export function answersToInput(a: Answers, carried?: Carried): { input: InstallationInput; problems: Problem[] } {
  const problems: Problem[] = [];
  const mode = modeOf(a);
  const l4 = isL4(mode);
  const nat = mode === 'nat';
  const pair = isPair(a);
  /** Piranha's pulse decides who holds the VIP itself (heartbeat), without VRRP. */
  const vrrpPair = pair && carried?.top.manager !== 'piranha';
  const dHost = get(a, 'dHost').trim();
  const rsHost = get(a, 'rsHost').trim();

  const directors: InstallationInput['directors'] = [];
  for (const i of pair ? [0, 1] : [0]) {
    const p = (f: DirectorField) => get(a, `d.${i as 0 | 1}.${f}`).trim();
    const interfaces: Array<{ name: string; address?: string }> = [{ name: p('iface'), ...(p('address') ? { address: p('address') } : {}) }];
    if (nat && p('innerIface')) interfaces.push({ name: p('innerIface'), ...(p('innerAddress') ? { address: p('innerAddress') } : {}) });
    const priority = vrrpPair ? optionalNumber(p('priority'), `directors[${i}].priority`, problems) : undefined;
    const ctid = isOpenvz(get(a, 'dPlatform')) ? optionalNumber(p('ctid'), `directors[${i}].platform.ctid`, problems) : undefined;
    directors.push({
      name: p('name'),
      platform: platformOf(get(a, 'dPlatform'), dHost, ctid),
      interfaces,
      ...(priority !== undefined ? { priority } : {}),
    });
  }

  const ports = parseNumbers(get(a, 'ports'), 'services[0].ports', problems);
  const fwmark = l4 ? optionalNumber(get(a, 'fwmark'), 'services[0].fwmark', problems) : undefined;
  const realServers: NonNullable<InstallationInput['services'][number]['realServers']> = [];
  const ownHosts: string[] = [];
  for (let i = 0; i < rsCount(a); i++) {
    const p = (f: RealServerField) => get(a, `rs.${i}.${f}`).trim();
    const weight = optionalNumber(p('weight'), `services[0].realServers[${i}].weight`, problems);
    const port = nat || !l4 ? optionalNumber(p('port'), `services[0].realServers[${i}].port`, problems) : undefined;
    const ctid = isOpenvz(get(a, 'rsPlatform')) ? optionalNumber(p('ctid'), `services[0].realServers[${i}].platform.ctid`, problems) : undefined;
    const iface = p('iface') || (get(a, 'rsPlatform') === 'openvz-venet' ? 'venet0' : '');
    realServers.push({
      name: p('name'),
      address: p('address'),
      ...(weight !== undefined ? { weight } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(iface ? { interface: iface } : {}),
      ...(p('gateway') ? { gateway: p('gateway') } : {}),
      platform: platformOf(get(a, 'rsPlatform'), p('host') || rsHost, ctid),
    });
    if (isContainer(get(a, 'rsPlatform')) && p('host')) ownHosts.push(p('host'));
  }

  realServers.push(...(carried?.moreRealServers ?? []));
  const persistence = l4 ? optionalNumber(get(a, 'persistence'), 'services[0].persistence.timeout', problems) : undefined;
  const check = get(a, 'check');
  const healthCheck =
    check === 'imported' && carried?.service.healthCheck
      ? carried.service.healthCheck
      : check === 'http'
        ? { type: 'http' as const, path: get(a, 'checkPath').trim() || '/', status: 200 }
        : check === 'none'
          ? { type: 'none' as const }
          : { type: 'tcp' as const };

  const carriedTimers = carried?.service.checkTimers && carried.profile === get(a, 'timerProfile') ? { checkTimers: carried.service.checkTimers } : {};
  const service = {
    name: get(a, 'serviceName').trim(),
    vip: get(a, 'vip').trim(),
    protocol: get(a, 'protocol') === 'udp' ? ('udp' as const) : ('tcp' as const),
    ports,
    ...(fwmark !== undefined ? { fwmark } : {}),
    scheduler: get(a, 'scheduler') as NormalizedService['scheduler'],
    ...(persistence !== undefined ? { persistence: { timeout: persistence } } : {}),
    mode,
    realServers,
    healthCheck,
    ...carriedTimers,
    ...(carried?.service.sorryServer ? { sorryServer: carried.service.sorryServer } : {}),
    ...(carried?.service.quiescent ? { quiescent: carried.service.quiescent } : {}),
    ...(carried?.service.hostPortMap ? { hostPortMap: carried.service.hostPortMap } : {}),
  };

  const hosts = new Map<string, 'lxc' | 'lxd' | 'openvz'>();
  const kindOf = (p: string): 'lxc' | 'lxd' | 'openvz' => (isOpenvz(p) ? 'openvz' : (p as 'lxc' | 'lxd'));
  if (isContainer(get(a, 'dPlatform')) && dHost) hosts.set(dHost, kindOf(get(a, 'dPlatform')));
  for (const h of [rsHost, ...ownHosts]) {
    if (isContainer(get(a, 'rsPlatform')) && h && !hosts.has(h)) hosts.set(h, kindOf(get(a, 'rsPlatform')));
  }
  for (const s of carried?.otherServices ?? []) {
    for (const r of s.realServers) {
      if (r.platform.host && !hosts.has(r.platform.host)) hosts.set(r.platform.host, kindOf(r.platform.type));
    }
  }
  if (service.hostPortMap && !hosts.has(service.hostPortMap.host)) hosts.set(service.hostPortMap.host, kindOf(get(a, 'dPlatform') === 'host' ? 'lxd' : get(a, 'dPlatform')));

  let vrrp: InstallationInput['vrrp'];
  if (vrrpPair) {
    const vrid = optionalNumber(get(a, 'vrid'), 'vrrp.instances[0].vrid', problems) ?? 51;
    const pass = get(a, 'authPass');
    const addresses: Array<{ address: string; interface?: string }> = [];
    const vips = new Set([service.vip, ...(carried?.otherServices ?? []).map((s) => s.vip)]);
    for (const v of vips) addresses.push({ address: `${v}/32` });
    const nr = get(a, 'natRouter').trim();
    const innerIface = get(a, 'd.0.innerIface').trim();
    if (nat && nr) addresses.push({ address: nr, ...(innerIface ? { interface: innerIface } : {}) });
    vrrp = {
      transport: get(a, 'transport') === 'multicast' ? 'multicast' : 'unicast',
      ...(pass ? { auth: { type: 'PASS' as const, password: pass } } : {}),
      instances: [{ name: 'VI_1', vrid, interface: get(a, 'd.0.iface').trim(), addresses }],
      ...(carried?.syncDaemon ? { syncDaemon: carried.syncDaemon } : {}),
    };
  }
  const nr = get(a, 'natRouter').trim();
  const innerIface = get(a, 'd.0.innerIface').trim();

  const input: InstallationInput = {
    version: 1,
    name: 'lvs',
    ...(carried?.top ?? {}),
    timerProfile: get(a, 'timerProfile') as InstallationInput['timerProfile'],
    directors,
    ...(vrrp ? { vrrp } : {}),
    ...(nat && pair && nr ? { natRouter: { address: nr, interface: innerIface } } : {}),
    services: [service, ...(carried?.otherServices ?? [])],
    containerHosts: [...hosts].map(([name, kind]) => ({ name, kind })),
  };
  return { input, problems };
}

/** What the answers make: the model when zod accepts it, and every problem. */
export interface Design {
  model?: Installation;
  /** Reading the answers, zod, then validate(): every problem with its model path. */
  problems: Problem[];
}

/** Answers -> normalized, validated model (or the problems that stop it). */
export function designOf(a: Answers, carried?: Carried): Design {
  const { input, problems } = answersToInput(a, carried);
  const n = normalize(input);
  if (!n.ok) return { problems: [...problems, ...n.problems] };
  return { model: n.model, problems: [...problems, ...validate(n.model)] };
}

/**
 * A model (an imported config, an answers file) -> answers that pre-fill the
 * form, plus what the questions do not cover. The first service is the one
 * the questions edit; further services ride along unchanged.
 */
export function answersFromModel(m: Installation): { answers: Answers; carried: Carried } {
  const s = m.services[0]!;
  const a: Partial<Record<AnswerKey, string>> = { ...defaultsFor(s.mode) };
  const d0 = m.directors[0];
  a.dPlatform = d0?.platform.type ?? 'host';
  a.dHost = d0?.platform.host ?? '';
  a.pair = m.directors.length === 2 ? 'yes' : 'no';
  m.directors.forEach((d, i) => {
    const k = i as 0 | 1;
    a[`d.${k}.name`] = d.name;
    a[`d.${k}.iface`] = d.interfaces[0]?.name ?? 'eth0';
    a[`d.${k}.address`] = d.interfaces[0]?.address ?? '';
    a[`d.${k}.innerIface`] = d.interfaces[1]?.name ?? '';
    a[`d.${k}.innerAddress`] = d.interfaces[1]?.address ?? '';
    if (d.priority !== undefined) a[`d.${k}.priority`] = String(d.priority);
    if (d.platform.ctid !== undefined) a[`d.${k}.ctid`] = String(d.platform.ctid);
  });
  if (m.vrrp) {
    a.vrid = String(m.vrrp.instances[0]?.vrid ?? 51);
    a.transport = m.vrrp.transport;
    a.authPass = m.vrrp.auth?.password ?? '';
  }
  a.natRouter = m.natRouter?.address ?? '';
  a.serviceName = s.name;
  a.vip = s.vip;
  a.protocol = s.protocol;
  a.ports = s.ports.join(', ');
  a.fwmark = s.fwmark !== undefined ? String(s.fwmark) : '';
  a.scheduler = s.scheduler;
  a.persistence = s.persistence ? String(s.persistence.timeout) : '';
  const r0 = s.realServers[0];
  a.rsPlatform = r0?.platform.type ?? 'host';
  a.rsHost = r0?.platform.host ?? '';
  a.rsCount = String(Math.max(1, Math.min(MAX_REAL_SERVERS, s.realServers.length)));
  s.realServers.slice(0, MAX_REAL_SERVERS).forEach((r, i) => {
    a[`rs.${i}.name`] = r.name;
    a[`rs.${i}.address`] = r.address;
    a[`rs.${i}.weight`] = String(r.weight);
    a[`rs.${i}.port`] = r.port !== (s.fwmark !== undefined ? 0 : s.ports[0]) ? String(r.port) : '';
    if (r.platform.ctid !== undefined) a[`rs.${i}.ctid`] = String(r.platform.ctid);
    a[`rs.${i}.host`] = r.platform.host !== undefined && r.platform.host !== a.rsHost ? r.platform.host : '';
    a[`rs.${i}.gateway`] = r.gateway ?? '';
    a[`rs.${i}.iface`] = r.interface !== 'eth0' ? r.interface : '';
  });
  const hc = s.healthCheck;
  const plainHttp = hc.type === 'http' && hc.status === 200 && hc.digest === undefined && hc.port === undefined && hc.virtualhost === undefined;
  const plainTcp = hc.type === 'tcp' && hc.port === undefined;
  a.check = hc.type === 'none' ? 'none' : plainTcp ? 'tcp' : plainHttp ? 'http' : 'imported';
  a.checkPath = hc.type === 'http' || hc.type === 'https' ? hc.path : '/';
  a.timerProfile = m.timerProfile;
  const carried: Carried = {
    top: { name: m.name, manager: m.manager, ...(m.piranha ? { piranha: m.piranha } : {}), ipvsSysctls: m.ipvsSysctls, firewall: m.firewall },
    service: {
      ...(s.sorryServer ? { sorryServer: s.sorryServer } : {}),
      ...(s.quiescent ? { quiescent: s.quiescent } : {}),
      ...(s.hostPortMap ? { hostPortMap: s.hostPortMap } : {}),
      checkTimers: s.checkTimers,
      healthCheck: hc,
    },
    profile: m.timerProfile,
    otherServices: m.services.slice(1),
    ...(s.realServers.length > MAX_REAL_SERVERS ? { moreRealServers: s.realServers.slice(MAX_REAL_SERVERS) } : {}),
    ...(m.vrrp?.syncDaemon ? { syncDaemon: m.vrrp.syncDaemon } : {}),
  };
  return { answers: a, carried };
}

/** The usual way to reach a node: its container by name, a lab node, or ssh to its address. */
export function suggestTarget(m: Installation, node: string, lab: boolean): string {
  if (lab) return `lab:${node}`;
  const d = m.directors.find((x) => x.name === node);
  const r = m.services.flatMap((s) => s.realServers).find((x) => x.name === node);
  const platform = d?.platform ?? r?.platform;
  if (platform?.type === 'lxd') return `lxd:${node}`;
  if (platform?.type === 'lxc') return `lxc:${node}`;
  if (platform && isOpenvz(platform.type) && platform.ctid !== undefined) return `vz:${platform.ctid}`;
  const addr = d?.interfaces.find((f) => f.address)?.address ?? r?.address;
  return addr ? `ssh://root@${addressOf(addr)}` : 'local';
}
