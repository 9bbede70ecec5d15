/**
 * HAProxy as the layer-7 balancer: model -> a complete /etc/haproxy/haproxy.cfg
 * with a frontend (bind VIP:port) and a backend per TCP haproxy service.
 *
 * Health checks are active here (HAProxy configuration manual, "check",
 * "option httpchk", "tcp-check"):
 *   - inter = delayLoop, fall = retry + 1 (keepalived's first try plus its
 *     retries), rise 1 (keepalived puts a server back after one good check);
 *   - fastinter = delayBeforeRetry: the interval while a server is between
 *     states, i.e. between the failed checks that lead to "down". When it is
 *     0 we write none, and HAProxy uses inter (so an importer reads inter);
 *   - the backend's `timeout connect` = connectTimeout (HAProxy connects a
 *     check within min(timeout connect, inter));
 *   - tcp -> plain `check`; http/https -> `option httpchk` (+ `check-ssl
 *     verify none` for https) and `http-check expect status N`; send-expect
 *     -> `option tcp-check` with the bytes in hex (`tcp-check send-binary`:
 *     no quoting pitfalls for \r\n) and `expect string|rstring|binary`;
 *     script -> a TCP check (see l7Problems).
 * UDP services are left out: HAProxy does not proxy UDP (l7Problems says so).
 */
import type { HealthCheck, Installation, NormalizedService } from '../model.js';
import {
  finishProjection,
  formatTime,
  HAPROXY_MAX_WEIGHT,
  l7Method,
  projectCommon,
  roundToMs,
  schedulerFor,
  upstreamPort,
  type ServiceInput,
} from './nginx.js';

export const HAPROXY_PATH = '/etc/haproxy/haproxy.cfg';

/** The global and defaults sections, the same in every file; the importer recognises these lines and says nothing about them. */
export const HAPROXY_PREAMBLE = [
  'global',
  '    log /dev/log local0',
  '    user haproxy',
  '    group haproxy',
  '    daemon',
  '',
  'defaults',
  '    mode http',
  '    log global',
  '    option httplog',
  '    option dontlognull',
  '    timeout connect 5s',
  '    timeout client 50s',
  '    timeout server 50s',
] as const;

function haproxyServices(model: Installation): NormalizedService[] {
  return model.services.filter((s) => s.mode === 'haproxy' && s.protocol === 'tcp');
}

function balanceLine(s: NormalizedService): string {
  switch (l7Method(s.scheduler) ?? 'round-robin') {
    case 'round-robin':
      return 'balance roundrobin';
    case 'least-conn':
      return 'balance leastconn';
    case 'source-hash':
      return 'balance source';
  }
}

/** A word HAProxy reads as is, or a double-quoted string with its escapes (`\"`, `\\`, `\$`; a bare `$` would expand an environment variable). */
export function haproxyQuote(text: string): string {
  if (/^[A-Za-z0-9_./:=@%+,^*?()[\]|-]+$/.test(text)) return text;
  return `"${text.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

/** UTF-8 bytes of a string in lowercase hex, as `send-binary` and `expect binary` take them. */
export function toHex(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The backend lines of a check, before the servers. */
function checkLines(hc: HealthCheck): string[] {
  switch (hc.type) {
    case 'none':
    case 'tcp':
    case 'script':
      return [];
    case 'http':
    case 'https': {
      const lines = hc.virtualhost !== undefined
        ? ['option httpchk', `http-check send meth GET uri ${haproxyQuote(hc.path)} ver HTTP/1.1 hdr Host ${haproxyQuote(hc.virtualhost)}`]
        : [`option httpchk GET ${haproxyQuote(hc.path)}`];
      if (hc.status !== undefined) lines.push(`http-check expect status ${hc.status}`);
      return lines;
    }
    case 'send-expect': {
      const expect = hc.regex
        ? `rstring ${haproxyQuote(hc.expect)}`
        : /^[\x21-\x7e]+$/.test(hc.expect) && !/["'\\$#]/.test(hc.expect)
          ? `string ${hc.expect}`
          : `binary ${toHex(hc.expect)}`;
      return ['option tcp-check', `# send ${JSON.stringify(hc.send)}`, `tcp-check send-binary ${toHex(hc.send)}`, `tcp-check expect ${expect}`];
    }
  }
}

function checkPort(hc: HealthCheck): number | undefined {
  switch (hc.type) {
    case 'none':
    case 'script':
      return undefined;
    case 'tcp':
    case 'http':
    case 'https':
    case 'send-expect':
      return hc.port;
  }
}

