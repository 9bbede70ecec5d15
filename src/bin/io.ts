/** File reading for the commands: clear user errors, include resolution for importers. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { importConfig, type Format } from '../core/import.js';
import type { Installation } from '../core/model.js';
import type { IncludedFile } from '../core/parse/types.js';
import { formatProblem, type Problem } from '../core/problems.js';
import { HostUnreachableError, TargetError } from '../host/errors.js';
import { UserError } from './common.js';

/** Read a text file the user named; a missing or unreadable file is their error (exit 2). */
export function readUserFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`cannot read ${path}: no such file`, 'check the path');
  }
  if (st.isDirectory()) throw new UserError(`${path} is a directory, not a file`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${path}: ${code === 'EACCES' ? 'permission denied' : String(code ?? e)}`, code === 'EACCES' ? 'run as a user who can read it' : undefined);
  }
}

/**
 * keepalived `include` semantics: relative patterns are resolved from the
 * directory of the including file (keepalived.conf(5)); shell globs (* ? [..])
 * in any path component; matches in sorted order.
 */
export function resolveInclude(pattern: string, fromFile: string): IncludedFile[] {
  const full = isAbsolute(pattern) ? pattern : join(dirname(resolve(fromFile)), pattern);
  const paths = expandGlob(full);
  return paths.flatMap((p) => {
    try {
      return [{ path: p, text: readFileSync(p, 'utf8') }];
    } catch {
      return [];
    }
  });
}

function expandGlob(path: string): string[] {
  if (!/[*?[]/.test(path)) return existsSync(path) ? [path] : [];
  const parts = path.split('/');
  let current = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const dir of current) {
      if (!/[*?[]/.test(part)) {
        const p = join(dir, part);
        if (existsSync(p)) next.push(p);
        continue;
      }
      const re = globToRegExp(part);
      let names: string[] = [];
      try {
        names = readdirSync(dir).sort();
      } catch {
        names = [];
      }
      for (const n of names) if (re.test(n) && !(n.startsWith('.') && !part.startsWith('.'))) next.push(join(dir, n));
    }
    current = next;
  }
  return current.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/**
 * Any importable config (answers YAML, keepalived.conf, lvs.cf, …) as a model,
 * for every command that takes a design: `-` reads standard input; parse
 * problems are printed with their file:line:column and end the command with
 * `exitCode`, the message saying what did not happen (`consequence`).
 */
export function loadDesign(
  file: string,
  opts: { from?: Format; consequence: string; exitCode?: number; hint?: string },
): { model: Installation; format: Format; warnings: Problem[]; name: string } {
  const name = file === '-' ? '<stdin>' : file;
  const text = file === '-' ? readFileSync(0, 'utf8') : readUserFile(file);
  const r = importConfig(text, { file: name, resolveInclude, ...(opts.from ? { format: opts.from } : {}) });
  if (!r.ok) {
    for (const p of r.problems) process.stderr.write(`${formatProblem(p)}\n`);
    const n = r.problems.filter((p) => p.severity === 'error').length;
    throw new UserError(`${name}: ${n} problem(s), ${opts.consequence}`, opts.hint, opts.exitCode ?? 1);
  }
  return { model: r.model, format: r.format ?? 'yaml', warnings: r.warnings, name };
}

/** A bad target URI or a machine that cannot be reached is the user's to fix: a message and a hint, no stack. */
export async function targetErrors<T>(fn: () => T | Promise<T>, unreachableExit = 2): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TargetError) throw new UserError(e.message, e.hint);
    if (e instanceof HostUnreachableError) throw new UserError(e.message, 'check the target URI and that you can ssh there as that user (keys, host key)', unreachableExit);
    throw e;
  }
}
