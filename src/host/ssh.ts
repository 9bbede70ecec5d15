/**
 * A remote machine over OpenSSH: the user's own `ssh`, config and keys
 * (~/.ssh/config, agent, IdentityFile), never a password prompt
 * (BatchMode=yes), and one TCP connection shared by every command
 * (ControlMaster=auto + ControlPersist, the socket in a private 0700 temp
 * directory), so a doctor run of 40 detects costs one handshake.
 *
 * ssh joins the remote argv with spaces and gives the line to the remote
 * user's login shell (ssh(1): "the command is executed on the remote host
 * instead of a login shell" — as `$SHELL -c LINE`), so every word is quoted
 * for a POSIX shell here. Remote login shells that are not POSIX (csh) are
 * not supported.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal, streamLocal } from './local.js';
import { HostUnreachableError } from './errors.js';
import { deferredStream, readFileVia, shellJoin, withEnv, writeFileVia } from './prefix.js';
import type { Host, RunOptions, RunResult, StreamHandle } from './types.js';

/** ssh(1): "ssh exits with the exit status of the remote command or with 255 if an error occurred." */
const SSH_ERROR = 255;

export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
}

export interface SshOptions {
  /** Seconds for the TCP connect and handshake (ssh_config ConnectTimeout). Default 10. */
  connectTimeoutSec?: number;
  /** Seconds the shared connection outlives its last use (ControlPersist). Default 60. */
  controlPersistSec?: number;
  /** More ssh arguments before the destination (`-F FILE`, `-i KEY`, `-o Opt=val`). */
  extraArgs?: readonly string[];
  /** The ssh program; `ssh` from PATH by default. */
  ssh?: string;
  /**
   * Commands in flight at once over the shared connection. sshd refuses
   * sessions beyond its MaxSessions (sshd_config(5), default 10) per
   * connection, so a doctor's parallel detects queue here. Default 8.
   */
  maxSessions?: number;
}

export class SshHost implements Host {
  private controlDir: string | undefined;
  private connected: Promise<void> | undefined;
  private remoteTimeout = false;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly target: SshTarget,
    private readonly opts: SshOptions = {},
  ) {}

  describe(): string {
    const t = this.target;
    return `ssh://${t.user ? `${t.user}@` : ''}${t.host}${t.port ? `:${t.port}` : ''}`;
  }

  /** ssh's own arguments up to and including the destination. */
  private sshArgs(extra: readonly string[] = []): string[] {
    const t = this.target;
    if (!this.controlDir) throw new Error('SshHost used before connect()');
    return [
      this.opts.ssh ?? 'ssh',
      '-T',
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${this.opts.connectTimeoutSec ?? 10}`,
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${join(this.controlDir, '%C')}`,
      '-o', `ControlPersist=${this.opts.controlPersistSec ?? 60}`,
      ...(t.port ? ['-p', String(t.port)] : []),
      ...(t.user ? ['-l', t.user] : []),
      ...(this.opts.extraArgs ?? []),
      ...extra,
      '--',
      t.host,
    ];
  }

  /**
   * Open the shared connection once. Throws HostUnreachableError with ssh's
   * own words (connection refused, host key, permission denied) — the one
   * place an adapter throws for the machine rather than the command.
   */
  connect(): Promise<void> {
    this.connected ??= (async () => {
      this.controlDir = await mkdtemp(join(tmpdir(), 'lvs-ssh-'));
      // The first command opens the master and asks whether the remote has
      // timeout(1), used to end timed-out commands there (see run()).
      const r = await runLocal([...this.sshArgs(), 'command -v timeout >/dev/null'], { timeoutMs: ((this.opts.connectTimeoutSec ?? 10) + 5) * 1000 });
      if (r.exitCode !== SSH_ERROR && !r.timedOut) {
        this.remoteTimeout = r.exitCode === 0;
        return;
      }
      await rm(this.controlDir, { recursive: true, force: true });
      this.controlDir = undefined;
      throw new HostUnreachableError(this.describe(), r.timedOut ? 'timed out' : r.stderr);
    })();
    return this.connected;
  }

  /** Stop the shared connection and remove its socket directory. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.controlDir) return;
    await this.connected?.catch(() => undefined);
    await runLocal([...this.sshArgs(['-O', 'exit'])], { timeoutMs: 5000 });
    await rm(this.controlDir, { recursive: true, force: true });
    this.controlDir = undefined;
    this.connected = undefined;
  }

  /** Run `fn` when a session slot is free (see maxSessions). */
  private async session<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= (this.opts.maxSessions ?? 8)) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** True while the shared connection is up (`ssh -O check`). */
  private async masterAlive(): Promise<boolean> {
    const r = await runLocal(this.sshArgs(['-O', 'check']), { timeoutMs: 5000 });
    return r.exitCode === 0;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) return { stdout: '', stderr: 'empty command', exitCode: 127 };
    await this.connect();
    const { env, timeoutMs, ...rest } = opts;
    let remote = withEnv(argv, env);
    let local: RunOptions = rest;
    if (timeoutMs) {
      // Through a shared connection the master, not the local ssh, holds our
      // pipes (the mux client passes its fds over), so killing the local ssh
      // does not end the remote command and its output never closes. The
      // remote timeout(1) ends it there and exits 124 like runLocal; the
      // local timer stays as the fallback for a remote without timeout(1).
      if (this.remoteTimeout) remote = ['timeout', '-k', '2', String(Math.max(1, Math.ceil(timeoutMs / 1000))), ...remote];
      local = { ...rest, timeoutMs: this.remoteTimeout ? timeoutMs + 5000 : timeoutMs };
    }
    const r = await this.session(() => runLocal([...this.sshArgs(), shellJoin(remote)], local));
    // 255 is ssh's own failure, unless the remote command chose it: the
    // connection tells them apart (a live master means the command ran).
    if (r.exitCode === SSH_ERROR && !(await this.masterAlive())) throw new HostUnreachableError(this.describe(), r.stderr);
    return timeoutMs && r.exitCode === 124 ? { ...r, timedOut: true } : r;
  }

  readFile(path: string): Promise<string | undefined> {
    return readFileVia((a, o) => this.run(a, o), path, this.describe());
  }

  writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    return writeFileVia((a, o) => this.run(a, o), path, text, mode, this.describe());
  }

  /**
   * A long-running remote command, stdout as raw bytes (`tcpdump -U -w -`).
   * kill() ends the local ssh; the remote command then dies of SIGPIPE on its
   * next write, as with any ssh pipeline without a pty.
   */
  stream(argv: readonly string[]): StreamHandle {
    return deferredStream(this.connect().then(() => streamLocal([...this.sshArgs(), shellJoin(argv)])));
  }
}
