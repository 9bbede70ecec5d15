/**
 * The machine we run on. Also the base of the adapters that wrap a command
 * prefix around argv (`ip netns exec NAME`, `lxc exec NAME --`, ssh …).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, chmod, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { execa } from 'execa';
import type { Host, RunOptions, RunResult, StreamHandle } from './types.js';

/** Run argv locally; a missing program is exit 127, a timeout 124, never a throw. */
export async function runLocal(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) return { stdout: '', stderr: 'empty command', exitCode: 127 };
  const r = await execa(argv[0]!, argv.slice(1), {
    reject: false,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    maxBuffer: 256 * 1024 * 1024,
  });
  const timedOut = Boolean(r.timedOut);
  const missing = (r as { code?: string }).code === 'ENOENT';
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  return {
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: missing && !stderr ? `${argv[0]}: command not found` : stderr,
    exitCode: timedOut ? 124 : missing ? 127 : (r.exitCode ?? 128),
    ...(timedOut ? { timedOut } : {}),
  };
}

export function streamLocal(argv: readonly string[]): StreamHandle {
  const child = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', buffer: { stdout: false, stderr: true }, encoding: 'buffer' });
  const stdout = child.stdout!;
  return {
    stdout: (async function* () {
      for await (const chunk of stdout) yield chunk as Uint8Array;
    })(),
    done: child.then((r) => ({ stderr: Buffer.from((r.stderr as Uint8Array | undefined) ?? new Uint8Array()).toString('utf8'), exitCode: r.exitCode ?? 128 })),
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

export class LocalHost implements Host {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return runLocal(argv, opts);
  }

  async readFile(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, text, { mode });
      await chmod(tmp, mode);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  stream(argv: readonly string[]): StreamHandle {
    return streamLocal(argv);
  }

  describe(): string {
    return 'local';
  }
}
