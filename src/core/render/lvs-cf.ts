/**
 * Piranha's /etc/sysconfig/ha/lvs.cf (pulse, lvs and nanny read it), as in
 * seeds 002 and 004. Format: lvs.cf(5) and the RHEL "Load Balancer
 * Administration" guide.
 *
 * How the model maps onto nanny (the per-real-server checker):
 *  - `timeout` (seconds nanny waits for a reply)     <-> checkTimers.connectTimeout
 *  - `reentry` (seconds a dead server must answer before it is re-added)
 *                                                    <-> checkTimers.delayBeforeRetry
 *  - nanny has no retry count and checks every 2 s (its built-in interval):
 *    an lvs.cf always means retry 0 and delayLoop 2.
 *  - `send` / `expect` / `use_regex`                 <-> healthCheck send-expect; the
 *    file escapes CR, LF, TAB as \r \n \t, the model holds the real characters.
 *  - `send_program`                                  <-> healthCheck script; no send at all
 *    means nanny only connects: healthCheck tcp.
 * Piranha gives every real server the virtual's `port` (for a fwmark service
 * too: `ipvsadm -Ln` shows 10.8.8.33:80 in seed 004).
 */
import type { Installation, NormalizedService } from '../model.js';
import { isL4 } from '../model.js';
import { addressOf, prefixOf, prefixToNetmask } from '../net.js';
import type { Problem } from '../problems.js';

/** nanny's fixed check interval in seconds (it has no setting for it in lvs.cf). */
export const NANNY_INTERVAL = 2;

const NETWORK_WORD = { nat: 'nat', dr: 'direct', tun: 'tunnel' } as const;

/**
 * The interface a service's VIP is brought up on: the interface VRRP floats it
 * on when the model says so, else the first director's first (outside)
 * interface. lvs.cf names it as an alias (`eth0:1`); the parser keeps the base.
 */
export function vipDevice(model: Installation, service: NormalizedService): string {
  for (const inst of model.vrrp?.instances ?? []) {
    for (const a of inst.addresses) {
      if (addressOf(a.address) === service.vip) return a.interface ?? inst.interface;
    }
  }
  return model.directors[0]?.interfaces[0]?.name ?? 'eth0';
}

/**
 * The heartbeat address of director `index` (0 primary, 1 backup): what
 * `piranha.primary`/`backup` says (an import), else the director's first
 * interface that has an address.
 */
export function heartbeatAddress(model: Installation, index: 0 | 1): string | undefined {
  const kept = index === 0 ? model.piranha?.primary : model.piranha?.backup;
  if (kept) return kept;
  const d = model.directors[index];
  const withAddress = d?.interfaces.find((i) => i.address !== undefined);
  return withAddress?.address ? addressOf(withAddress.address) : undefined;
}

/** Escape a model string for a double-quoted lvs.cf value (nanny understands \r \n \t \\ \"). */
export function escapeLvsCf(s: string): string {
  return s.replace(/[\\"\r\n\t]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '"':
        return '\\"';
      case '\r':
        return '\\r';
      case '\n':
        return '\\n';
      default:
        return '\\t';
    }
  });
}

/**
 * What lvs.cf cannot say about `model`. Errors make the file wrong (a mode
 * Piranha does not have, services in different modes: lvs.cf has one
 * `network` for all virtuals; a director without an address); warnings are
 * settings the file drops or changes (a round trip gives projectLvsCf(model)).
 */
