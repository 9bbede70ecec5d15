/**
 * nginx as the layer-7 balancer: model -> /etc/nginx/conf.d/lvs-toolkit.conf
 * (http context) and, for UDP services, a `stream {}` file.
 *
 * This file also holds what the nginx and HAProxy paths share: the scheduler
 * mapping, `l7Problems` (what a layer-7 balancer cannot express) and the
 * skeleton of a projection (the installation an importer rebuilds), because
 * both parsers must agree with both projections to the letter.
 *
 * Health checks: nginx open source has no active checks (`health_check` is
 * nginx Plus only, ngx_http_upstream_hc_module). It counts failures of real
 * requests instead (ngx_http_upstream_module, `server` parameters):
 *   - `max_fails=N fail_timeout=T`: N failed attempts within T mark the server
 *     unavailable for T. We write max_fails = retry + 1 (keepalived's first
 *     try plus its retries) and fail_timeout = delayLoop (how long a dead
 *     server stays out before it is tried again, as a checker would re-probe
 *     it after one loop), in whole seconds (see failTimeoutSeconds);
 *   - `proxy_connect_timeout` = connectTimeout;
 *   - delayBeforeRetry has no equivalent: nginx hands a failed request to the
 *     next server at once (`proxy_next_upstream`), which an importer reads as 0.
 * healthCheck `none` writes no max_fails/fail_timeout: nginx then applies its
 * built-in defaults (max_fails=1 fail_timeout=10s), which is what seed 003's
 * hand-written file relied on.
 */
import type { HealthCheck, Installation, InstallationInput, NormalizedService, Scheduler } from '../model.js';
import { normalize } from '../normalize.js';
import type { Problem } from '../problems.js';
import type { GeneratedFile } from './types.js';

/** Where the http-context file goes; stock nginx.conf includes conf.d/*.conf inside `http {}`. */
export const NGINX_HTTP_PATH = '/etc/nginx/conf.d/lvs-toolkit.conf';
/**
 * Where the `stream {}` file goes. conf.d is included inside `http {}`, where
 * `stream` is not allowed; the stock Debian/Ubuntu nginx.conf includes
 * /etc/nginx/modules-enabled/*.conf in the main context, before `events`.
 * The "99-" prefix sorts it after libnginx-mod-stream's 50-mod-stream.conf,
 * whose `load_module` must come before any `stream` block (nginx expands an
 * include glob in sorted order).
 */
export const NGINX_STREAM_PATH = '/etc/nginx/modules-enabled/99-lvs-toolkit-stream.conf';

/** The director name every importer gives the single balancer it reads. */
export const IMPORTED_BALANCER = 'lb1';

/** The three balancing families both nginx and HAProxy have. */
export type L7Method = 'round-robin' | 'least-conn' | 'source-hash';

/** rr/wrr -> round robin, lc/wlc -> least connections, sh -> client-address hash; the rest have no layer-7 equivalent. */
export function l7Method(s: Scheduler): L7Method | undefined {
  switch (s) {
    case 'rr':
    case 'wrr':
      return 'round-robin';
    case 'lc':
    case 'wlc':
      return 'least-conn';
    case 'sh':
      return 'source-hash';
    case 'lblc':
    case 'lblcr':
    case 'dh':
    case 'sed':
    case 'nq':
    case 'mh':
    case 'fo':
    case 'ovf':
      return undefined;
  }
}

/**
 * The scheduler an importer reports for a method. nginx and HAProxy always
 * honour weights, so equal weights read as the plain scheduler (rr, lc) and
 * unequal ones as the weighted one (wrr, wlc): converting the import to IPVS
 * then keeps the behaviour.
 */
export function schedulerFor(method: L7Method, weights: readonly number[]): Scheduler {
  const equal = weights.every((w) => w === weights[0]);
  switch (method) {
    case 'round-robin':
      return equal ? 'rr' : 'wrr';
    case 'least-conn':
      return equal ? 'lc' : 'wlc';
    case 'source-hash':
      return 'sh';
  }
}

