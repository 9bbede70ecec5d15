/**
 * HAProxy importer: round trips of everything we write, a hand-written
 * haproxy.cfg (listen section, inherited defaults, unmodelled keywords), and
 * a malformed corpus that the real `haproxy -c` rejects too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { parseHaproxy, parseHaproxyTime } from '../../../src/core/parse/haproxy.js';
import { MAX_LISTED_WARNINGS } from '../../../src/core/parse/nginx.js';
import { projectHaproxy, renderHaproxy } from '../../../src/core/render/haproxy.js';
import { CONFIGS_DIR, loadYamlModel, readFixture } from '../../helpers/fixtures.js';
import { run } from '../../helpers/netns.js';
import { expectPositionedError, parsedOk } from '../../helpers/parse-result.js';

describe('round trip: parse(render(m)) equals projectHaproxy(m)', () => {
  const cases: [string, Installation][] = [
    ['seed-000-nginx-pair as HAProxy', loadYamlModel('fixtures/answers/seed-000-nginx-pair.yaml', 'haproxy')],
    ['seed-003-nginx-lxd as HAProxy', loadYamlModel('fixtures/answers/seed-003-nginx-lxd.yaml', 'haproxy')],
    ['features (every check kind, weights over 256, backup, UDP left out)', loadYamlModel('fixtures/configs/haproxy/features.yaml')],
  ];
  for (const [name, m] of cases) {
    it(name, () => {
      const r = parsedOk(parseHaproxy(renderHaproxy(m, 'lb1'), { file: 'haproxy.cfg' }));
      expect(r.model).toEqual(projectHaproxy(m, 'lb1'));
      expect(r.warnings, 'our own file needs no warning').toEqual([]);
    });
  }

  it('the projection keeps names, checks and timers, and drops what HAProxy cannot say', () => {
    const p = projectHaproxy(loadYamlModel('fixtures/configs/haproxy/features.yaml'), 'lb1');
    expect(p.services.map((s) => s.name)).toEqual(['web', 'api', 'legacy', 'rex', 'plain', 'quiet']);
    const web = p.services[0]!;
    expect(web.healthCheck).toEqual({ type: 'http', path: '/health', status: 200, virtualhost: 'www.example.com', port: 8081 });
    expect(web.realServers.map((r) => [r.name, r.weight])).toEqual([['a', 256], ['b', 1], ['sorry', 0]]);
    expect(p.services[2]!.checkTimers).toEqual({ delayLoop: 2, connectTimeout: 6, retry: 0, delayBeforeRetry: 2 });
    expect(p.services[3]!.healthCheck).toEqual({ type: 'send-expect', send: 'PING\n', expect: '^\\+PONG "$ok"', regex: true, port: 6379 });
  });
});

describe('a hand-written haproxy.cfg', () => {
  const r = parsedOk(parseHaproxy(readFixture('fixtures/configs/haproxy/sample.cfg'), { file: 'sample.cfg' }));

  it('reads the listen section with inherited defaults', () => {
    expect(r.model.services).toHaveLength(1);
    const s = r.model.services[0]!;
    expect(s).toMatchObject({
      name: 'shop', vip: '192.168.1.10', ports: [80, 8080], scheduler: 'wlc', mode: 'haproxy',
      healthCheck: { type: 'http', path: '/alive', status: 204 },
      checkTimers: { delayLoop: 5, connectTimeout: 4, retry: 1, delayBeforeRetry: 5 },
      sorryServer: { address: '192.168.1.29', port: 8080 },
    });
    expect(s.realServers.map((x) => [x.name, x.address, x.port, x.weight])).toEqual([
      ['web1', '192.168.1.21', 8080, 10],
      ['web2', '192.168.1.22', 8080, 20],
    ]);
  });

  it('warns, positioned, about everything it does not carry', () => {
    expect(r.warnings.map((w) => `${w.source!.line}:${w.source!.column} ${w.message}`)).toEqual([
      '3:5 "maxconn" in global is not modelled and is not imported',
      '9:5 "timeout" in defaults is not modelled and is not imported',
      '10:5 "timeout" in defaults is not modelled and is not imported',
      '15:10 bind [::]:80 is not an IPv4 address and port (IPv6, sockets and names are not modelled); not imported',
      '19:5 "cookie" in listen shop is not modelled and is not imported',
      '20:51 server parameter "cookie a" is not modelled and is not imported',
      '21:51 server parameter "cookie b" is not modelled and is not imported',
      '26:5 "use_backend" in frontend stats is not modelled and is not imported',
      '24:1 frontend stats has no default_backend; not imported',
      '28:1 backend orphan is not the default_backend of any frontend; not imported',
    ]);
  });

  it('haproxy -c accepts the sample, so the import reads a real configuration', () => {
    const v = run(['haproxy', '-c', '-f', join(CONFIGS_DIR, 'haproxy/sample.cfg')]);
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('reads HAProxy times with milliseconds as the default unit', () => {
    expect([parseHaproxyTime('3000'), parseHaproxyTime('3s'), parseHaproxyTime('250ms'), parseHaproxyTime('1m'), parseHaproxyTime('fast')]).toEqual([3, 3, 0.25, 60, undefined]);
  });
});

describe('malformed corpus', () => {
  const corpus: [string, number, number, RegExp][] = [
    ['unterminated-quote.cfg', 9, 24, /unterminated double quote/],
    ['outside-section.cfg', 1, 1, /"bind" outside of any section/],
    ['missing-backend.cfg', 3, 21, /no backend named api/],
    ['bad-time.cfg', 6, 38, /inter needs a time/],
  ];
  for (const [name, line, column, message] of corpus) {
    it(`${name}: a positioned error, and haproxy -c rejects it too`, () => {
      const path = join(CONFIGS_DIR, 'haproxy/malformed', name);
      const r = parseHaproxy(readFileSync(path, 'utf8'), { file: name });
      expectPositionedError(r, { file: name, line, column }, message);
      const v = run(['haproxy', '-c', '-f', path]);
      expect(v.exitCode).not.toBe(0);
      expect(v.stdout + v.stderr).toMatch(/\[ALERT\]/);
    });
  }

  it('haproxy -c places the unmatched quote where we do (line 9, position 24)', () => {
    const v = run(['haproxy', '-c', '-f', join(CONFIGS_DIR, 'haproxy/malformed/unterminated-quote.cfg')]);
    expect(v.stdout + v.stderr).toMatch(/unterminated-quote\.cfg:9\]: unmatched quote at position 24/);
  });

  it('binary junk: an error at the first NUL byte, no throw', () => {
    const text = `frontend web\n    bind :80\n\u0000\u0001\u00ff garbage`;
    const r = parseHaproxy(text, { file: 'junk.bin' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([expect.objectContaining({ severity: 'error', source: { file: 'junk.bin', line: 3, column: 1 } })]);
  });

  it('10 MB of unknown keywords: no throw, warnings capped with their count stated', () => {
    const text = `frontend web\n    bind :80\n    default_backend web\nbackend web\n    server a 10.0.0.1:80\n${'    frobnicate yes\n'.repeat(560_000)}`;
    expect(text.length).toBeGreaterThan(10_000_000);
    const r = parsedOk(parseHaproxy(text, { file: 'big.cfg' }));
    expect(r.model.services).toHaveLength(1);
    expect(r.warnings).toHaveLength(MAX_LISTED_WARNINGS + 1);
    expect(r.warnings[0]!.source).toEqual({ file: 'big.cfg', line: 6, column: 5 });
    expect(r.warnings.at(-1)!.message).toBe(`${560_000 - MAX_LISTED_WARNINGS} more warnings not listed (the first is here)`);
  });
});
