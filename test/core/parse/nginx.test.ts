/**
 * nginx importer: seed 003's own file, round trips of everything we write,
 * and a malformed corpus whose errors are where the real `nginx -t` puts them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_LISTED_WARNINGS, parseNginx, parseNginxTime } from '../../../src/core/parse/nginx.js';
import { nginxFiles, projectNginx } from '../../../src/core/render/nginx.js';
import { CONFIGS_DIR, loadYamlModel, readFixture } from '../../helpers/fixtures.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { expectPositionedError, parsedOk } from '../../helpers/parse-result.js';

/** `nginx -t` of a file included in http context; its stderr. */
async function nginxVerdict(file: string): Promise<{ exitCode: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lvst-nginx-'));
  try {
    const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
    writeFileSync(join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid;\nevents {}\nhttp { ${temps}\ninclude ${file};\n}\n`);
    const r = await withNetns(['eth0'], (ns) => runIn(ns, ['nginx', '-t', '-q', '-e', `${dir}/error.log`, '-p', `${dir}/`, '-c', `${dir}/nginx.conf`]));
    return { exitCode: r.exitCode, output: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('seed 003: the user\'s nginx file', () => {
  const r = parsedOk(parseNginx(readFixture('fixtures/configs/seeds/seed-003-nginx.conf'), { file: 'seed-003-nginx.conf' }));

  it('imports as the seed-003 service: 3 real servers, least_conn -> lc, port 80, all addresses', () => {
    const s = r.model.services;
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ name: 'cluster', mode: 'nginx', scheduler: 'lc', vip: '0.0.0.0', ports: [80], protocol: 'tcp', healthCheck: { type: 'none' } });
    const expected = loadYamlModel('fixtures/answers/seed-003-nginx-lxd.yaml').services[0]!.realServers.map((x) => ({ address: x.address, port: x.port, weight: x.weight }));
    expect(s[0]!.realServers.map((x) => ({ address: x.address, port: x.port, weight: x.weight }))).toEqual(expected);
    expect(r.model.directors).toEqual([{ name: 'lb1', platform: { type: 'host' }, interfaces: [{ name: 'eth0' }] }]);
  });

  it('warns, with positions, about IPv6, default_server and root', () => {
    expect(r.warnings.map((w) => `${w.source!.line}:${w.source!.column} ${w.message}`)).toEqual([
      '8:11 listen parameter "default_server" is not modelled and is not imported',
      '9:8 listen [::]:80 is IPv6, which the model does not hold; not imported',
      '10:1 "root" in a server block is not modelled and is not imported',
    ]);
    expect(r.warnings.every((w) => w.severity === 'warning' && w.source!.file === 'seed-003-nginx.conf')).toBe(true);
  });
});

describe('round trip: parse(render(m)) equals projectNginx(m)', () => {
  const cases: [string, string, string][] = [
    ['seed-003-nginx-lxd', 'fixtures/answers/seed-003-nginx-lxd.yaml', 'web4'],
    ['seed-000-nginx-pair', 'fixtures/answers/seed-000-nginx-pair.yaml', 'lb1'],
    ['features (UDP stream, weights, down, backup, passive checks, ip_hash)', 'fixtures/configs/nginx/features.yaml', 'lb1'],
  ];
  for (const [name, file, node] of cases) {
    it(name, () => {
      const m = loadYamlModel(file);
      const text = nginxFiles(m, node).map((f) => f.content).join('\n');
      const r = parsedOk(parseNginx(text, { file: 'lvs-toolkit.conf' }));
      expect(r.model).toEqual(projectNginx(m, node));
      expect(r.warnings, 'our own file needs no warning').toEqual([]);
    });
  }

  it('the projection keeps what nginx can say and drops what it cannot', () => {
    const p = projectNginx(loadYamlModel('fixtures/configs/nginx/features.yaml'), 'lb1');
    const web = p.services.find((s) => s.name === 'web')!;
    expect(web.healthCheck).toEqual({ type: 'tcp' });
    expect(web.checkTimers).toEqual({ delayLoop: 3, connectTimeout: 1, retry: 2, delayBeforeRetry: 0 });
    expect(web.realServers.map((r) => [r.name, r.weight])).toEqual([['10.0.1.1', 3], ['10.0.1.2', 1], ['10.0.1.3', 0]]);
    expect(web.sorryServer).toEqual({ address: '10.0.1.99', port: 80 });
    expect(p.services.map((s) => `${s.name}/${s.protocol}`)).toEqual(['web/tcp', 'sticky/tcp', 'dns/udp', 'syslog/udp']);
  });
});

describe('reading hand-written nginx', () => {
  it('follows include through the resolver and reads a whole nginx.conf with http and stream', () => {
    const main = 'user www-data;\nevents { worker_connections 64; }\nhttp {\n    include conf.d/*.conf;\n}\nstream {\n    upstream dns { server 10.0.0.53:53 weight=2; server 10.0.0.54:53; }\n    server { listen 53 udp; proxy_pass dns; }\n}\n';
    const inc = 'upstream app {\n    ip_hash;\n    server 10.0.0.1:8080 max_fails=3 fail_timeout=1m;\n    server 10.0.0.2:8080 max_fails=3 fail_timeout=1m;\n}\nserver { listen 10.0.0.100:80; listen 10.0.0.100:443 ssl; location /api/ { proxy_pass http://app; proxy_connect_timeout 750ms; } }\n';
    const r = parsedOk(parseNginx(main, { file: 'nginx.conf', resolveInclude: (p) => (p === 'conf.d/*.conf' ? [{ path: 'conf.d/app.conf', text: inc }] : []) }));
    expect(r.model.services.map((s) => [s.name, s.protocol, s.vip, s.ports, s.scheduler])).toEqual([
      ['app', 'tcp', '10.0.0.100', [80, 443], 'sh'],
      ['dns', 'udp', '0.0.0.0', [53], 'wrr'],
    ]);
    expect(r.model.services[0]!.checkTimers).toEqual({ delayLoop: 60, connectTimeout: 0.75, retry: 2, delayBeforeRetry: 0 });
    expect(r.warnings.map((w) => `${w.source!.file}:${w.source!.line} ${w.message}`)).toEqual([
      'nginx.conf:1 "user" in the main context is not modelled and is not imported',
      'nginx.conf:2 "events" in the main context is not modelled and is not imported',
      'conf.d/app.conf:6 listen parameter "ssl" is not modelled and is not imported',
      'conf.d/app.conf:6 proxy_pass in location /api/: routing by path is not modelled; imported as if for location /',
    ]);
  });

  it('without a resolver an include is a warning, not a silent skip', () => {
    const r = parseNginx('include /etc/nginx/conf.d/*.conf;\n', { file: 'nginx.conf' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ severity: 'warning', source: { line: 1, column: 1 }, message: expect.stringContaining('include /etc/nginx/conf.d/*.conf is not followed') });
  });

  it('reads nginx times as nginx does', () => {
    expect([parseNginxTime('10'), parseNginxTime('500ms'), parseNginxTime('1m30s'), parseNginxTime('2h'), parseNginxTime('10x'), parseNginxTime('500ms', true)]).toEqual([10, 0.5, 90, 7200, undefined, undefined]);
  });
});

describe('malformed corpus', () => {
  const corpus: [string, number, number, RegExp, number | undefined][] = [
    // file, our line, our column, our message, the line nginx -t reports (when it reports the same place)
    ['truncated-block.conf', 6, 8, /directive "server" is not terminated by ";"/, 6],
    ['missing-semicolon.conf', 6, 16, /directive "listen" is not terminated by ";"/, 6],
    ['stray-brace.conf', 4, 1, /unexpected "}"/, 4],
    // nginx reads the rest of the file into the string and stops at the end (line 11); we point at the quote.
    ['unterminated-quote.conf', 6, 17, /unterminated double quote/, undefined],
  ];
  for (const [name, line, column, message, nginxLine] of corpus) {
    it(`${name}: a positioned error, and nginx -t rejects it too`, async () => {
      const path = join(CONFIGS_DIR, 'nginx/malformed', name);
      const r = parseNginx(readFileSync(path, 'utf8'), { file: name });
      expectPositionedError(r, { file: name, line, column }, message);
      const v = await nginxVerdict(path);
      expect(v.exitCode).not.toBe(0);
      if (nginxLine !== undefined) expect(v.output).toContain(`${name}:${nginxLine}\n`);
    });
  }

  it('an unknown directive is a positioned warning; the rest imports', () => {
    const r = parsedOk(parseNginx(readFixture('fixtures/configs/nginx/unknown-directive.conf'), { file: 'u.conf' }));
    expect(r.model.services[0]!.realServers).toHaveLength(1);
    expect(r.warnings).toEqual([expect.objectContaining({ severity: 'warning', source: { file: 'u.conf', line: 9, column: 5 }, message: '"frobnicate" in a server block is not modelled and is not imported' })]);
  });

  it('binary junk: an error at the first NUL byte, no throw', () => {
    let x = 7;
    const bytes = Array.from({ length: 4096 }, () => ((x = (x * 1103515245 + 12345) >>> 0), (x >>> 16) & 255));
    const text = `upstream a {\n  server 10.0.0.1;\n}\n${String.fromCharCode(...bytes)}`;
    const r = parseNginx(text, { file: 'junk.bin' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const nul = text.indexOf('\0');
    const line = text.slice(0, nul).split('\n').length;
    expect(line).toBeGreaterThanOrEqual(4);
    expect(r.problems).toEqual([expect.objectContaining({ severity: 'error', source: { file: 'junk.bin', line, column: nul - text.lastIndexOf('\n', nul) }, message: expect.stringContaining('NUL byte') })]);
  });

  it('junk without NUL bytes is still refused with a position', () => {
    const r = parseNginx('}{;;\u00ff\u0001"', { file: 'junk.txt' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ severity: 'error', source: { file: 'junk.txt', line: 1, column: 1 }, message: 'unexpected "}"' });
  });

  it('10 MB: imports in reasonable time, warnings capped with their count stated', () => {
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 10 * 1024 * 1024; i++) {
      const block = `upstream u${i} { server 10.0.${(i >> 8) & 255}.${i & 255}:80; }\nserver { listen ${1 + (i % 65535)}; location / { proxy_pass http://u${i}; } gzip on; }\n`;
      parts.push(block);
      size += block.length;
    }
    const text = parts.join('');
    const r = parseNginx(text, { file: 'big.conf' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.model.services.length).toBe(parts.length);
    expect(r.warnings).toHaveLength(MAX_LISTED_WARNINGS + 1);
    expect(r.warnings.at(-1)!.message).toMatch(/^\d+ more warnings not listed/);
  });

  it('10 MB truncated in the middle of a block: one positioned error at the end', () => {
    const text = `upstream u {\n${'    server 10.0.0.1:80;\n'.repeat(450_000)}`;
    expect(text.length).toBeGreaterThan(10_000_000);
    const r = parseNginx(text, { file: 'big.conf' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([expect.objectContaining({ severity: 'error', message: 'unexpected end of file, expecting "}"', source: { file: 'big.conf', line: 450_002, column: 1 } })]);
  });
});
