/**
 * Target URIs → Hosts, the grammar every command shares (issue 4, "Reaching
 * the machines"):
 *
 *   local                      this machine
 *   ssh://[user@]host[:port]   OpenSSH (host may be [IPv6])
 *   netns:NAME                 ip netns exec NAME
 *   lxd:NAME                   lxc exec NAME --
 *   lxc:NAME                   lxc-attach -n NAME --
 *   vz:CTID                    vzctl exec2 CTID (vzctl exec when exec2 is missing)
 *   lab:NODE                   a node of the running lvs-lab (only where a command
 *                              has attached the lab: see setLabHosts)
 *
 * A container target runs its prefix on its host; `--host-of
 * lxd:web1=ssh://node1` names that host, because the kernel modules, venet
 * routes and the OpenVZ ipip feature live there, not in the container.
 * Names are checked strictly: a target is never a way to smuggle shell text.
 */
import { LocalHost } from './local.js';
import { TargetError } from './errors.js';
import { PrefixHost } from './prefix.js';
import { SshHost, type SshOptions } from './ssh.js';
import type { Host, RunResult } from './types.js';

export type Target =
  | { kind: 'local' }
  | { kind: 'ssh'; user?: string; host: string; port?: number }
  | { kind: 'netns'; name: string }
  | { kind: 'lxd'; name: string }
  | { kind: 'lxc'; name: string }
  | { kind: 'vz'; ctid: string }
  | { kind: 'lab'; node: string };

export type ContainerTarget = Extract<Target, { kind: 'netns' | 'lxd' | 'lxc' | 'vz' }>;

const EXPECTED = 'local, ssh://[user@]host[:port], netns:NAME, lxd:NAME, lxc:NAME or vz:CTID (lab:NODE for a node of the running lab)';
const HINT = `a target is one of: ${EXPECTED}`;

/** ip-netns(8) names a file under /var/run/netns: no slash, not "." or "..". */
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
/** LXD instance names: letters, digits and dashes, not starting with a digit or dash, at most 63. */
const LXD_NAME = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;
/** LXC container names are directory names under lxc.lxcpath. */
const LXC_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** OpenVZ: a numeric CTID, or a name given with vzctl --name. */
const VZ_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** lvs-lab node names (src/lab/nodes.ts NODE_NAME). */
const LAB_NODE = /^[a-z][a-z0-9-]{0,14}$/;
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

function bad(uri: string, why: string): TargetError {
  return new TargetError(`bad target ${JSON.stringify(uri)}: ${why}`, HINT);
}

function parseSsh(uri: string): Target {
  const rest = uri.slice('ssh://'.length).replace(/\/$/, '');
  const m = /^(?:([^@]*)@)?(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(rest);
  if (!m) throw bad(uri, 'expected ssh://[user@]host[:port]');
  const [, user, rawHost = '', rawPort] = m;
  if (user !== undefined && !SSH_USER.test(user)) throw bad(uri, `expected a user name (letters, digits, _ . -) before "@", got ${JSON.stringify(user)}`);
  let host = rawHost;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (!IPV6.test(host) || !host.includes(':')) throw bad(uri, `expected an IPv6 address inside [ ], got ${JSON.stringify(host)}`);
  } else if (!HOSTNAME.test(host)) {
    throw bad(uri, `expected a host name or address after ssh://, got ${JSON.stringify(host)}`);
  }
  let port: number | undefined;
  if (rawPort !== undefined) {
    port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
    if (!(port >= 1 && port <= 65535)) throw bad(uri, `expected a port 1-65535 after ":", got ${JSON.stringify(rawPort)}`);
  }
  return { kind: 'ssh', host, ...(user !== undefined ? { user } : {}), ...(port !== undefined ? { port } : {}) };
}

