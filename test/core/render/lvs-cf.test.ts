import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Installation } from '../../../src/core/model.js';
import { normalize } from '../../../src/core/normalize.js';
import { escapeLvsCf, lvsCfProblems, renderLvsCf } from '../../../src/core/render/lvs-cf.js';

const ROOT = join(import.meta.dirname, '../../..');
/** The seeds lvs.cf can express (layer-4 ones). */
const SEEDS = ['seed-000-dr-pair', 'seed-002-tun-openvz', 'seed-004-nat-fwmark'] as const;

function seed(name: string): Installation {
  const n = normalize(parseYaml(readFileSync(join(ROOT, 'fixtures/answers', `${name}.yaml`), 'utf8')));
  if (!n.ok) throw new Error(`${name}: ${JSON.stringify(n.problems)}`);
  return n.model;
}

/** Compare with fixtures/golden/<rel>; UPDATE_GOLDEN=1 rewrites it instead. */
function golden(rel: string, actual: string): void {
  const path = join(ROOT, 'fixtures/golden', rel);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(actual, `golden ${rel} (refresh with UPDATE_GOLDEN=1)`).toBe(readFileSync(path, 'utf8'));
}

describe('renderLvsCf', () => {
  for (const name of SEEDS) {
    it(`${name}: matches fixtures/golden/lvs-cf/${name}.lvs.cf`, () => {
      golden(`lvs-cf/${name}.lvs.cf`, renderLvsCf(seed(name)));
    });
  }

  it('seed 004: writes back the very lvs.cf the user posted, byte for byte', () => {
    const posted = readFileSync(join(ROOT, 'fixtures/configs/seeds/seed-004-lvs.cf'), 'utf8');
    expect(renderLvsCf(seed('seed-004-nat-fwmark'))).toBe(posted);
  });

  it('seed 002: one director, tunnel network, the nanny send string escaped as Piranha writes it', () => {
    const out = renderLvsCf(seed('seed-002-tun-openvz'));
    expect(out).toContain('primary = 192.168.10.5\n');
    expect(out).not.toContain('backup');
    expect(out).toContain('network = tunnel\n');
    expect(out).toContain('send = "GET / HTTP/1.0\\r\\n\\r\\n"');
  });

  it('escapes quotes, backslashes, CR, LF and TAB in quoted values', () => {
    expect(escapeLvsCf('a"b\\c\r\n\t')).toBe('a\\"b\\\\c\\r\\n\\t');
  });
});

describe('lvsCfProblems', () => {
  it('has nothing to say about the Piranha seeds', () => {
    expect(lvsCfProblems(seed('seed-004-nat-fwmark'))).toEqual([]);
    expect(lvsCfProblems(seed('seed-002-tun-openvz'))).toEqual([]);
  });

  it('refuses services in different modes: lvs.cf has one "network"', () => {
    const m = seed('seed-004-nat-fwmark');
    const dr = { ...m.services[0]!, name: 'dr-one', mode: 'dr' as const };
    const problems = lvsCfProblems({ ...m, services: [...m.services, dr] });
    expect(problems).toContainEqual(expect.objectContaining({ severity: 'error', path: 'services', message: expect.stringContaining('one "network"') }));
  });

  it('refuses a layer-7 service and a backup director without an address', () => {
    const m = seed('seed-000-dr-pair');
    const l7 = { ...m.services[0]!, mode: 'nginx' as const };
    const noAddr = { ...m.directors[1]!, interfaces: [{ name: 'eth0' }] };
    const problems = lvsCfProblems({ ...m, services: [l7], directors: [m.directors[0]!, noAddr] });
    expect(problems.filter((p) => p.severity === 'error').map((p) => p.path)).toEqual(['services[0].mode', 'directors[1].interfaces']);
  });

  it('warns what the keepalived seed loses in lvs.cf: delay_loop 6, retry 1, VRRP', () => {
    const problems = lvsCfProblems(seed('seed-000-dr-pair'));
    expect(problems.map((p) => `${p.severity} ${p.path}`)).toEqual([
      'warning services[0].checkTimers.delayLoop',
      'warning services[0].checkTimers.retry',
      'warning vrrp',
    ]);
  });
});
