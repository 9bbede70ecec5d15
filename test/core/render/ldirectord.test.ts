import { describe, expect, it } from 'vitest';
import { ldirectordProblems, renderLdirectord } from '../../../src/core/render/ldirectord.js';
import { L4_SEEDS, loadAnswers } from '../../helpers/fixtures.js';
import { expectGolden } from '../../helpers/golden.js';
import { run } from '../../helpers/netns.js';
import { withTempFile } from '../../helpers/validators.js';

/**
 * The real ldirectord (Debian package `ldirectord`) reads the whole file and
 * exits 2 on a configuration error when asked to `stop` an instance that is
 * not running; with -d it logs to stderr instead of /var/log. It prints
 * "Warning ..." for what it accepts but dislikes.
 */
function ldirectordCheck(content: string): { exitCode: number; stderr: string } {
  const r = withTempFile('ldirectord.cf', content, (file) => run(['ldirectord', '-d', file, 'stop']));
  return { exitCode: r.exitCode, stderr: r.stderr };
}

describe('renderLdirectord', () => {
  for (const name of L4_SEEDS) {
    it(`${name}: matches fixtures/golden/ldirectord/${name}.cf and the real ldirectord accepts it without a warning`, () => {
      const out = renderLdirectord(loadAnswers(name));
      expectGolden(`ldirectord/${name}.cf`, out);
      const r = ldirectordCheck(out);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr, r.stderr).not.toMatch(/^(Error|Warning)/m);
    });
  }

  it('the real ldirectord rejects what the parser also rejects (the check can fail)', () => {
    const r = ldirectordCheck('virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tcolour=blue\n');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Unknown command');
  });

  it('services with different timers: per-virtual overrides and fork = yes, still accepted by ldirectord', () => {
    const m = loadAnswers('seed-000-dr-pair');
    const s = m.services[0]!;
    const other = { ...s, name: 'api', ports: [8080], checkTimers: { delayLoop: 20, connectTimeout: 2.5, retry: 2, delayBeforeRetry: 20 }, healthCheck: { type: 'http' as const, path: '/health', virtualhost: 'api.example.com' }, sorryServer: { address: '10.0.3.99', port: 8080 } };
    const script = { ...s, name: 'ext', ports: [9000], healthCheck: { type: 'script' as const, command: '/usr/local/bin/check' }, quiescent: true };
    const out = renderLdirectord({ ...m, services: [s, other, script] });
    expect(out).toContain('fork = yes\n');
    expect(out).toContain('\tcheckinterval = 20\n\tfailurecount = 3\n\tquiescent = no\n');
    expect(out).toContain('\tfallback = 10.0.3.99:8080 gate\n');
    const r = ldirectordCheck(out);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr, r.stderr).not.toMatch(/^(Error|Warning)/m);
  });

  it('send/expect becomes simpletcp with \\n escapes and a quoted regex', () => {
    const out = renderLdirectord(loadAnswers('seed-004-nat-fwmark'));
    expect(out).toContain('virtual = 80\n\tservicename = http_server\n\treal = 10.8.8.33:80 masq 1\n');
    expect(out).toContain('\tservice = simpletcp\n\trequest = "GET / HTTP/1.0\\n\\n"\n\treceive = "HTTP"\n');
    expect(out).toContain('\tprotocol = fwm\n');
  });
});

describe('ldirectordProblems', () => {
  it('says that seed 004 loses CR in its request and the retry delay', () => {
    expect(ldirectordProblems(loadAnswers('seed-004-nat-fwmark')).map((p) => `${p.severity} ${p.path}`)).toEqual([
      'warning services[0].checkTimers.delayBeforeRetry',
      'warning services[0].healthCheck',
      'warning services[0].healthCheck.expect',
    ]);
  });

  it('refuses a "#" in a request: ldirectord cuts the line there', () => {
    const m = loadAnswers('seed-004-nat-fwmark');
    const s = { ...m.services[0]!, healthCheck: { type: 'send-expect' as const, send: 'GET /#x', expect: 'OK', regex: true } };
    expect(ldirectordProblems({ ...m, services: [s] })).toContainEqual(expect.objectContaining({ severity: 'error', path: 'services[0].healthCheck.send' }));
  });
});
