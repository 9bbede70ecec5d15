/** Load the seeds' answers files as normalized models. */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Installation } from '../../src/core/model.js';
import { normalize } from '../../src/core/normalize.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ANSWERS_DIR = join(ROOT, 'fixtures', 'answers');
export const CONFIGS_DIR = join(ROOT, 'fixtures', 'configs');

/** Every seed's answers file, for renderers that serve every kind of installation. */
export const ALL_SEEDS = ['seed-000-dr-pair', 'seed-000-nginx-pair', 'seed-002-tun-openvz', 'seed-003-nginx-lxd', 'seed-004-nat-fwmark'] as const;
/** The layer-4 (IPVS) seeds: the ones lvs.cf, ldirectord.cf and the ipvsadm table can express. */
export const L4_SEEDS = ['seed-000-dr-pair', 'seed-002-tun-openvz', 'seed-004-nat-fwmark'] as const;

/** A file of the repository as text, by its path from the repository root. */
export function readFixture(relativePath: string): string {
  return readFileSync(join(ROOT, relativePath), 'utf8');
}

/** A raw config under fixtures/configs (a user's file, a hand-written sample, a malformed case). */
export function configText(relativePath: string): string {
  return readFileSync(join(CONFIGS_DIR, relativePath), 'utf8');
}

/** Normalize answers input that a test expects to be valid; throws with the problems otherwise. */
export function toModel(input: unknown, what = 'answers'): Installation {
  const n = normalize(input);
  if (!n.ok) throw new Error(`${what} does not normalize: ${JSON.stringify(n.problems, null, 2)}`);
  return n.model;
}

/**
 * A YAML answers file (path from the repository root) as a model; with
 * `serviceMode`, every service is switched to it first (seed 000's nginx pair
 * rendered as HAProxy, say).
 */
export function loadYamlModel(relativePath: string, serviceMode?: string): Installation {
  const input = parseYaml(readFixture(relativePath)) as { services?: { mode: string }[] };
  if (serviceMode) for (const s of input.services ?? []) s.mode = serviceMode;
  return toModel(input, relativePath);
}

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
  return toModel(loadAnswersRaw(name), `fixture ${name}`);
}
