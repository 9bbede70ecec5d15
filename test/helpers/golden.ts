/**
 * Golden files under fixtures/golden: a test compares what a renderer wrote
 * with the stored copy; with UPDATE_GOLDEN=1 it rewrites the copy instead, so
 * an intended change of output is one command and a reviewed diff.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import type { GeneratedFile } from '../../src/core/render/types.js';
import { ROOT } from './fixtures.js';

export const GOLDEN_DIR = join(ROOT, 'fixtures', 'golden');

const updating = (): boolean => process.env.UPDATE_GOLDEN === '1';

/**
 * Compare `content` with fixtures/golden/<relativePath> (an absolute path
 * inside it, like /etc/keepalived/keepalived.conf, is kept as sub-folders).
 * Fails when the golden file is missing, naming the command that writes it.
 */
export function expectGolden(relativePath: string, content: string): void {
  const path = join(GOLDEN_DIR, relativePath);
  if (updating()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return;
  }
  expect(existsSync(path), `missing ${path}: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(content, `golden ${relativePath} (refresh with UPDATE_GOLDEN=1)`).toBe(readFileSync(path, 'utf8'));
}

/** Every file below `dir`, as absolute paths relative to it (/etc/a.conf). */
function listFiles(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    out = statSync(p).isDirectory() ? [...out, ...listFiles(p).map((x) => `/${e}${x}`)] : [...out, `/${e}`];
  }
  return out;
}

/**
 * A whole node's files as a tree under fixtures/golden/<relativeDir>/<abs
 * path>: the same set of files (a file the renderer stopped writing fails
 * too) and each one byte for byte. UPDATE_GOLDEN=1 replaces the tree.
 */
export function expectGoldenTree(relativeDir: string, files: readonly GeneratedFile[]): void {
  const dir = join(GOLDEN_DIR, relativeDir);
  if (updating()) {
    rmSync(dir, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    return;
  }
  expect(listFiles(dir).sort(), `golden file list of ${relativeDir}`).toEqual(files.map((f) => f.path).sort());
  for (const f of files) expect(f.content, `${relativeDir}${f.path}`).toBe(readFileSync(join(dir, f.path), 'utf8'));
}
