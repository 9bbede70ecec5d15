import { describe, expect, it } from 'vitest';
import { escapeLvsCf, lvsCfProblems, renderLvsCf } from '../../../src/core/render/lvs-cf.js';
import { L4_SEEDS, configText, loadAnswers } from '../../helpers/fixtures.js';
import { expectGolden } from '../../helpers/golden.js';

describe('renderLvsCf', () => {
  for (const name of L4_SEEDS) {
    it(`${name}: matches fixtures/golden/lvs-cf/${name}.lvs.cf`, () => {
      expectGolden(`lvs-cf/${name}.lvs.cf`, renderLvsCf(loadAnswers(name)));
    });
  }

  it('seed 004: writes back the very lvs.cf the user posted, byte for byte', () => {
    const posted = configText('seeds/seed-004-lvs.cf');
    expect(renderLvsCf(loadAnswers('seed-004-nat-fwmark'))).toBe(posted);
  });

  it('seed 002: one director, tunnel network, the nanny send string escaped as Piranha writes it', () => {
    const out = renderLvsCf(loadAnswers('seed-002-tun-openvz'));
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
    expect(lvsCfProblems(loadAnswers('seed-004-nat-fwmark'))).toEqual([]);
    expect(lvsCfProblems(loadAnswers('seed-002-tun-openvz'))).toEqual([]);
  });

  it('refuses services in different modes: lvs.cf has one "network"', () => {
    const m = loadAnswers('seed-004-nat-fwmark');
    const dr = { ...m.services[0]!, name: 'dr-one', mode: 'dr' as const };
    const problems = lvsCfProblems({ ...m, services: [...m.services, dr] });
    expect(problems).toContainEqual(expect.objectContaining({ severity: 'error', path: 'services', message: expect.stringContaining('one "network"') }));
  });

  it('refuses a layer-7 service and a backup director without an address', () => {
    const m = loadAnswers('seed-000-dr-pair');
    const l7 = { ...m.services[0]!, mode: 'nginx' as const };
    const noAddr = { ...m.directors[1]!, interfaces: [{ name: 'eth0' }] };
    const problems = lvsCfProblems({ ...m, services: [l7], directors: [m.directors[0]!, noAddr] });
    expect(problems.filter((p) => p.severity === 'error').map((p) => p.path)).toEqual(['services[0].mode', 'directors[1].interfaces']);
  });

  it('warns what the keepalived seed loses in lvs.cf: delay_loop 6, retry 1, VRRP', () => {
    const problems = lvsCfProblems(loadAnswers('seed-000-dr-pair'));
    expect(problems.map((p) => `${p.severity} ${p.path}`)).toEqual([
      'warning services[0].checkTimers.delayLoop',
      'warning services[0].checkTimers.retry',
      'warning vrrp',
    ]);
  });
});
