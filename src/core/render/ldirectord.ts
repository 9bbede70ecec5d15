/**
 * ldirectord.cf (ldirectord 4.x, Debian package `ldirectord`). Facts from
 * ldirectord(8) and its read_config that shape this file:
 *  - options of a virtual are indented (tab or 4+ spaces); a blank line ends
 *    the section, so none is written inside one;
 *  - inside a section `#` starts a comment even within quotes, and tabs
 *    become 4 spaces: check strings must avoid both;
 *  - `checkinterval` inside a virtual is honoured only with `fork = yes`;
 *  - ldirectord(8) says `quiescent` defaults to yes, the 4.12 code
 *    (set_defaults) to no; `scheduler` defaults to wrr: both always written;
 *  - a simpletcp `request` loses its first character when it starts with
 *    "/" (ldirectord prefixes "/" to every request, then strips one), and
 *    only `\n` is turned into a newline: a CR cannot be sent.
 * Timers: checkinterval = delayLoop, checktimeout = connectTimeout (used by
 * negotiate checks too when negotiatetimeout is unset), failurecount =
 * retry + 1; a failed check is retried one checkinterval later, so
 * delayBeforeRetry is delayLoop. ldirectord reads whole seconds.
 */
import type { Installation, L4Mode, NormalizedService } from '../model.js';
import { isL4 } from '../model.js';
import type { Problem } from '../problems.js';
import { ipvsVirtuals } from './ipvsadm.js';

const METHOD: Record<L4Mode, string> = { dr: 'gate', nat: 'masq', tun: 'ipip' };

/** Whole-second timers as ldirectord reads them. */
export function ldirectordTimers(s: NormalizedService): { checkinterval: number; checktimeout: number; failurecount: number } {
  return {
    checkinterval: Math.max(1, Math.ceil(s.checkTimers.delayLoop)),
    checktimeout: Math.max(1, Math.ceil(s.checkTimers.connectTimeout)),
    failurecount: s.checkTimers.retry + 1,
  };
}

/** A string as ldirectord will use it inside a virtual section (CR dropped, tab -> 4 spaces). */
export function ldirectordText(s: string): string {
  return s.replace(/\r/g, '').replace(/\t/g, '    ');
}

