/**
 * `lvs-doctor --bundle FILE.tar.gz`: everything a maintainer asks for first
 * in an LVS bug report, from every node at once, secrets masked. Each
 * command is tolerated when missing or failing (a real server has no
 * ipvsadm, a container no nft): the manifest says what was missing instead.
 *
 * Inside the archive:
 *
 *   lvs-bundle-<UTC stamp>/
 *     manifest.json                  every entry: node, source (argv or path), status, exit code
 *     <node>/files/<absolute path>   keepalived.conf and its includes, lvs.cf, ldirectord.cf
 *     <node>/commands/<name>         one file per command's stdout
 *     <node>/keepalived.data         keepalived's own state dump (SIGUSR1), if it runs
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { runLocal } from './local.js';
import { HostCommandError } from './errors.js';
import { maskSecrets } from './recorded.js';
import type { Host } from './types.js';

export interface BundleNode {
  node: string;
  host: Host;
}

/** Where each node keeps its configs (the distributions' defaults unless told). */
export interface BundlePaths {
  keepalivedConf: string;
  /** Piranha's pulse/nanny configuration. */
  lvsCf: string;
  ldirectordCf: readonly string[];
  /** keepalived writes its state here on SIGUSR1 (keepalived(8)). */
  keepalivedData: string;
  keepalivedPid: readonly string[];
}

export const DEFAULT_BUNDLE_PATHS: BundlePaths = {
  keepalivedConf: '/etc/keepalived/keepalived.conf',
  lvsCf: '/etc/sysconfig/ha/lvs.cf',
  ldirectordCf: ['/etc/ha.d/ldirectord.cf', '/etc/ldirectord.cf'],
  keepalivedData: '/tmp/keepalived.data',
  keepalivedPid: ['/run/keepalived.pid', '/var/run/keepalived.pid'],
};

export interface BundleOptions {
  paths?: Partial<BundlePaths>;
  /** How long to wait for keepalived to write its dump after SIGUSR1. Default 2000 ms. */
  dumpWaitMs?: number;
  /**
   * Send keepalived SIGUSR1 for its state dump (default true). Off, the dump
   * is skipped: for a bundle that must not touch keepalived at all.
   */
  signalKeepalived?: boolean;
  /** Per command. Default 15000 ms. */
  timeoutMs?: number;
}

export type BundleEntry = {
  node: string;
  /** Path inside the archive, relative to its top directory; absent when nothing was written. */
  file?: string;
  /** ok: written; missing: no such file or program; failed: the command exited non-zero (its stderr kept); skipped: not asked for. */
  status: 'ok' | 'missing' | 'failed' | 'skipped';
  exitCode?: number;
  stderr?: string;
} & ({ source: 'file'; path: string } | { source: 'run'; argv: string[] } | { source: 'keepalived-dump'; pid?: number });

export interface BundleManifest {
  createdAt: string;
  nodes: string[];
  entries: BundleEntry[];
}

/** The commands gathered on every node and the file each one's stdout goes to. */
export const BUNDLE_COMMANDS: readonly { name: string; argv: readonly string[] }[] = [
  { name: 'sysctl.txt', argv: ['sysctl', '-a'] },
  { name: 'ipvsadm-save.txt', argv: ['ipvsadm', '-Sn'] },
  { name: 'ipvsadm-stats.txt', argv: ['ipvsadm', '-Ln', '--stats'] },
  { name: 'ip-addr.json', argv: ['ip', '-d', '-j', 'addr'] },
  { name: 'ip-route.json', argv: ['ip', '-d', '-j', 'route'] },
  { name: 'ip-neigh.json', argv: ['ip', '-j', 'neigh'] },
  { name: 'nft-ruleset.txt', argv: ['nft', 'list', 'ruleset'] },
  { name: 'iptables-save.txt', argv: ['iptables-save'] },
  { name: 'uname.txt', argv: ['uname', '-a'] },
  { name: 'lsmod.txt', argv: ['lsmod'] },
];

/** The sysctls LVS depends on; the rest of `sysctl -a` is noise (and sometimes private). */
const SYSCTL_KEEP = /^(net\.ipv4\.conf\.|net\.ipv4\.vs\.|net\.ipv4\.ip_forward\s|net\.ipv4\.ip_nonlocal_bind\s)/;

export function filterSysctl(text: string): string {
  return text
    .split('\n')
    .filter((l) => SYSCTL_KEEP.test(l))
    .map((l) => `${l}\n`)
    .join('');
}

