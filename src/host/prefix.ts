/**
 * A Host that runs argv behind a command prefix on another Host: `ip netns
 * exec NAME`, `lxc exec NAME --` (LXD), `lxc-attach -n NAME --` (LXC),
 * `vzctl exec2 CTID` (OpenVZ). Files are read and written with small sh
 * scripts run the same way, because the prefix's mount namespace (the
 * container's root filesystem) is only reachable through it.
 */
import { LocalHost } from './local.js';
import { HostCommandError } from './errors.js';
import type { Host, RunOptions, RunResult, StreamHandle } from './types.js';

/** Exit code of the read script when the file does not exist (sysexits' EX_NOINPUT). */
export const READ_MISSING = 66;

/**
 * Read a file; a missing file is told apart from an unreadable one by its own
 * exit code, not by parsing cat's localized message. The path travels as a
 * positional parameter ("$1"), never spliced into the script.
 */
export const READ_SCRIPT = `[ -e "$1" ] || exit ${READ_MISSING}; exec cat -- "$1"`;

/**
 * Atomic write: the text arrives on stdin into a temporary file in the same
 * directory (so `mv` is a rename(2) on one filesystem), gets its mode, then
 * replaces the target. The temporary file is removed if anything fails.
 */
export const WRITE_SCRIPT = [
  'set -e',
  'd=$(dirname -- "$1")',
  'mkdir -p -- "$d"',
  't=$(mktemp -- "$d/.lvs-write.XXXXXX")',
  'trap \'rm -f -- "$t"\' EXIT',
  'cat >"$t"',
  'chmod "$2" "$t"',
  'mv -f -- "$t" "$1"',
  'trap - EXIT',
].join('\n');

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one word for a POSIX shell: single quotes keep everything literal
 * (`$`, backquotes, newlines), and a single quote itself is closed, escaped
 * and reopened. Plain words stay bare so logs remain readable.
 */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** argv as one command line for a remote shell (ssh, `vzctl exec`), each word quoted. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** argv prefixed by `env K=V …` so the variables are set inside the target, not on the tool that enters it. */
export function withEnv(argv: readonly string[], env: Record<string, string> | undefined): string[] {
  const pairs = Object.entries(env ?? {});
  if (pairs.length === 0) return [...argv];
  return ['env', ...pairs.map(([k, v]) => `${k}=${v}`), ...argv];
}

/** Anything that can run argv: a Host, or an adapter's own transport. */
export type Runner = (argv: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/** Read through `sh -c READ_SCRIPT`; undefined when the file does not exist. */
export async function readFileVia(run: Runner, path: string, where: string): Promise<string | undefined> {
  const argv = ['sh', '-c', READ_SCRIPT, 'sh', path];
  const r = await run(argv);
  if (r.exitCode === 0) return r.stdout;
  if (r.exitCode === READ_MISSING) return undefined;
  throw new HostCommandError(argv, where, r.stderr, r.exitCode, `reading ${path}`);
}

/** Atomic write through `sh -c WRITE_SCRIPT`, the text on stdin. */
export async function writeFileVia(run: Runner, path: string, text: string, mode: number, where: string): Promise<void> {
  const argv = ['sh', '-c', WRITE_SCRIPT, 'sh', path, mode.toString(8).padStart(4, '0')];
  const r = await run(argv, { input: text });
  if (r.exitCode !== 0) throw new HostCommandError(argv, where, r.stderr, r.exitCode, `writing ${path}`);
}

/** A StreamHandle for a command whose argv is only known later (after a one-time probe). */
export function deferredStream(start: Promise<StreamHandle>): StreamHandle {
  return {
    stdout: (async function* () {
      const h = await start;
      yield* h.stdout;
    })(),
    done: start.then((h) => h.done),
    kill: (signal?: NodeJS.Signals) => {
      void start.then((h) => h.kill(signal));
    },
  };
}

export interface PrefixHostOptions {
  /** The words put before argv, or a one-time probe that decides them (OpenVZ's exec2 vs exec). */
  prefix: readonly string[] | (() => Promise<readonly string[]>);
  /** What describe() says: "netns:lvs1", "lxd:web1@ssh://root@node1". */
  name: string;
  /** The machine the prefix command runs on (the container's host); local by default. */
  on?: Host;
  /**
   * The tool joins argv with spaces and hands it to a shell in the target
   * (`vzctl exec`/`exec2` do, see vzctl(8)): each word is then quoted.
   */
  shell?: boolean;
  /**
   * Recognise the tool's own report that the program does not exist in the
   * target, so run() can return 127 like everywhere else (`ip netns exec`
   * exits 1 with `exec of "X" failed: No such file or directory`).
   */
  notFound?: (r: RunResult, program: string) => boolean;
}

export class PrefixHost implements Host {
  /** The machine the prefix runs on: for a container, its host (kernel modules, venet routes, the ipip feature). */
  readonly on: Host;
  private prefixOnce: Promise<readonly string[]> | undefined;

  constructor(private readonly opts: PrefixHostOptions) {
    this.on = opts.on ?? new LocalHost();
  }

  describe(): string {
    return this.opts.name;
  }

  /** The prefix in effect (after the probe, if there is one). */
  prefix(): Promise<readonly string[]> {
    const p = this.opts.prefix;
    this.prefixOnce ??= Array.isArray(p) ? Promise.resolve(p) : (p as () => Promise<readonly string[]>)();
    return this.prefixOnce;
  }

  /** The full argv handed to `on` for `argv` in the target. */
  async wrap(argv: readonly string[], env?: Record<string, string>): Promise<string[]> {
    const inner = withEnv(argv, env);
    const prefix = await this.prefix();
    return this.opts.shell ? [...prefix, shellJoin(inner)] : [...prefix, ...inner];
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) return { stdout: '', stderr: 'empty command', exitCode: 127 };
    const { env, ...rest } = opts;
    const r = await this.on.run(await this.wrap(argv, env), rest);
    if (r.exitCode !== 0 && r.exitCode !== 127 && this.opts.notFound?.(r, argv[0]!)) return { ...r, exitCode: 127 };
    return r;
  }

  readFile(path: string): Promise<string | undefined> {
    return readFileVia((a, o) => this.run(a, o), path, this.describe());
  }

  writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    return writeFileVia((a, o) => this.run(a, o), path, text, mode, this.describe());
  }

  stream(argv: readonly string[]): StreamHandle {
    return deferredStream(this.wrap(argv).then((full) => this.on.stream(full)));
  }
}