/** Perl regex that matches `s` literally; `#` as \x23 because a virtual section cuts at `#`. */
export function perlQuote(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`).replace(/#/g, '\\x23');
}

/** The `receive` regex for a send-expect check. */
export function receiveRegex(expect: string, regex: boolean): string {
  const text = ldirectordText(expect);
  return regex ? text.replace(/#/g, '\\x23') : perlQuote(text);
}

/** The name a virtual gets in `servicename`: the service name, with -PORT when a multi-port service is split. */
export function ldirectordServiceName(s: NormalizedService, port: number): string {
  return s.fwmark === undefined && s.ports.length > 1 ? `${s.name}-${port}` : s.name;
}

/** What ldirectord.cf cannot say of `model` (warnings: dropped or changed; errors: the file would be wrong). */
export function ldirectordProblems(model: Installation): Problem[] {
  const out: Problem[] = [];
  const warn = (path: string, message: string): void => {
    out.push({ severity: 'warning', path, message });
  };
  const err = (path: string, message: string): void => {
    out.push({ severity: 'error', path, message });
  };
  model.services.forEach((s, i) => {
    const p = `services[${i}]`;
    if (!isL4(s.mode)) {
      err(`${p}.mode`, `${s.mode} is a layer-7 proxy: ldirectord drives IPVS (nat, dr, tun)`);
      return;
    }
    if (s.checkTimers.delayBeforeRetry !== s.checkTimers.delayLoop) warn(`${p}.checkTimers.delayBeforeRetry`, 'ldirectord retries one checkinterval later: delayBeforeRetry becomes delayLoop');
    if (!Number.isInteger(s.checkTimers.delayLoop) || !Number.isInteger(s.checkTimers.connectTimeout)) warn(`${p}.checkTimers`, 'ldirectord reads whole seconds: timers are rounded up');
    if (s.mode !== 'nat') {
      s.realServers.forEach((r, j) => {
        if (s.fwmark === undefined && r.port !== s.ports[0]) warn(`${p}.realServers[${j}].port`, 'ldirectord gives gate/ipip real servers the virtual port (only masq maps ports)');
      });
    }
    const hc = s.healthCheck;
    switch (hc.type) {
      case 'none':
      case 'tcp':
        break;
      case 'http':
      case 'https':
        if (hc.status !== undefined && hc.status !== 200) warn(`${p}.healthCheck.status`, 'ldirectord accepts any successful HTTP reply: the status is dropped');
        if (hc.type === 'http' && hc.digest !== undefined) warn(`${p}.healthCheck.digest`, 'ldirectord cannot compare digests: dropped');
        if (hc.path.includes('#')) err(`${p}.healthCheck.path`, 'ldirectord cuts a virtual section line at "#": the path cannot contain it');
        break;
      case 'send-expect':
        if (/[\r\t]/.test(hc.send + hc.expect)) warn(`${p}.healthCheck`, 'ldirectord cannot send CR (only \\n is unescaped) and turns tabs into spaces');
        if (hc.send.includes('#')) err(`${p}.healthCheck.send`, 'ldirectord cuts a virtual section line at "#": the request cannot contain it');
        if (!hc.regex) warn(`${p}.healthCheck.expect`, 'ldirectord matches receive as a regex: the text is quoted into one');
        break;
      case 'script':
        warn(`${p}.healthCheck`, 'ldirectord runs checkcommand with four arguments (virtual ip, port, real ip, port) added');
        if (hc.command.includes('#')) err(`${p}.healthCheck.command`, 'ldirectord cuts a virtual section line at "#": the command cannot contain it');
        break;
      default: {
        const never: never = hc;
        return never;
      }
    }
  });
  if (model.vrrp) warn('vrrp', 'ldirectord does no failover (heartbeat or pacemaker moves it): the vrrp block is dropped');
  return out;
}

/**
 * Model -> ldirectord.cf. Timers shared by every service are written once
 * at the top; a service that differs overrides them in its section (with
 * `fork = yes` when its checkinterval differs, since ldirectord ignores a
 * per-virtual checkinterval otherwise). Layer-7 services are left out.
 */
export function renderLdirectord(model: Installation): string {
  const virtuals = ipvsVirtuals(model);
  const lines: string[] = [`# ldirectord.cf for ${model.name}, written by lvs-toolkit`];
  const first = virtuals[0] ? ldirectordTimers(virtuals[0].service) : { checkinterval: 10, checktimeout: 5, failurecount: 1 };
  const fork = virtuals.some((v) => ldirectordTimers(v.service).checkinterval !== first.checkinterval);
  lines.push(`checktimeout = ${first.checktimeout}`);
  lines.push(`checkinterval = ${first.checkinterval}`);
  lines.push(`failurecount = ${first.failurecount}`);
  if (fork) lines.push('fork = yes');
  for (const v of virtuals) {
    const s = v.service;
    const mode = s.mode as L4Mode;
    const o = (key: string, value: string | number): void => {
      lines.push(`\t${key} = ${value}`);
    };
    lines.push('');
    lines.push(`virtual = ${s.fwmark !== undefined ? s.fwmark : `${s.vip}:${v.port}`}`);
    o('servicename', ldirectordServiceName(s, v.port));
    for (const r of v.realServers) {
      const port = s.fwmark !== undefined && r.port === 0 ? '' : `:${r.port}`;
      o('real', `${r.address}${port} ${METHOD[mode]} ${r.weight}`);
    }
    if (s.sorryServer) {
      o('fallback', `${s.sorryServer.address}${s.sorryServer.port !== undefined ? `:${s.sorryServer.port}` : ''} ${METHOD[mode]}`);
    }
    o('scheduler', s.scheduler);
    if (s.persistence) {
      o('persistent', s.persistence.timeout);
      if (s.persistence.netmask !== undefined) o('netmask', s.persistence.netmask);
    }
    o('protocol', s.fwmark !== undefined ? 'fwm' : s.protocol);
    const hc = s.healthCheck;
    switch (hc.type) {
      case 'none':
        o('checktype', 'on');
        break;
      case 'tcp':
        o('checktype', 'connect');
        if (hc.port !== undefined) o('checkport', hc.port);
        break;
      case 'http':
      case 'https':
        o('checktype', 'negotiate');
        o('service', hc.type);
        o('request', `"${hc.path}"`);
        if (hc.virtualhost !== undefined) o('virtualhost', `"${hc.virtualhost}"`);
        if (hc.port !== undefined) o('checkport', hc.port);
        break;
      case 'send-expect': {
        o('checktype', 'negotiate');
        o('service', 'simpletcp');
        const send = ldirectordText(hc.send).replace(/\n/g, '\\n');
        if (send !== '') o('request', `"${send.startsWith('/') ? `/${send}` : send}"`);
        const receive = receiveRegex(hc.expect, hc.regex);
        if (receive !== '') o('receive', `"${receive}"`);
        if (hc.port !== undefined) o('checkport', hc.port);
        break;
      }
      case 'script':
        o('checktype', 'external');
        o('checkcommand', `"${hc.command}"`);
        break;
      default: {
        const never: never = hc;
        return never;
      }
    }
    const t = ldirectordTimers(s);
    if (t.checktimeout !== first.checktimeout) o('checktimeout', t.checktimeout);
    if (t.checkinterval !== first.checkinterval) o('checkinterval', t.checkinterval);
    if (t.failurecount !== first.failurecount) o('failurecount', t.failurecount);
    o('quiescent', s.quiescent ? 'yes' : 'no');
  }
  return `${lines.join('\n')}\n`;
}