/**
 * keepalived.conf `include` lines (keepalived.conf(5): "include FILENAME",
 * glob patterns allowed, a relative name is taken from the including file's
 * directory). Comments start with # or !.
 */
export function keepalivedIncludes(text: string, from: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#!].*$/, '').trim();
    const m = /^include\s+(\S+)/.exec(line);
    if (m) out.push(posix.isAbsolute(m[1]!) ? m[1]! : posix.join(posix.dirname(from), m[1]!));
  }
  return out;
}

/** Expand a glob on the node itself; newline-separated so names with spaces survive. */
const GLOB_SCRIPT = `IFS='\n'\nfor f in $1; do [ -f "$f" ] && printf '%s\\n' "$f"; done; exit 0`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class NodeGatherer {
  readonly entries: BundleEntry[] = [];

  constructor(
    private readonly node: string,
    private readonly host: Host,
    private readonly root: string,
    private readonly paths: BundlePaths,
    private readonly opts: { dumpWaitMs: number; timeoutMs: number; signalKeepalived: boolean },
  ) {}

  private async put(rel: string, text: string): Promise<string> {
    const file = join(this.root, this.node, rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, maskSecrets(text), { mode: 0o600 });
    return posix.join(this.node, rel);
  }

  /** Read one file; never throws (an unreadable file is a `failed` entry). */
  private async file(path: string): Promise<string | undefined> {
    try {
      const text = await this.host.readFile(path);
      if (text === undefined) {
        this.entries.push({ node: this.node, source: 'file', path, status: 'missing' });
        return undefined;
      }
      this.entries.push({ node: this.node, source: 'file', path, status: 'ok', file: await this.put(posix.join('files', posix.resolve('/', path)), text) });
      return text;
    } catch (e) {
      this.entries.push({ node: this.node, source: 'file', path, status: 'failed', stderr: maskSecrets(e instanceof Error ? e.message : String(e)) });
      return undefined;
    }
  }

  private async keepalivedTree(path: string, seen: Set<string>, depth: number): Promise<void> {
    if (seen.has(path) || depth > 8) return;
    seen.add(path);
    const text = await this.file(path);
    if (text === undefined) return;
    for (const inc of keepalivedIncludes(text, path)) {
      if (!/[*?[]/.test(inc)) {
        await this.keepalivedTree(inc, seen, depth + 1);
        continue;
      }
      const r = await this.host.run(['sh', '-c', GLOB_SCRIPT, 'sh', inc], { timeoutMs: this.opts.timeoutMs });
      for (const f of r.stdout.split('\n').filter(Boolean)) await this.keepalivedTree(f, seen, depth + 1);
    }
  }

  private async command(name: string, argv: readonly string[]): Promise<BundleEntry['status']> {
    const r = await this.host.run(argv, { timeoutMs: this.opts.timeoutMs });
    const base = { node: this.node, source: 'run' as const, argv: [...argv], exitCode: r.exitCode };
    if (r.exitCode === 127) {
      this.entries.push({ ...base, status: 'missing' });
      return 'missing';
    }
    const stdout = name === 'sysctl.txt' ? filterSysctl(r.stdout) : r.stdout;
    // sysctl -a complains on stderr about keys it may not read; with output, that is still a success.
    const ok = r.exitCode === 0 || (name === 'sysctl.txt' && stdout !== '');
    // An empty success is evidence too (iptables-save with no rules): the file is written anyway.
    const file = ok || stdout ? await this.put(posix.join('commands', name), stdout) : undefined;
    this.entries.push({
      ...base,
      status: ok ? 'ok' : 'failed',
      ...(file ? { file } : {}),
      ...(!ok && r.stderr.trim() ? { stderr: maskSecrets(r.stderr.trim()) } : {}),
    });
    return ok ? 'ok' : 'failed';
  }

  /** lsmod is absent from many containers; /proc/modules says the same. */
  private async modules(): Promise<void> {
    if ((await this.command('lsmod.txt', ['lsmod'])) === 'missing') await this.file('/proc/modules');
  }

  /** The parent keepalived's pid: its pid file, else the oldest process of that name. */
  private async keepalivedPid(): Promise<number | undefined> {
    for (const p of this.paths.keepalivedPid) {
      const text = await this.host.readFile(p).catch(() => undefined);
      const pid = Number(text?.trim());
      if (Number.isInteger(pid) && pid > 0) {
        const alive = await this.host.run(['kill', '-0', String(pid)], { timeoutMs: this.opts.timeoutMs });
        if (alive.exitCode === 0) return pid;
      }
    }
    const r = await this.host.run(['pgrep', '-o', '-x', 'keepalived'], { timeoutMs: this.opts.timeoutMs });
    const pid = Number(r.stdout.trim());
    return r.exitCode === 0 && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /**
   * keepalived(8): SIGUSR1 makes it write its configuration and VRRP state to
   * /tmp/keepalived.data. Only when it runs; the old dump (if any) is told
   * apart from the new one by its content, and after the wait the file is
   * taken as it is.
   */
  private async keepalivedDump(): Promise<void> {
    if (!this.opts.signalKeepalived) {
      this.entries.push({ node: this.node, source: 'keepalived-dump', status: 'skipped' });
      return;
    }
    const pid = await this.keepalivedPid();
    if (pid === undefined) {
      this.entries.push({ node: this.node, source: 'keepalived-dump', status: 'missing' });
      return;
    }
    const path = this.paths.keepalivedData;
    const old = await this.host.readFile(path).catch(() => undefined);
    const sig = await this.host.run(['kill', '-USR1', String(pid)], { timeoutMs: this.opts.timeoutMs });
    if (sig.exitCode !== 0) {
      this.entries.push({ node: this.node, source: 'keepalived-dump', pid, status: 'failed', exitCode: sig.exitCode, stderr: sig.stderr.trim() });
      return;
    }
    let text: string | undefined;
    for (let waited = 0; waited <= this.opts.dumpWaitMs; waited += 100) {
      await sleep(100);
      text = await this.host.readFile(path).catch(() => undefined);
      if (text !== undefined && text !== old) break;
    }
    if (text === undefined) {
      this.entries.push({ node: this.node, source: 'keepalived-dump', pid, status: 'failed', stderr: `no ${path} after SIGUSR1` });
      return;
    }
    this.entries.push({ node: this.node, source: 'keepalived-dump', pid, status: 'ok', file: await this.put('keepalived.data', text) });
  }

  async gather(): Promise<void> {
    await Promise.all([
      this.keepalivedTree(this.paths.keepalivedConf, new Set(), 0),
      this.file(this.paths.lvsCf),
      ...this.paths.ldirectordCf.map((p) => this.file(p)),
      ...BUNDLE_COMMANDS.filter((c) => c.name !== 'lsmod.txt').map((c) => this.command(c.name, c.argv)),
      this.modules(),
      this.keepalivedDump(),
    ]);
  }
}

/**
 * Gather every node's configs and state into `file` (a .tar.gz made by the
 * system `tar`). Nodes are read in parallel; nothing is changed on them
 * except keepalived writing its own dump file. Returns the manifest.
 */
export async function writeBundle(file: string, hosts: readonly BundleNode[], opts: BundleOptions = {}): Promise<BundleManifest> {
  const names = hosts.map((h) => h.node);
  for (const n of names) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(n)) throw new Error(`node name ${JSON.stringify(n)} cannot name a directory in the bundle`);
  }
  if (new Set(names).size !== names.length) throw new Error(`node names repeat in the bundle: ${names.join(', ')}`);
  const createdAt = new Date().toISOString();
  const top = `lvs-bundle-${createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  const tmp = await mkdtemp(join(tmpdir(), 'lvs-bundle-'));
  try {
    const root = join(tmp, top);
    await mkdir(root, { mode: 0o700 });
    const paths = { ...DEFAULT_BUNDLE_PATHS, ...opts.paths };
    const gatherers = hosts.map(
      (h) => new NodeGatherer(h.node, h.host, root, paths, { dumpWaitMs: opts.dumpWaitMs ?? 2000, timeoutMs: opts.timeoutMs ?? 15_000, signalKeepalived: opts.signalKeepalived ?? true }),
    );
    await Promise.all(gatherers.map((g) => g.gather()));
    const manifest: BundleManifest = { createdAt, nodes: names, entries: gatherers.flatMap((g) => g.entries) };
    await writeFile(join(root, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    const argv = ['tar', '-czf', resolve(file), '-C', tmp, top];
    const r = await runLocal(argv);
    if (r.exitCode !== 0) throw new HostCommandError(argv, 'local', r.stderr, r.exitCode, `writing ${file}`);
    return manifest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
