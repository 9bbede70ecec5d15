/** keepalived.conf importer: the seed's own file, includes, groups, round trip, malformed input. */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Installation } from '../../../src/core/model.js';
import { normalize } from '../../../src/core/normalize.js';
import { parseKeepalived, projectKeepalived } from '../../../src/core/parse/keepalived.js';
import type { IncludedFile, ParseResult } from '../../../src/core/parse/types.js';
import { formatProblem } from '../../../src/core/problems.js';
import { renderKeepalived } from '../../../src/core/render/keepalived.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CONFIGS = join(ROOT, 'fixtures/configs');

function load(seed: string): Installation {
  const n = normalize(parseYaml(readFileSync(join(ROOT, 'fixtures/answers', `${seed}.yaml`), 'utf8')));
  if (!n.ok) throw new Error(JSON.stringify(n.problems));
  return n.model;
}

/** The caller's side of includes: relative to the including file, `*` globs in the last segment. */
function resolveInclude(pattern: string, fromFile: string): IncludedFile[] {
  const full = resolve(dirname(fromFile), pattern);
  const dir = dirname(full);
  const re = new RegExp(`^${basename(full).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => ({ path: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

function ok(r: ParseResult): Extract<ParseResult, { ok: true }> {
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r;
}

describe('parseKeepalived: the seed-000 keepalived.conf', () => {
  const file = join(CONFIGS, 'seeds/seed-000-keepalived.conf');
  const r = ok(parseKeepalived(readFileSync(file, 'utf8'), { file }));
  const m = r.model;

  it('gives the DR service of seed 000', () => {
    expect(m.services).toHaveLength(1);
    const s = m.services[0]!;
    expect({ vip: s.vip, ports: s.ports, scheduler: s.scheduler, mode: s.mode, protocol: s.protocol, persistence: s.persistence }).toEqual({
      vip: '10.0.3.250',
      ports: [80],
      scheduler: 'rr',
      mode: 'dr',
      protocol: 'tcp',
      persistence: { timeout: 50 },
    });
    expect(s.realServers.map((x) => [x.name, x.address, x.port, x.weight])).toEqual([
      ['rs1', '10.0.3.10', 80, 10],
      ['rs2', '10.0.3.20', 80, 10],
    ]);
    expect(s.healthCheck).toEqual({ type: 'tcp', port: 80 });
    expect(s.checkTimers.delayLoop).toBe(6);
    expect(s.checkTimers.connectTimeout).toBe(3);
  });

  it('gives its VRRP instance and one director', () => {
    expect(m.vrrp).toMatchObject({ version: 2, advertInt: 1, transport: 'multicast', auth: { type: 'PASS', password: 'pass' } });
    expect(m.vrrp!.instances).toEqual([{ name: 'VI_1', vrid: 51, interface: 'eth0', addresses: [{ address: '10.0.3.250' }] }]);
    expect(m.directors).toEqual([{ name: 'dir1', platform: { type: 'host' }, interfaces: [{ name: 'eth0' }], priority: 100 }]);
    expect(r.warnings).toEqual([]);
  });
});

describe('parseKeepalived: round trip parse(render(m)) = projectKeepalived(m)', () => {
  const cases: [string, string][] = [
    ['seed-000-dr-pair', 'lb1'],
    ['seed-000-dr-pair', 'lb2'],
    ['seed-004-nat-fwmark', 'lvs-01'],
    ['seed-004-nat-fwmark', 'lvs-02'],
    ['seed-002-tun-openvz', 'lvs'],
  ];
  for (const [seed, node] of cases) {
    it(`${seed} ${node}`, () => {
      const m = load(seed);
      const r = ok(parseKeepalived(renderKeepalived(m, node), { file: 'keepalived.conf' }));
      expect(r.warnings).toEqual([]);
      expect(r.model).toEqual(projectKeepalived(m, node));
    });
  }

  it('seed-004: the fwmark service, the NAT router and the master first', () => {
    const m = ok(parseKeepalived(renderKeepalived(load('seed-004-nat-fwmark'), 'lvs-02'), { file: 'k.conf' })).model;
    expect(m.natRouter).toEqual({ address: '10.8.8.30/24', interface: 'eth1' });
    expect(m.services[0]).toMatchObject({ fwmark: 80, vip: '10.10.1.30', mode: 'nat', persistence: { timeout: 30 } });
    expect(m.services[0]!.healthCheck).toEqual({ type: 'send-expect', send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP', regex: false });
    expect(m.directors.map((d) => [d.name, d.interfaces[0]!.address])).toEqual([
      ['dir1', '10.10.1.31/32'],
      ['lvs-02', '10.10.1.32/32'],
    ]);
    expect(m.directors[0]!.interfaces.map((i) => i.name)).toEqual(['eth0', 'eth1']);
  });

  it('seed-000 nginx pair: only floating addresses, which the model cannot hold without a service', () => {
    const r = parseKeepalived(renderKeepalived(load('seed-000-nginx-pair'), 'lb1'), { file: 'k.conf' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.message).join('\n')).toMatch(/no virtual_server/);
  });
});

describe('parseKeepalived: includes, globs, groups, sync groups', () => {
  const file = join(CONFIGS, 'keepalived/main-with-includes.conf');
  const r = ok(parseKeepalived(readFileSync(file, 'utf8'), { file, resolveInclude }));

  it('reads the files a glob include names, relative to the including file', () => {
    expect(r.model.directors.map((d) => d.name)).toEqual(['edge-a', 'dir2']);
    expect(r.model.vrrp!.instances.map((i) => i.name)).toEqual(['VI_WEB', 'VI_DNS']);
  });

  it('expands a virtual_server_group range into one service per address', () => {
    const web = r.model.services.filter((s) => s.mode === 'dr');
    expect(web.map((s) => `${s.vip}:${s.ports[0]}`)).toEqual(['192.168.50.10:80', '192.168.50.11:80']);
    expect(web[0]!.healthCheck).toEqual({ type: 'http', path: '/healthz', status: 200 });
    expect(web[0]!.checkTimers).toEqual({ delayLoop: 5, connectTimeout: 2, retry: 1, delayBeforeRetry: 3 });
    expect(web[0]!.realServers.map((x) => [x.name, x.weight])).toEqual([
      ['rs1', 3],
      ['rs2', 1],
    ]);
  });

  it("applies keepalived's defaults: NAT, persistence 360, weight 1, delay_loop 60", () => {
    const dns = r.model.services.find((s) => s.protocol === 'udp')!;
    expect(dns).toMatchObject({ mode: 'nat', persistence: { timeout: 360 }, healthCheck: { type: 'none' } });
    expect(dns.realServers).toMatchObject([{ name: 'rs1', weight: 1 }]);
    expect(dns.checkTimers.delayLoop).toBe(60);
  });

  it('without a way to read files, an include is a positioned warning', () => {
    const bare = parseKeepalived(readFileSync(file, 'utf8'), { file });
    const problems = bare.ok ? bare.warnings : bare.problems;
    expect(problems.find((p) => /include conf\.d\/\*\.conf was not read/.test(p.message))?.source).toEqual({ file, line: 5, column: 1 });
  });

  it('an error inside an included file names that file and line', () => {
    const r2 = parseKeepalived('include broken.conf\n', {
      file: '/etc/keepalived/keepalived.conf',
      resolveInclude: () => [{ path: '/etc/keepalived/broken.conf', text: 'virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.999 80 {\n    }\n}\n' }],
    });
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.problems[0]!.source).toEqual({ file: '/etc/keepalived/broken.conf', line: 2, column: 17 });
  });
});

describe('parseKeepalived: malformed input gives positioned problems, never a throw', () => {
  const dir = join(CONFIGS, 'keepalived/malformed');
  const expected: Record<string, { severity: 'error' | 'warning'; line: number; column: number; message: RegExp }> = {
    'truncated.conf': { severity: 'error', line: 3, column: 5, message: /never closed/ },
    'bad-ip.conf': { severity: 'error', line: 3, column: 17, message: /not an IPv4 address/ },
    'bad-number.conf': { severity: 'error', line: 2, column: 16, message: /expected seconds/ },
    'unknown-keyword.conf': { severity: 'warning', line: 4, column: 5, message: /unknown keyword "frobnicate"/ },
    'one-line-block.conf': { severity: 'warning', line: 3, column: 31, message: /mis-parses one-line blocks/ },
    'binary.conf': { severity: 'error', line: 2, column: 15, message: /binary data/ },
  };
  for (const name of readdirSync(dir).sort()) {
    it(name, () => {
      const file = join(dir, name);
      const r = parseKeepalived(readFileSync(file, 'utf8'), { file });
      const problems = r.ok ? r.warnings : r.problems;
      const want = expected[name];
      expect(want, `no expectation for ${name}`).toBeDefined();
      if (want!.severity === 'error') expect(r.ok).toBe(false);
      const p = problems.find((x) => x.severity === want!.severity && want!.message.test(x.message));
      expect(p, problems.map(formatProblem).join('\n')).toBeDefined();
      expect(p!.source).toEqual({ file, line: want!.line, column: want!.column });
    });
  }

  it('10 MB of unclosed blocks: positioned problems, never a throw', () => {
    const text = 'virtual_server 10.0.0.1 80 {\n'.repeat(360_000);
    const r = parseKeepalived(text, { file: 'huge.conf' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.length).toBeLessThanOrEqual(200);
      expect(r.problems[0]!.source?.file).toBe('huge.conf');
    }
  });

  it('over 64 MiB: refused with a position', () => {
    const text = '#'.repeat(64 * 1024 * 1024 + 1);
    const r = parseKeepalived(text, { file: 'giant.conf' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]!.source).toEqual({ file: 'giant.conf', line: 1, column: 1 });
  });

  it('3 MB of unclosed blocks: positioned, bounded', () => {
    const text = 'virtual_server 10.0.0.1 80 {\n'.repeat(100_000);
    const r = parseKeepalived(text, { file: 'deep.conf' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.length).toBeLessThanOrEqual(200);
  });

  it('an unterminated quote and a stray "}"', () => {
    const r = parseKeepalived('global_defs {\n    router_id "lb1\n}\n}\n', { file: 'q.conf' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.map((p) => [p.source!.line, p.source!.column])).toEqual([[2, 15]]);
    }
  });
});

describe('parseKeepalived: round trip of the features the seeds leave out', () => {
  it('parse(render(rich)) = projectKeepalived(rich) for both directors', () => {
    const m = load('../configs/keepalived/rich-features');
    for (const node of ['lb1', 'lb2']) {
      const r = ok(parseKeepalived(renderKeepalived(m, node), { file: 'k.conf' }));
      expect(r.warnings).toEqual([]);
      expect(r.model).toEqual(projectKeepalived(m, node));
      expect(r.model.services[0]!.healthCheck).toEqual({ type: 'http', path: '/health', status: 200, virtualhost: 'www.example.org' });
      expect(r.model.services[1]!.healthCheck).toEqual({ type: 'script', command: '/usr/local/bin/check "app" --fast' });
    }
  });
});