export function lvsCfProblems(model: Installation): Problem[] {
  const out: Problem[] = [];
  const err = (path: string, message: string, hint?: string): void => {
    out.push({ severity: 'error', path, message, ...(hint ? { hint } : {}) });
  };
  const warn = (path: string, message: string, hint?: string): void => {
    out.push({ severity: 'warning', path, message, ...(hint ? { hint } : {}) });
  };
  const modes = new Set(model.services.map((s) => s.mode));
  model.services.forEach((s, i) => {
    if (!isL4(s.mode)) err(`services[${i}].mode`, `Piranha balances in the kernel (nat, dr, tun); ${s.mode} is a layer-7 proxy`, 'render nginx/HAProxy files for this service');
  });
  if (modes.size > 1) {
    err('services', `lvs.cf has one "network" for every virtual server; these services use ${[...modes].join(', ')}`, 'split them into two installations or use keepalived');
  }
  if (model.directors.length === 0) err('directors', 'lvs.cf needs a primary director (primary = ADDR)');
  if (model.directors.length > 0 && heartbeatAddress(model, 0) === undefined) {
    err('directors[0].interfaces', 'the primary director has no address for "primary ="', 'give its first interface an address');
  }
  if (model.directors.length > 1 && heartbeatAddress(model, 1) === undefined) {
    err('directors[1].interfaces', 'the backup director has no address for "backup ="', 'give its first interface an address');
  }
  model.services.forEach((s, i) => {
    const p = `services[${i}]`;
    const t = s.checkTimers;
    if (t.delayLoop !== NANNY_INTERVAL) warn(`${p}.checkTimers.delayLoop`, `nanny checks every ${NANNY_INTERVAL} s; delayLoop ${t.delayLoop} is dropped`);
    if (t.retry !== 0) warn(`${p}.checkTimers.retry`, `nanny has no retry count; retry ${t.retry} is dropped`);
    if (s.ports.length > 1 && s.fwmark === undefined) warn(`${p}.ports`, 'lvs.cf has one port per virtual server; only the first is written', 'bundle the ports with a firewall mark');
    s.realServers.forEach((r, j) => {
      if (r.port !== s.ports[0]) warn(`${p}.realServers[${j}].port`, `Piranha sends to the virtual's port ${s.ports[0]}, not ${r.port}`);
    });
    const hc = s.healthCheck;
    switch (hc.type) {
      case 'none':
        warn(`${p}.healthCheck`, 'nanny always checks; without send it only connects (tcp)');
        break;
      case 'tcp':
        if (hc.port !== undefined && hc.port !== s.ports[0]) warn(`${p}.healthCheck.port`, 'nanny checks the service port; the check port is dropped');
        break;
      case 'http':
        if (hc.digest !== undefined) warn(`${p}.healthCheck.digest`, 'nanny cannot compare digests; the check becomes send/expect');
        if (hc.port !== undefined && hc.port !== s.ports[0]) warn(`${p}.healthCheck.port`, 'nanny checks the service port; the check port is dropped');
        break;
      case 'https':
        warn(`${p}.healthCheck`, 'nanny cannot speak TLS; the check becomes a plain connect (tcp)');
        break;
      case 'send-expect':
        if (hc.port !== undefined && hc.port !== s.ports[0]) warn(`${p}.healthCheck.port`, 'nanny checks the service port; the check port is dropped');
        break;
      case 'script':
        warn(`${p}.healthCheck`, 'nanny judges a send_program by its output matching "expect", not by its exit status', 'make the script print a fixed word and set expect to it by hand');
        break;
      default: {
        const never: never = hc;
        return never;
      }
    }
    if (s.sorryServer?.port !== undefined && s.sorryServer.port !== s.ports[0]) {
      warn(`${p}.sorryServer.port`, 'lvs.cf names only the sorry server address; the port is dropped');
    }
  });
  if (model.vrrp) warn('vrrp', 'Piranha fails over with its own heartbeat (pulse), not VRRP; the vrrp block is dropped');
  return out;
}

/**
 * Model -> lvs.cf text. Requires `lvsCfProblems(model)` to hold no error:
 * with one, the file is still written (never a throw) but says something
 * else than the model (for instance the first service's mode for all).
 * A send-expect check becomes send/expect; an http check becomes the request
 * nanny would send and, with a status, a regex on the status line.
 */
