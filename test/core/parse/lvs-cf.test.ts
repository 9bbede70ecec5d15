import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { MAX_PROBLEMS } from '../../../src/core/parse/line-scanner.js';
import { parseLvsCf, projectLvsCf } from '../../../src/core/parse/lvs-cf.js';
import { renderLvsCf } from '../../../src/core/render/lvs-cf.js';
import { L4_SEEDS, configText, loadAnswers } from '../../helpers/fixtures.js';
import { parsedModel, problemTexts } from '../../helpers/parse-result.js';

describe('parseLvsCf on the users\' files', () => {
  it('seed 004: the posted lvs.cf is the seed-004 installation as lvs.cf can say it', () => {
    const r = parseLvsCf(configText('seeds/seed-004-lvs.cf'), { file: 'seed-004-lvs.cf' });
    const m = parsedModel(r);
    expect(m).toEqual(projectLvsCf(loadAnswers('seed-004-nat-fwmark')));
    expect(m.directors.map((d) => d.name)).toEqual(['primary', 'backup']);
    expect(m.directors[0]!.interfaces).toEqual([{ name: 'eth0' }, { name: 'eth1' }]);
    expect(m.natRouter).toEqual({ address: '10.8.8.30/24', interface: 'eth1' });
    expect(m.piranha).toMatchObject({ primary: '10.10.1.31', backup: '10.10.1.32', heartbeatPort: 539 });
    const s = m.services[0]!;
    expect(s.healthCheck).toEqual({ type: 'send-expect', send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP', regex: false });
    expect(s.checkTimers).toEqual({ delayLoop: 2, connectTimeout: 6, retry: 0, delayBeforeRetry: 15 });
    expect(s.realServers.map((rs) => `${rs.name} ${rs.address}:${rs.port} via ${rs.gateway}`)).toEqual([
      'lvs-03 10.8.8.33:80 via 10.8.8.30',
      'lvs-04 10.8.8.34:80 via 10.8.8.30',
    ]);
    expect(problemTexts(r)).toEqual([]);
  });

  it('seed 002: the posted lvs.cf is the seed-002 installation as lvs.cf can say it', () => {
    const m = parsedModel(parseLvsCf(configText('seeds/seed-002-lvs.cf'), { file: 'seed-002-lvs.cf' }));
    expect(m).toEqual(projectLvsCf(loadAnswers('seed-002-tun-openvz')));
    expect(m.services[0]!.mode).toBe('tun');
    expect(m.directors).toHaveLength(1);
  });

  it('reads send_program, quiesce_server, sorry_server and skips inactive blocks with a warning each', () => {
    const r = parseLvsCf(configText('lvs-cf/inactive-and-program.lvs.cf'), { file: 'x.cf' });
    const m = parsedModel(r);
    expect(m.services).toHaveLength(1);
    const s = m.services[0]!;
    expect(s.healthCheck).toEqual({ type: 'script', command: '/usr/local/bin/check-web %h' });
    expect(s.quiescent).toBe(true);
    expect(s.sorryServer).toEqual({ address: '10.0.0.50' });
    expect(s.realServers.map((r2) => r2.name)).toEqual(['web1']);
    expect(problemTexts(r)).toEqual([
      'warning: x.cf:21:6: server web2 is inactive (active = 0): not imported',
      'warning: x.cf:27:1: virtual old is inactive (active = 0): not imported',
    ]);
  });
});

describe('round trip: parseLvsCf(renderLvsCf(m)) = projectLvsCf(m)', () => {
  for (const name of L4_SEEDS) {
    it(name, () => {
      const m = loadAnswers(name);
      const r = parseLvsCf(renderLvsCf(m), { file: 'lvs.cf' });
      expect(parsedModel(r)).toEqual(projectLvsCf(m));
      expect(problemTexts(r)).toEqual([]);
    });
  }

  it('keeps a regex expect, a pmask and quiescence', () => {
    const m = loadAnswers('seed-004-nat-fwmark');
    const s = m.services[0]!;
    const changed: Installation = {
      ...m,
      services: [{ ...s, persistence: { timeout: 60, netmask: '255.255.255.0' }, quiescent: true, healthCheck: { type: 'send-expect', send: 'PING\n', expect: '^\\+PONG"', regex: true } }],
    };
    expect(parsedModel(parseLvsCf(renderLvsCf(changed), { file: 'lvs.cf' }))).toEqual(projectLvsCf(changed));
  });
});

describe('malformed lvs.cf: positioned problems, never a throw', () => {
  it('a truncated block names the block, its line and what was expected', () => {
    const r = parseLvsCf(configText('lvs-cf/truncated.lvs.cf'), { file: 'truncated.lvs.cf' });
    expect(r.ok).toBe(false);
    expect(problemTexts(r)).toEqual([
      'error: truncated.lvs.cf:11:1: virtual web (opened at line 5) is not closed: expected "}" before the end of the file',
      'error: truncated.lvs.cf:11:1: server web1 (opened at line 9) is not closed: expected "}" before the end of the file',
    ]);
  });

  it('a bad IP is an error at the value', () => {
    const r = parseLvsCf(configText('lvs-cf/bad-ip.lvs.cf'), { file: 'bad-ip.lvs.cf' });
    expect(problemTexts(r)).toEqual([
      'error: bad-ip.lvs.cf:8:20: address: expected an IPv4 address like 10.0.0.1, got "10.0.0.311"\n    fix: lvs.cf may name hosts, but an import needs addresses',
    ]);
  });

  it('an unknown keyword is a warning at its position and the rest is imported', () => {
    const r = parseLvsCf(configText('lvs-cf/unknown-keyword.lvs.cf'), { file: 'u.cf' });
    expect(parsedModel(r).services[0]!.realServers).toHaveLength(1);
    const p = r.ok ? r.warnings : [];
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ severity: 'warning', source: { file: 'u.cf', line: 7, column: 6 }, message: expect.stringContaining('unknown keyword "colour"') });
  });

  it('binary junk is one error at the first binary byte', () => {
    const junk = `serial_no = 1\nprim\u0000\u0001\u00ff\u0002ary`;
    expect(problemTexts(parseLvsCf(junk, { file: 'junk' }))).toEqual([
      'error: junk:2:5: binary data: this is not an lvs.cf text file\n    fix: point at /etc/sysconfig/ha/lvs.cf',
    ]);
  });

  it('a 10 MB file of garbage lines stops after a bounded number of problems, quickly', () => {
    const big = 'this is not lvs.cf\n'.repeat(10 * 1024 * 1024 / 19);
    const r = parseLvsCf(big, { file: 'big' });
    expect(r.ok).toBe(false);
    const list = r.ok ? [] : r.problems;
    expect(list).toHaveLength(MAX_PROBLEMS + 1);
    expect(list[0]!.source).toEqual({ file: 'big', line: 1, column: 1 });
    expect(list[MAX_PROBLEMS]!.message).toContain('stopped reading');
  });

  it('a 10 MB valid-looking file (one huge virtual) parses', () => {
    const servers = Array.from({ length: 110000 }, (_, i) => `     server s${i} {\n         address = 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n         active = 1\n         weight = 1\n     }\n`).join('');
    const big = `primary = 10.0.0.2\nservice = lvs\nnetwork = direct\nvirtual v {\n     address = 10.0.0.100 eth0:1\n     port = 80\n${servers}}\n`;
    expect(big.length).toBeGreaterThan(10 * 1000 * 1000);
    const r = parseLvsCf(big, { file: 'big' });
    expect(parsedModel(r).services[0]!.realServers).toHaveLength(110000);
  });

  it('a missing port and a bad network word are positioned errors', () => {
    const r = parseLvsCf('primary = 10.0.0.2\nnetwork = bridge\nvirtual v {\n address = 10.0.0.100 eth0:1\n}\n', { file: 'f' });
    expect(problemTexts(r)).toEqual([
      'error: f:2:11: network: expected nat, direct or tunnel, got "bridge"',
      'error: f:3:1: virtual v: no "port ="',
    ]);
  });
});
