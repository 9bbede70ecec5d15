/**
 * What a lab Host needs from the place it runs commands: spawn a process with
 * binary-safe pipes, a timeout, signals and an exit report. Two places
 * implement it — the qemu VM's agent (agent-client.ts) and this machine
 * (LocalSpawner, for the native backend) — so the Hosts on top
 * (exec-host.ts) and the node mechanics (nodes.ts) are the same code for both.
 */
import { spawn as spawnChild } from 'node:child_process';
import { constants } from 'node:os';
import type { ExitReport } from './protocol.js';

export interface SpawnOptions {
  /** True: the caller will write() and end() stdin; false: /dev/null. */
  stdin?: boolean;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

export interface ProcessHandle {
  stdout: AsyncIterable<Buffer>;
  stderr: AsyncIterable<Buffer>;
  write(data: Uint8Array): void;
  end(): void;
  /** Signals the command's whole process group (it runs in its own session). */
  kill(signal?: NodeJS.Signals): void;
  /** Never rejects for a failing command; rejects only when the transport dies. */
  exit: Promise<ExitReport>;
}

export interface Spawner {
  spawn(argv: readonly string[], opts?: SpawnOptions): ProcessHandle;
  describe(): string;
}

/**
 * A one-consumer byte queue exposed as an async iterable: the producer pushes
 * as data arrives, the consumer iterates at its own pace. Unconsumed data is
 * kept (run() reads everything; a stream's owner reads as it goes).
 */
export class ChunkQueue implements AsyncIterable<Buffer> {
  private items: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    if (this.ended) return;
    this.items.push(chunk);
    this.notify();
  }

  end(failure?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

/** Read a whole iterable of chunks into one Buffer. */
export async function drain(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

/** How long a finished command's pipes are still read when a daemon it forked keeps them open. */
const PIPE_GRACE_MS = 200;

/**
 * Runs commands on this machine, for the native backend. Each command gets
 * its own process group (detached) so kill() and the timeout reach what it
 * forked, like the agent does in the VM.
 */
export class LocalSpawner implements Spawner {
  describe(): string {
    return 'local';
  }

  spawn(argv: readonly string[], opts: SpawnOptions = {}): ProcessHandle {
    const stdout = new ChunkQueue();
    const stderr = new ChunkQueue();
    const child = spawnChild(argv[0]!, argv.slice(1), {
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(opts.env ?? {}) },
      cwd: opts.cwd ?? '/',
      detached: true,
    });
    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.stdin?.on('error', () => undefined);
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    const exit = new Promise<ExitReport>((resolve) => {
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        stderr.push(Buffer.from(`${argv[0]}: ${err.message}\n`));
        stdout.end();
        stderr.end();
        resolve({ exitCode: err.code === 'ENOENT' ? 127 : 126 });
      });
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        const report: ExitReport = timedOut
          ? { exitCode: 124, timedOut: true }
          : signal
            ? { exitCode: 128 + signalNumber(signal), signal }
            : { exitCode: code ?? 255 };
        let pending = 2;
        const finish = (): void => {
          if (--pending === 0) {
            clearTimeout(grace);
            stdout.end();
            stderr.end();
            resolve(report);
          }
        };
        const grace = setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
          pending = 1;
          finish();
        }, PIPE_GRACE_MS);
        const closed = (s: NodeJS.ReadableStream): void => {
          if ((s as unknown as { readableEnded: boolean }).readableEnded) finish();
          else s.once('end', finish);
        };
        closed(child.stdout!);
        closed(child.stderr!);
      });
    });
    return {
      stdout,
      stderr,
      write: (data) => {
        child.stdin?.write(data);
      },
      end: () => {
        child.stdin?.end();
      },
      kill: (signal = 'SIGTERM') => killGroup(signal),
      exit,
    };
  }
}

function signalNumber(name: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}
