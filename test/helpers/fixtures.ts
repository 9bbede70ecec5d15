/** Load the seeds' answers files as normalized models. */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Installation } from '../../src/core/model.js';
import { normalize } from '../../src/core/normalize.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ANSWERS_DIR = join(ROOT, 'fixtures', 'answers');

export function answersNames(): string[] {
  return readdirSync(ANSWERS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}

export function loadAnswersRaw(name: string): unknown {
  return parseYaml(readFileSync(join(ANSWERS_DIR, `${name}.yaml`), 'utf8'));
}

export function loadAnswers(name: string): Installation {
  const n = normalize(loadAnswersRaw(name));
  if (!n.ok) throw new Error(`fixture ${name} does not normalize: ${JSON.stringify(n.problems, null, 2)}`);
  return n.model;
}