/** Parse a target URI; a TargetError says what was expected. */
export function parseTarget(uri: string): Target {
  if (uri === 'local') return { kind: 'local' };
  if (uri.startsWith('ssh://')) return parseSsh(uri);
  const colon = uri.indexOf(':');
  const scheme = colon < 0 ? '' : uri.slice(0, colon);
  const name = uri.slice(colon + 1);
  switch (scheme) {
    case 'netns':
      if (!NETNS_NAME.test(name)) throw bad(uri, 'expected netns:NAME, a namespace name of letters, digits, _ . -');
      return { kind: 'netns', name };
    case 'lxd':
      if (!LXD_NAME.test(name)) throw bad(uri, 'expected lxd:NAME, an LXD instance name (a letter, then letters, digits, dashes; at most 63)');
      return { kind: 'lxd', name };
    case 'lxc':
      if (!LXC_NAME.test(name)) throw bad(uri, 'expected lxc:NAME, an LXC container name of letters, digits, _ . -');
      return { kind: 'lxc', name };
    case 'vz':
      if (!VZ_ID.test(name)) throw bad(uri, 'expected vz:CTID, an OpenVZ container id (e.g. vz:101)');
      return { kind: 'vz', ctid: name };
    case 'lab':
      if (!LAB_NODE.test(name)) throw bad(uri, 'expected lab:NODE, a lab node name (a lower-case letter, then letters, digits, dashes; at most 15)');
      return { kind: 'lab', node: name };
    default:
      throw bad(uri, `expected ${EXPECTED}`);
  }
}

/** The URI of a parsed target (inverse of parseTarget). */
export function formatTarget(t: Target): string {
  switch (t.kind) {
    case 'local':
      return 'local';
    case 'ssh':
      return `ssh://${t.user ? `${t.user}@` : ''}${t.host.includes(':') ? `[${t.host}]` : t.host}${t.port ? `:${t.port}` : ''}`;
    case 'netns':
    case 'lxd':
    case 'lxc':
      return `${t.kind}:${t.name}`;
    case 'vz':
      return `vz:${t.ctid}`;
    case 'lab':
      return `lab:${t.node}`;
  }
}

export interface HostOf {
  container: ContainerTarget;
  /** Where the container runs: local or ssh. */
  host: Extract<Target, { kind: 'local' | 'ssh' }>;
  containerUri: string;
  hostUri: string;
}

/** Parse `--host-of CONTAINER=HOST`, e.g. `lxd:web1=ssh://root@node1`. */
export function parseHostOf(spec: string): HostOf {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new TargetError(`bad --host-of ${JSON.stringify(spec)}: expected CONTAINER=HOST, e.g. lxd:web1=ssh://root@node1`, HINT);
  const containerUri = spec.slice(0, eq);
  const hostUri = spec.slice(eq + 1);
  const container = parseTarget(containerUri);
  if (container.kind === 'local' || container.kind === 'ssh' || container.kind === 'lab') {
    throw new TargetError(`bad --host-of ${JSON.stringify(spec)}: expected a container (netns:, lxd:, lxc:, vz:) before "=", got ${JSON.stringify(containerUri)}`, HINT);
  }
  const host = parseTarget(hostUri);
  if (host.kind !== 'local' && host.kind !== 'ssh') {
    throw new TargetError(`bad --host-of ${JSON.stringify(spec)}: expected the container's host (local or ssh://…) after "=", got ${JSON.stringify(hostUri)}`, HINT);
  }
  return { container, host, containerUri, hostUri };
}

export interface HostForOptions {
  /** For a container target: the Host (or URI) of the machine it runs on. Local by default. */
  on?: Host | string;
  /** For ssh targets, including an `on` given as a URI. */
  ssh?: SshOptions;
}

/** `ip netns exec NS X` exits 1 (older iproute2: 255) with this when X does not exist. */
function netnsNotFound(r: RunResult, program: string): boolean {
  return r.stderr.includes(`exec of "${program}" failed: No such file or directory`);
}