export function renderLvsCf(model: Installation): string {
  const lines: string[] = [];
  const g = (key: string, value: string | number): void => {
    lines.push(`${key} = ${value}`);
  };
  const pir = model.piranha ?? {};
  const bool = (b: boolean): number => (b ? 1 : 0);
  if (pir.serialNo !== undefined) g('serial_no', pir.serialNo);
  const primary = heartbeatAddress(model, 0);
  if (primary) g('primary', primary);
  g('service', 'lvs');
  const backup = model.directors.length > 1 ? heartbeatAddress(model, 1) : undefined;
  if (backup) {
    g('backup_active', 1);
    g('backup', backup);
  }
  if (pir.heartbeat !== undefined) g('heartbeat', bool(pir.heartbeat));
  if (pir.heartbeatPort !== undefined) g('heartbeat_port', pir.heartbeatPort);
  if (pir.keepalive !== undefined) g('keepalive', pir.keepalive);
  if (pir.deadtime !== undefined) g('deadtime', pir.deadtime);
  const first = model.services.find((s) => isL4(s.mode));
  const mode = first && isL4(first.mode) ? first.mode : 'nat';
  g('network', NETWORK_WORD[mode]);
  if (model.natRouter) {
    g('nat_router', `${addressOf(model.natRouter.address)} ${model.natRouter.interface}:0`);
    g('nat_nmask', prefixToNetmask(prefixOf(model.natRouter.address)));
  }
  if (pir.debugLevel !== undefined) g('debug_level', pir.debugLevel);
  if (pir.monitorLinks !== undefined) g('monitor_links', bool(pir.monitorLinks));
  if (pir.syncDaemon !== undefined) g('syncdaemon', bool(pir.syncDaemon));

  const aliasCount = new Map<string, number>();
  const aliasOfVip = new Map<string, string>();
  const I1 = '     ';
  const I2 = '         ';
  for (const s of model.services) {
    if (!isL4(s.mode)) continue;
    let alias = aliasOfVip.get(s.vip);
    if (!alias) {
      const dev = vipDevice(model, s);
      const n = (aliasCount.get(dev) ?? 0) + 1;
      aliasCount.set(dev, n);
      alias = `${dev}:${n}`;
      aliasOfVip.set(s.vip, alias);
    }
    const v = (key: string, value: string | number): void => {
      lines.push(`${I1}${key} = ${value}`);
    };
    lines.push(`virtual ${s.name} {`);
    v('active', 1);
    v('address', `${s.vip} ${alias}`);
    v('vip_nmask', '255.255.255.255');
    if (s.fwmark !== undefined) v('fwmark', s.fwmark);
    v('port', s.ports[0]!);
    if (s.persistence) {
      v('persistent', s.persistence.timeout);
      if (s.persistence.netmask !== undefined) v('pmask', s.persistence.netmask);
    }
    const check = nannyCheck(s);
    if (check.kind === 'send') {
      v('send', `"${escapeLvsCf(check.send)}"`);
      v('expect', `"${escapeLvsCf(check.expect)}"`);
      v('use_regex', check.regex ? 1 : 0);
    } else if (check.kind === 'program') {
      v('send_program', `"${escapeLvsCf(check.command)}"`);
    }
    v('load_monitor', 'none');
    v('scheduler', s.scheduler);
    v('protocol', s.protocol);
    v('timeout', s.checkTimers.connectTimeout);
    v('reentry', s.checkTimers.delayBeforeRetry);
    v('quiesce_server', s.quiescent ? 1 : 0);
    if (s.sorryServer) v('sorry_server', s.sorryServer.address);
    for (const r of s.realServers) {
      lines.push(`${I1}server ${r.name} {`);
      lines.push(`${I2}address = ${r.address}`);
      lines.push(`${I2}active = 1`);
      lines.push(`${I2}weight = ${r.weight}`);
      lines.push(`${I1}}`);
    }
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

/** What nanny does for a model check: send/expect, run a program, or just connect. */
export type NannyCheck =
  | { kind: 'send'; send: string; expect: string; regex: boolean }
  | { kind: 'program'; command: string }
  | { kind: 'connect' };

/** The nanny check that stands for the service's health check (see lvsCfProblems for what is lost). */
export function nannyCheck(s: NormalizedService): NannyCheck {
  const hc = s.healthCheck;
  switch (hc.type) {
    case 'none':
    case 'tcp':
    case 'https':
      return { kind: 'connect' };
    case 'http': {
      const host = hc.virtualhost ? `Host: ${hc.virtualhost}\r\n` : '';
      const send = `GET ${hc.path} HTTP/1.0\r\n${host}\r\n`;
      if (hc.status === undefined) return { kind: 'send', send, expect: 'HTTP', regex: false };
      return { kind: 'send', send, expect: `^HTTP/1\\.[01] ${hc.status}`, regex: true };
    }
    case 'send-expect':
      return { kind: 'send', send: hc.send, expect: hc.expect, regex: hc.regex };
    case 'script':
      return { kind: 'program', command: hc.command };
    default: {
      const never: never = hc;
      return never;
    }
  }
}