/** Seconds rounded the way we write them (whole milliseconds, at least 1 ms). */
export function roundToMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000)) / 1000;
}

/**
 * fail_timeout is read in whole seconds: nginx 1.22 rejects
 * `fail_timeout=2500ms` ("invalid parameter"), since the upstream module parses
 * it with ngx_parse_time(..., is_sec=1). So delayLoop is rounded to seconds, at least 1.
 */
export function failTimeoutSeconds(delayLoop: number): number {
  return Math.max(1, Math.round(delayLoop));
}

/** Seconds as an nginx/HAProxy time: "3s", or "500ms" when not whole seconds. */
export function formatTime(seconds: number): string {
  const ms = Math.max(1, Math.round(seconds * 1000));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The port a layer-7 balancer connects to: fwmark's port 0 means "the client's", which a proxy cannot do. */
export function upstreamPort(s: NormalizedService, port: number): number {
  return port === 0 ? s.ports[0]! : port;
}

/** A service as an importer writes it, before normalize. */
export type ServiceInput = InstallationInput['services'][number];

/**
 * The installation an importer builds around its services: one balancer
 * `lb1` whose interface address the file does not say, everything else at
 * its default. Shared by parsers (through finishParse) and projections so
 * that both produce exactly the same normalized shape.
 */
export function importedInstallation(services: ServiceInput[]): InstallationInput {
  return {
    version: 1,
    directors: [{ name: IMPORTED_BALANCER, interfaces: [{ name: 'eth0' }] }],
    services,
  };
}

/** Normalize a projection; a projection with no service left is returned without services rather than thrown. */
export function finishProjection(services: ServiceInput[]): Installation {
  const n = normalize(importedInstallation(services));
  if (n.ok) return n.model;
  return {
    version: 1,
    name: 'lvs',
    manager: 'keepalived',
    timerProfile: 'default',
    directors: [{ name: IMPORTED_BALANCER, platform: { type: 'host' }, interfaces: [{ name: 'eth0' }] }],
    services: [],
    containerHosts: [],
    firewall: 'nftables',
    ipvsSysctls: { expireQuiescentTemplate: false, conntrack: false },
  };
}

function problem(severity: Problem['severity'], i: number, field: string, message: string, hint?: string): Problem {
  return { severity, path: `services[${i}]${field ? `.${field}` : ''}`, message, ...(hint ? { hint } : {}) };
}

/**
 * What the layer-7 renderers cannot write for the model's nginx and HAProxy
 * services. Errors: the written file would behave differently in a way the
 * user must decide about (a scheduler, a sorry server, UDP on HAProxy,
 * clashing names). Warnings: something is approximated or left out.
 */
export function l7Problems(model: Installation): Problem[] {
  const out: Problem[] = [];
  const names = new Map<string, number>();
  const binds = new Map<string, number>();
  model.services.forEach((s, i) => {
    if (s.mode !== 'nginx' && s.mode !== 'haproxy') return;
    const tool = s.mode === 'nginx' ? 'nginx' : 'HAProxy';
    const key = `${s.mode}/${s.name}`;
    const first = names.get(key);
    if (first !== undefined) {
      out.push(problem('error', i, 'name', `service name "${s.name}" is already used by services[${first}]; ${tool} needs one upstream/backend name per service`, 'give each service its own name'));
    } else names.set(key, i);
    for (const port of new Set(s.ports)) {
      const b = `${s.mode}/${s.protocol}/${s.vip}:${port}`;
      const other = binds.get(b);
      if (other !== undefined && other !== i) {
        out.push(problem('error', i, 'ports', `${s.vip}:${port} is already the address of services[${other}]; ${tool} cannot route one listening address to two services`, 'use another port or VIP'));
      } else binds.set(b, i);
    }
    const method = l7Method(s.scheduler);
    if (!method) {
      out.push(problem('error', i, 'scheduler', `scheduler ${s.scheduler} has no ${tool} equivalent; it would be written as round robin`, 'choose rr/wrr (round robin), lc/wlc (least connections) or sh (client address hash)'));
    }
    if (s.persistence) {
      out.push(problem('warning', i, 'persistence', `persistence (${s.persistence.timeout}s) is an IPVS feature; ${tool} keeps no per-client timeout and it is not written`, 'for stickiness by client address choose scheduler sh'));
    }
    if (s.fwmark !== undefined) {
      out.push(problem('warning', i, 'fwmark', `fwmark ${s.fwmark} is not written: the balancer listens on each port of the service instead`));
    }
    if (s.quiescent) {
      out.push(problem('warning', i, 'quiescent', `quiescent (weight 0 on failure) is a keepalived feature; ${tool} takes a failed server out of rotation instead`));
    }
    s.realServers.forEach((r, j) => {
      if (r.port === 0) {
        out.push(problem('warning', i, `realServers[${j}].port`, `port 0 (keep the client's port) cannot be proxied; written as port ${s.ports[0]}`, 'give the real server an explicit port'));
      }
    });
    if (s.mode === 'nginx') nginxOnly(s, i, out);
    else haproxyOnly(s, i, out);
  });
  return out;
}

function nginxOnly(s: NormalizedService, i: number, out: Problem[]): void {
  const hc = s.healthCheck;
  switch (hc.type) {
    case 'none':
      break;
    case 'tcp':
      if (hc.port !== undefined) {
        out.push(problem('warning', i, 'healthCheck.port', `nginx checks passively on the traffic port; check port ${hc.port} is not written`));
      }
      break;
    case 'http':
    case 'https':
    case 'send-expect':
    case 'script':
      out.push(problem('warning', i, 'healthCheck', `an active ${hc.type} check needs nginx Plus (health_check); nginx open source only counts failed requests (max_fails/fail_timeout), which is what is written`, 'choose mode haproxy for an active check'));
      break;
  }
  if (s.sorryServer && l7Method(s.scheduler) === 'source-hash') {
    out.push(problem('error', i, 'sorryServer', 'nginx does not allow a backup server with ip_hash/hash balancing, so the sorry server is not written', 'choose rr or lc, or drop the sorry server'));
  }
}

/** HAProxy's server weight is 0..256 (configuration manual, "weight"). */
export const HAPROXY_MAX_WEIGHT = 256;

function haproxyOnly(s: NormalizedService, i: number, out: Problem[]): void {
  if (s.protocol === 'udp') {
    out.push(problem('error', i, 'protocol', 'HAProxy does not proxy UDP; the service is not written', 'choose mode nginx (stream) or an IPVS mode for UDP'));
  }
  const hc = s.healthCheck;
  if ((hc.type === 'http' || hc.type === 'https') && hc.digest !== undefined) {
    out.push(problem('warning', i, 'healthCheck.digest', 'HAProxy cannot compare an MD5 digest of the body; only the status is checked', 'use status, or a script check under keepalived'));
  }
  if (hc.type === 'script') {
    out.push(problem('warning', i, 'healthCheck', 'script checks are not written (HAProxy external-check needs insecure-fork-wanted); a TCP connect check is written instead'));
  }
  const names = new Set<string>();
  s.realServers.forEach((r, j) => {
    if (r.weight > HAPROXY_MAX_WEIGHT) {
      out.push(problem('warning', i, `realServers[${j}].weight`, `HAProxy weights are 0..${HAPROXY_MAX_WEIGHT}; ${r.weight} is written as ${HAPROXY_MAX_WEIGHT}`));
    }
    if (names.has(r.name)) {
      out.push(problem('error', i, `realServers[${j}].name`, `real server name "${r.name}" appears twice in the service; HAProxy server names must be unique in a backend`));
    }
    names.add(r.name);
  });
}

/** The health check as nginx can carry it: passive, so every active kind collapses to "tcp" (no port). */
function nginxHealth(hc: HealthCheck): 'none' | 'passive' {
  switch (hc.type) {
    case 'none':
      return 'none';
    case 'tcp':
    case 'http':
    case 'https':
    case 'send-expect':
    case 'script':
      return 'passive';
  }
}

function nginxServices(model: Installation, protocol: 'tcp' | 'udp'): NormalizedService[] {
  return model.services.filter((s) => s.mode === 'nginx' && s.protocol === protocol);
}

function serverParams(s: NormalizedService, weight: number): string {
  const parts: string[] = [];
  if (weight === 0) parts.push('down');
  else if (weight !== 1) parts.push(`weight=${weight}`);
  if (nginxHealth(s.healthCheck) === 'passive') {
    parts.push(`max_fails=${s.checkTimers.retry + 1}`, `fail_timeout=${failTimeoutSeconds(s.checkTimers.delayLoop)}s`);
  }
  return parts.length ? ` ${parts.join(' ')}` : '';
}

function methodLine(s: NormalizedService, context: 'http' | 'stream'): string | undefined {
  switch (l7Method(s.scheduler) ?? 'round-robin') {
    case 'round-robin':
      return undefined;
    case 'least-conn':
      return 'least_conn;';
    case 'source-hash':
      // The stream module has no ip_hash; hashing the client address is the same idea.
      return context === 'http' ? 'ip_hash;' : 'hash $remote_addr;';
  }
}

function upstreamBlock(s: NormalizedService, context: 'http' | 'stream', indent: string): string[] {
  const lines = [`${indent}upstream ${s.name} {`];
  const method = methodLine(s, context);
  if (method) lines.push(`${indent}    ${method}`);
  for (const r of s.realServers) {
    lines.push(`${indent}    server ${r.address}:${upstreamPort(s, r.port)}${serverParams(s, r.weight)};`);
  }
  if (s.sorryServer && l7Method(s.scheduler) !== 'source-hash') {
    lines.push(`${indent}    server ${s.sorryServer.address}:${s.sorryServer.port ?? s.ports[0]} backup;`);
  }
  lines.push(`${indent}}`);
  return lines;
}

function listenAddress(vip: string, port: number): string {
  // A bare port is nginx's "all IPv4 addresses" (ngx_http_core_module, listen).
  return vip === '0.0.0.0' ? String(port) : `${vip}:${port}`;
}

function header(model: Installation, balancerName: string, path: string): string[] {
  return [
    `# ${path}: written by lvs-toolkit for balancer ${balancerName} of installation ${model.name}.`,
    '# Every balancer of a pair gets the same file; keepalived moves the VIP between them.',
    '# A VIP the backup does not hold yet needs net.ipv4.ip_nonlocal_bind=1 there, or nginx cannot bind it.',
    '# Real servers are checked passively (nginx open source): max_fails failures within',
    '# fail_timeout take a server out for fail_timeout.',
  ];
}

/**
 * The http-context file (/etc/nginx/conf.d/lvs-toolkit.conf): an upstream
 * per TCP nginx service and a server listening on VIP:port that proxies to
 * it. The same text for every balancer of a pair; `balancerName` only names
 * it in the header.
 */
export function renderNginx(model: Installation, balancerName: string): string {
  const lines = header(model, balancerName, NGINX_HTTP_PATH);
  for (const s of nginxServices(model, 'tcp')) {
    lines.push('', `# service ${s.name}: ${s.scheduler}`);
    lines.push(...upstreamBlock(s, 'http', ''));
    lines.push('', 'server {');
    for (const port of new Set(s.ports)) lines.push(`    listen ${listenAddress(s.vip, port)};`);
    lines.push('    location / {');
    lines.push(`        proxy_pass http://${s.name};`);
    lines.push('        proxy_set_header Host $host;');
    lines.push('        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    if (nginxHealth(s.healthCheck) === 'passive') lines.push(`        proxy_connect_timeout ${formatTime(s.checkTimers.connectTimeout)};`);
    lines.push('    }', '}');
  }
  return `${lines.join('\n')}\n`;
}

/** The main-context file with one `stream {}` block for the UDP nginx services (see NGINX_STREAM_PATH). */
export function renderNginxStream(model: Installation, balancerName: string): string {
  const lines = header(model, balancerName, NGINX_STREAM_PATH);
  lines.push('# Needs the stream module (libnginx-mod-stream), loaded by 50-mod-stream.conf.', '', 'stream {');
  nginxServices(model, 'udp').forEach((s, k) => {
    if (k > 0) lines.push('');
    lines.push(`    # service ${s.name}: ${s.scheduler}`);
    lines.push(...upstreamBlock(s, 'stream', '    '));
    lines.push('', '    server {');
    for (const port of new Set(s.ports)) lines.push(`        listen ${listenAddress(s.vip, port)} udp;`);
    lines.push(`        proxy_pass ${s.name};`);
    if (nginxHealth(s.healthCheck) === 'passive') lines.push(`        proxy_connect_timeout ${formatTime(s.checkTimers.connectTimeout)};`);
    lines.push('    }');
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * Every nginx file a balancer needs: the http file when there are TCP nginx
 * services, the stream file when there are UDP ones, in that order (an
 * importer reading both concatenated rebuilds `projectNginx`).
 */
export function nginxFiles(model: Installation, balancerName: string): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  if (nginxServices(model, 'tcp').length > 0) {
    files.push({
      path: NGINX_HTTP_PATH,
      content: renderNginx(model, balancerName),
      mode: 0o644,
      validator: 'nginx',
      description: 'nginx upstreams and servers for the HTTP services',
    });
  }
  if (nginxServices(model, 'udp').length > 0) {
    files.push({
      path: NGINX_STREAM_PATH,
      content: renderNginxStream(model, balancerName),
      mode: 0o644,
      validator: 'nginx',
      description: 'nginx stream proxy for the UDP services',
    });
  }
  return files;
}

/** Service fields both projections share: what nginx and HAProxy carry alike. */
export function projectCommon(s: NormalizedService): Omit<ServiceInput, 'healthCheck' | 'checkTimers'> {
  const servers = s.realServers.map((r) => ({ name: r.address, address: r.address, port: upstreamPort(s, r.port), weight: r.weight }));
  return {
    name: s.name,
    vip: s.vip,
    protocol: s.protocol,
    ports: [...new Set(s.ports)],
    scheduler: schedulerFor(l7Method(s.scheduler) ?? 'round-robin', servers.map((r) => r.weight)),
    mode: s.mode,
    realServers: servers,
    quiescent: false,
    ...(s.sorryServer ? { sorryServer: { address: s.sorryServer.address, port: s.sorryServer.port ?? s.ports[0]! } } : {}),
  };
}

/**
 * What survives nginxFiles -> parseNginx: the nginx services (TCP first,
 * then UDP, the order of the files), real servers named by their address,
 * passive checks as `tcp` with their timers, no persistence, fwmark,
 * quiescence, host port map or container platforms. `balancerName` does not
 * change the text, so it does not change the projection either.
 */
export function projectNginx(model: Installation, balancerName: string): Installation {
  const services = [...nginxServices(model, 'tcp'), ...nginxServices(model, 'udp')].map((s): ServiceInput => {
    const { sorryServer, ...common } = projectCommon(s);
    const keepSorry = sorryServer && l7Method(s.scheduler) !== 'source-hash';
    const passive = nginxHealth(s.healthCheck) === 'passive';
    return {
      ...common,
      ...(keepSorry ? { sorryServer } : {}),
      healthCheck: passive ? { type: 'tcp' } : { type: 'none' },
      ...(passive
        ? {
            checkTimers: {
              delayLoop: failTimeoutSeconds(s.checkTimers.delayLoop),
              connectTimeout: roundToMs(s.checkTimers.connectTimeout),
              retry: s.checkTimers.retry,
              delayBeforeRetry: 0,
            },
          }
        : {}),
    };
  });
  return finishProjection(services);
}
