import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { parseLdirectord, projectLdirectord } from '../../../src/core/parse/ldirectord.js';
import { renderLdirectord } from '../../../src/core/render/ldirectord.js';
import { L4_SEEDS, configText, loadAnswers } from '../../helpers/fixtures.js';
import { parsedModel, problemTexts } from '../../helpers/parse-result.js';

describe('round trip: parseLdirectord(renderLdirectord(m)) = projectLdirectord(m)', () => {
  for (const name of L4_SEEDS) {
    it(name, () => {
      const m = loadAnswers(name);
      expect(parsedModel(parseLdirectord(renderLdirectord(m), { file: 'ldirectord.cf' }))).toEqual(projectLdirectord(m));
    });
  }

  it('different timers, http with virtualhost, script, sorry server, multi-port, a request starting with "/"', () => {
    const m = loadAnswers('seed-000-dr-pair');
    const s = m.services[0]!;
    const changed: Installation = {
      ...m,
      services: [
        { ...s, ports: [80, 81] },
        { ...s, name: 'api', ports: [8080], mode: 'nat', realServers: s.realServers.map((r) => ({ ...r, port: 9080 })), checkTimers: { delayLoop: 20, connectTimeout: 2.5, retry: 2, delayBeforeRetry: 20 }, healthCheck: { type: 'http', path: '/health', virtualhost: 'api.example.com', port: 9080 }, sorryServer: { address: '10.0.3.99', port: 8080 } },
        { ...s, name: 'ext', ports: [9000], healthCheck: { type: 'script', command: '/usr/local/bin/check' }, quiescent: true },
        { ...s, name: 'raw', ports: [7000], healthCheck: { type: 'send-expect', send: '/status\n', expect: 'a.b (ok)', regex: false } },
      ],
    };
    const parsed = parsedModel(parseLdirectord(renderLdirectord(changed), { file: 'ldirectord.cf' }));
    expect(parsed).toEqual(projectLdirectord(changed));
    expect(parsed.services.map((x) => x.name)).toEqual(['web-80', 'web-81', 'api', 'ext', 'raw']);
    expect(parsed.services[4]!.healthCheck).toEqual({ type: 'send-expect', send: '/status\n', expect: 'a\\.b \\(ok\\)', regex: true });
  });
});

describe('parseLdirectord on a hand-written file', () => {
  it('reads ldirectord\'s defaults, ranges, fallback and http checks; reports what it does not keep', () => {
    const r = parseLdirectord(configText('ldirectord/sample.cf'), { file: 'sample.cf' });
    const m = parsedModel(r);
    const [web, dns] = m.services;
    expect(web).toMatchObject({
      name: 'web', vip: '192.168.6.240', ports: [80], scheduler: 'rr', mode: 'dr', quiescent: true,
      persistence: { timeout: 600, netmask: '255.255.255.0' },
      healthCheck: { type: 'http', path: '/index.html', virtualhost: 'www.example.com' },
      checkTimers: { delayLoop: 5, connectTimeout: 3, retry: 0, delayBeforeRetry: 5 },
      sorryServer: { address: '127.0.0.1', port: 80 },
    });
    expect(web!.realServers.map((x) => `${x.address} ${x.weight}`)).toEqual(['192.168.6.2 1', '192.168.6.3 2']);
    expect(dns).toMatchObject({ name: 'udp-192.168.6.240-53', protocol: 'udp', scheduler: 'wlc', mode: 'nat', healthCheck: { type: 'tcp' } });
    expect(dns!.realServers.map((x) => x.address)).toEqual(['192.168.6.4', '192.168.6.5', '192.168.6.6']);
    expect(problemTexts(r)).toEqual([
      'warning: sample.cf:4:1: "autoreload" is not kept: the model has no place for it',
      'warning: sample.cf:5:1: "logfile" is not kept: the model has no place for it',
      'warning: sample.cf:15:2: receive on an http check is not kept: the model checks the status, not the body',
    ]);
  });

  it('the user-visible default when the file says nothing: quiescent no (ldirectord 4.12 code), wrr, negotiate timeout 30', () => {
    const m = parsedModel(parseLdirectord('virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n', { file: 'f' }));
    expect(m.services[0]).toMatchObject({ quiescent: false, scheduler: 'wrr', healthCheck: { type: 'http', path: '/' }, checkTimers: { delayLoop: 10, connectTimeout: 30, retry: 0 } });
  });
});

describe('malformed ldirectord.cf: positioned problems, never a throw', () => {
  it('truncated in the middle of an option', () => {
    expect(problemTexts(parseLdirectord(configText('ldirectord/truncated.cf'), { file: 't.cf' }))).toEqual(['error: t.cf:5:2: expected "option = value"']);
  });

  it('a bad IP is an error at the real line\'s value', () => {
    expect(problemTexts(parseLdirectord(configText('ldirectord/bad-ip.cf'), { file: 'b.cf' }))).toEqual(['error: b.cf:3:7: real: "10.0.0.311" is not an IPv4 address']);
  });

  it('an unknown keyword is a positioned warning; the rest is imported', () => {
    const r = parseLdirectord(configText('ldirectord/unknown-keyword.cf'), { file: 'u.cf' });
    expect(parsedModel(r).services[0]!.healthCheck).toEqual({ type: 'tcp' });
    expect(problemTexts(r)).toEqual(['warning: u.cf:4:2: unknown keyword "colour" in a virtual section; ignored\n    fix: ldirectord itself refuses unknown commands: fix the file before using it']);
  });

  it('different forward methods in one virtual are an error at the odd real', () => {
    const r = parseLdirectord('virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\treal=10.0.0.3:80 masq\n', { file: 'm' });
    expect(r.ok ? [] : r.problems.map((p) => p.source)).toEqual([{ file: 'm', line: 3, column: 2 }]);
  });

  it('an option after a blank line is outside the virtual, as for ldirectord', () => {
    expect(problemTexts(parseLdirectord('virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\n\tscheduler=rr\n', { file: 'g' }))[0]).toMatch(/^error: g:4:1: an indented option outside a virtual section/);
  });

  it('binary junk is one error at the first binary byte', () => {
    expect(problemTexts(parseLdirectord('checktimeout=3\n\u0000\u0001', { file: 'j' }))).toEqual(['error: j:2:1: binary data: this is not an ldirectord.cf text file']);
  });

  it('10 MB: a big valid file parses, a big junk file stops after a bounded number of problems', () => {
    const reals = Array.from({ length: 400000 }, (_, i) => `\treal=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80 masq 1\n`).join('');
    const big = `virtual=10.0.0.1:80\n${reals}\tchecktype=connect\n`;
    expect(big.length).toBeGreaterThan(10 * 1000 * 1000);
    expect(parsedModel(parseLdirectord(big, { file: 'big' })).services[0]!.realServers).toHaveLength(400000);
    const junk = parseLdirectord('%%%\n'.repeat(2600000), { file: 'junk' });
    expect(junk.ok ? [] : junk.problems).toHaveLength(101);
  });
});
