/** File reading for the commands: clear user errors, include resolution for importers. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { IncludedFile } from '../core/parse/types.js';
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
