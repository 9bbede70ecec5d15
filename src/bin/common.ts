/**
 * What every command shares: version, error kinds and their exit codes.
 * Kept free of ink/react so `--help` and `--version` start fast (DESIGN rule 8).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The user's mistake: a message and a hint, no stack. Exit 2 unless told otherwise. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** An external command failed: which one, where, and what it said. */
export class ExternalError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly host: string,
    readonly stderr: string,
    readonly exitCode = 2,
  ) {
    super(`${argv.join(' ')} failed on ${host}`);
  }
}

export function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(join(here, rel), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lvs-toolkit' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

/** Run a command's main; turn errors into messages and exit codes. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UserError) {
        process.stderr.write(`${name}: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
        process.exitCode = e.exitCode;
      } else if (e instanceof ExternalError) {
        process.stderr.write(`${name}: ${e.message}\n${e.stderr.trim() ? `${indent(e.stderr.trim())}\n` : ''}`);
        process.exitCode = e.exitCode;
      } else {
        const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
        process.stderr.write(`${name}: internal error (a bug; please report it with this text):\n${stack}\n`);
        process.exitCode = 70;
      }
    },
  );
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  | ${l}`)
    .join('\n');
}

/** Parse argv with node:util parseArgs, turning its errors into UserErrors. */
export async function parseArgv<T>(fn: () => T, usageHint: string): Promise<T> {
  try {
    return fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new UserError(msg.replace(/^TypeError \[[A-Z_]+\]: /, ''), usageHint);
  }
}