function backend(s: NormalizedService): string[] {
  const hc = s.healthCheck;
  const checked = hc.type !== 'none';
  const lines = [`backend ${s.name}`, `    ${balanceLine(s)}`];
  for (const l of checkLines(hc)) lines.push(`    ${l}`);
  if (checked) {
    const t = s.checkTimers;
    lines.push(`    timeout connect ${formatTime(t.connectTimeout)}`);
    const dflt = [`inter ${formatTime(t.delayLoop)}`];
    if (t.delayBeforeRetry > 0) dflt.push(`fastinter ${formatTime(t.delayBeforeRetry)}`);
    dflt.push(`fall ${t.retry + 1}`, 'rise 1');
    const port = checkPort(hc);
    if (port !== undefined) dflt.push(`port ${port}`);
    lines.push(`    default-server ${dflt.join(' ')}`);
  }
  const names = new Set(s.realServers.map((r) => r.name));
  for (const r of s.realServers) {
    const params: string[] = [];
    if (checked) params.push('check');
    if (hc.type === 'https') params.push('check-ssl', 'verify none');
    const weight = Math.min(r.weight, HAPROXY_MAX_WEIGHT);
    if (weight !== 1) params.push(`weight ${weight}`);
    lines.push(`    server ${r.name} ${r.address}:${upstreamPort(s, r.port)}${params.length ? ` ${params.join(' ')}` : ''}`);
  }
  if (s.sorryServer) {
    let name = 'sorry';
    for (let k = 2; names.has(name); k++) name = `sorry-${k}`;
    lines.push(`    server ${name} ${s.sorryServer.address}:${s.sorryServer.port ?? s.ports[0]} backup`);
  }
  return lines;
}

/**
 * The whole haproxy.cfg for a balancer: global, defaults with sane timeouts,
 * then a frontend and a backend of the same name per TCP haproxy service
 * (HAProxy allows a frontend and a backend to share a name). The same text
 * for every balancer of a pair; `balancerName` only names it in the header.
 */
export function renderHaproxy(model: Installation, balancerName: string): string {
  const lines = [
    `# ${HAPROXY_PATH}: written by lvs-toolkit for balancer ${balancerName} of installation ${model.name}.`,
    '# Every balancer of a pair gets the same file; keepalived moves the VIP between them.',
    '# A VIP the backup does not hold yet needs net.ipv4.ip_nonlocal_bind=1 there, or HAProxy cannot bind it.',
    ...HAPROXY_PREAMBLE,
  ];
  for (const s of haproxyServices(model)) {
    lines.push('', `# service ${s.name}: ${s.scheduler}`, `frontend ${s.name}`);
    // ":80" is every IPv4 address (configuration manual, "bind").
    for (const port of new Set(s.ports)) lines.push(`    bind ${s.vip === '0.0.0.0' ? '' : s.vip}:${port}`);
    lines.push(`    default_backend ${s.name}`, '');
    lines.push(...backend(s));
  }
  return `${lines.join('\n')}\n`;
}

function projectHealth(hc: HealthCheck): ServiceInput['healthCheck'] {
  switch (hc.type) {
    case 'none':
      return { type: 'none' };
    case 'tcp':
      return { type: 'tcp', ...(hc.port !== undefined ? { port: hc.port } : {}) };
    case 'script':
      return { type: 'tcp' };
    case 'http':
    case 'https': {
      const { digest: _dropped, ...kept } = hc;
      return kept;
    }
    case 'send-expect':
      return hc;
  }
}

/**
 * What survives renderHaproxy -> parseHaproxy: the TCP haproxy services with
 * their real servers' names, active checks (without digest; a script check
 * becomes TCP), timers at millisecond precision, weights up to 256; no
 * persistence, fwmark, quiescence, host port map or container platforms.
 * `balancerName` does not change the text, so not the projection either.
 */
export function projectHaproxy(model: Installation, balancerName: string): Installation {
  const services = haproxyServices(model).map((s): ServiceInput => {
    const common = projectCommon(s);
    const weights = s.realServers.map((r) => Math.min(r.weight, HAPROXY_MAX_WEIGHT));
    const checked = s.healthCheck.type !== 'none';
    const t = s.checkTimers;
    return {
      ...common,
      scheduler: schedulerFor(l7Method(s.scheduler) ?? 'round-robin', weights),
      realServers: s.realServers.map((r, j) => ({ name: r.name, address: r.address, port: upstreamPort(s, r.port), weight: weights[j]! })),
      healthCheck: projectHealth(s.healthCheck),
      ...(checked
        ? {
            checkTimers: {
              delayLoop: roundToMs(t.delayLoop),
              connectTimeout: roundToMs(t.connectTimeout),
              retry: t.retry,
              delayBeforeRetry: t.delayBeforeRetry > 0 ? roundToMs(t.delayBeforeRetry) : roundToMs(t.delayLoop),
            },
          }
        : {}),
    };
  });
  return finishProjection(services);
}