/** lxc-attach reports a program it cannot exec as `Failed to exec "X"` and exits non-zero (lxc's attach.c). */
function lxcAttachNotFound(r: RunResult, program: string): boolean {
  return r.stderr.includes(`Failed to exec "${program}"`);
}

const vzExec2 = new WeakMap<Host, Promise<boolean>>();

/**
 * Does this machine's vzctl know `exec2`? (Added in vzctl 3.0.23: like exec
 * but it returns the command's exit code; older ones only have `exec`.)
 * Asked once per machine: vzctl lists its commands in its usage text.
 */
export function vzctlHasExec2(on: Host): Promise<boolean> {
  let p = vzExec2.get(on);
  if (!p) {
    p = on.run(['vzctl', '--help']).then((r) => r.exitCode === 127 || /\bexec2\b/.test(`${r.stdout}\n${r.stderr}`));
    vzExec2.set(on, p);
  }
  return p;
}

/** The running lab's node Hosts, as the command that attached the lab hands them in. */
export type LabHosts = (node: string) => Host;

let labHosts: LabHosts | undefined;

/**
 * Let `lab:NODE` targets resolve. The host room cannot reach the lab (the
 * lab builds on hosts, not the other way round: DESIGN rule 0), so a command
 * that attached a running lab (bin/) hands its node Hosts in here; `undefined`
 * forgets them when the lab is detached.
 */
export function setLabHosts(resolve: LabHosts | undefined): void {
  labHosts = resolve;
}

/** The Host for a target URI. Container targets are PrefixHosts whose `on` is their host. */
export function hostFor(uri: string, opts: HostForOptions = {}): Host {
  const t = parseTarget(uri);
  const on = opts.on === undefined ? undefined : typeof opts.on === 'string' ? hostFor(opts.on, { ...(opts.ssh ? { ssh: opts.ssh } : {}) }) : opts.on;
  if (on && (t.kind === 'local' || t.kind === 'ssh' || t.kind === 'lab')) throw new TargetError(`${uri} is not a container: only netns:, lxd:, lxc: and vz: targets have a host`, HINT);
  const base = on ?? new LocalHost();
  const at = on ? `@${on.describe()}` : '';
  switch (t.kind) {
    case 'local':
      return new LocalHost();
    case 'ssh':
      return new SshHost(t, opts.ssh ?? {});
    case 'netns':
      return new PrefixHost({ prefix: ['ip', 'netns', 'exec', t.name], name: `netns:${t.name}${at}`, on: base, notFound: netnsNotFound });
    case 'lxd':
      // LXD itself returns 127 for a command the instance does not have.
      return new PrefixHost({ prefix: ['lxc', 'exec', t.name, '--'], name: `lxd:${t.name}${at}`, on: base });
    case 'lxc':
      return new PrefixHost({ prefix: ['lxc-attach', '-n', t.name, '--'], name: `lxc:${t.name}${at}`, on: base, notFound: lxcAttachNotFound });
    case 'vz':
      // vzctl(8): exec/exec2 run the command line through a shell in the
      // container, so argv is quoted word by word (shell: true); that shell
      // gives 127 for a missing program.
      return new PrefixHost({
        prefix: async () => ['vzctl', (await vzctlHasExec2(base)) ? 'exec2' : 'exec', t.ctid],
        name: `vz:${t.ctid}${at}`,
        on: base,
        shell: true,
      });
    case 'lab':
      if (!labHosts) throw new TargetError(`${uri}: no lab is attached`, 'lab:NODE targets work with a running lab: lvs-wizard apply FILE --lab, or lvs-lab up first');
      return labHosts(t.node);
  }
}

/**
 * Let go of what a Host holds open: an SshHost's shared connection (its
 * master would otherwise linger for ControlPersist seconds with its socket
 * directory), also under a container's `on`. Other hosts hold nothing.
 */
export async function closeHost(h: Host): Promise<void> {
  if (h instanceof SshHost) await h.close();
  else if (h instanceof PrefixHost) await closeHost(h.on);
}
