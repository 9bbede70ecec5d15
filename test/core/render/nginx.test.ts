/**
 * nginx renderer: golden files for the seeds, every generated file accepted
 * by the real `nginx -t` (no [warn], no [emerg]) inside a throw-away netns,
 * and l7Problems naming what nginx cannot carry.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { l7Problems, NGINX_HTTP_PATH, NGINX_STREAM_PATH, nginxFiles, renderNginx } from '../../../src/core/render/nginx.js';
import { configText, loadAnswers, toModel } from '../../helpers/fixtures.js';
import { expectGolden } from '../../helpers/golden.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { STREAM_MODULE, nginxCheck } from '../../helpers/validators.js';

/** Every nginx feature the renderer writes (answers format). */
const NGINX_FEATURES = parseYaml(configText('nginx/features.yaml')) as unknown;

/**
 * `nginx -t` on our files under a minimal main nginx.conf whose pid, logs and
 * temp paths live in a temp dir, run in a throw-away netns. `nginx -t` does
 * bind the listen addresses (1.22: "bind() to 10.0.3.250:80 failed (99:
 * Cannot assign requested address)"), so by default the netns gets
 * net.ipv4.ip_nonlocal_bind=1, as the director setup gives a balancer.
 */
async function nginxTest(files: { path: string; content: string }[], nonlocalBind = true): Promise<{ exitCode: number; output: string }> {
  const http = files.find((f) => f.path === NGINX_HTTP_PATH);
  const stream = files.find((f) => f.path === NGINX_STREAM_PATH);
  const r = await withNetns(['eth0'], (ns) => {
    if (nonlocalBind) {
      const s = runIn(ns, ['sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1']);
      if (s.exitCode !== 0) throw new Error(`sysctl in ${ns}: ${s.stderr}`);
    }
    return nginxCheck(ns, http?.content, stream?.content);
  });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}

const SEEDS: { seed: string; nodes: string[] }[] = [
  { seed: 'seed-003-nginx-lxd', nodes: ['web4'] },
  { seed: 'seed-000-nginx-pair', nodes: ['lb1', 'lb2'] },
];

describe('renderNginx on the seeds', () => {
  for (const { seed, nodes } of SEEDS) {
    for (const node of nodes) {
      it(`${seed} ${node}: matches the golden file and passes nginx -t`, async () => {
        const m = loadAnswers(seed);
        const files = nginxFiles(m, node);
        expect(files.map((f) => f.path)).toEqual([NGINX_HTTP_PATH]);
        for (const f of files) expectGolden(join('nginx', seed, node, f.path), f.content);
        const r = await nginxTest(files);
        expect(r.exitCode, r.output).toBe(0);
        expect(r.output, r.output).not.toMatch(/\[(warn|emerg|alert)\]/);
        expect(l7Problems(m)).toEqual([]);
      });
    }
  }

  it('seed 003: least_conn over the three containers, listening on the balancer address', () => {
    const text = renderNginx(loadAnswers('seed-003-nginx-lxd'), 'web4');
    expect(text).toMatch(/upstream cluster \{\n {4}least_conn;\n {4}server 10\.156\.178\.162:80;\n {4}server 10\.156\.178\.147:80;\n {4}server 10\.156\.178\.210:80;\n\}/);
    expect(text).toContain('    listen 10.156.178.115:80;\n');
    expect(text).toContain('        proxy_pass http://cluster;\n');
    // healthCheck none: nginx keeps its own passive defaults, we write no max_fails.
    expect(text).not.toMatch(/max_fails=/);
  });

  it('a VRRP pair gets the same file on both balancers, apart from the name in the header', () => {
    const m = loadAnswers('seed-000-nginx-pair');
    const strip = (t: string): string => t.replace(/balancer \S+ /, '');
    expect(strip(renderNginx(m, 'lb1'))).toBe(strip(renderNginx(m, 'lb2')));
    expect(renderNginx(m, 'lb1')).toContain('listen 10.0.3.250:80;');
  });
});

describe('nginx features', () => {
  const m = toModel(NGINX_FEATURES);
  const files = nginxFiles(m, 'lb1');

  it('writes an http file and a stream file, both accepted by nginx -t', async () => {
    expect(files.map((f) => f.path)).toEqual([NGINX_HTTP_PATH, NGINX_STREAM_PATH]);
    expect(existsSync(STREAM_MODULE), `${STREAM_MODULE} is missing: apt-get install libnginx-mod-stream`).toBe(true);
    const r = await nginxTest(files);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output, r.output).not.toMatch(/\[(warn|emerg|alert)\]/);
  });

  it('maps weights, down, backup and the check timers onto server parameters', () => {
    const http = files[0]!.content;
    expect(http).toContain('    server 10.0.1.1:8000 weight=3 max_fails=3 fail_timeout=3s;\n');
    expect(http).toContain('    server 10.0.1.3:8000 down max_fails=3 fail_timeout=3s;\n');
    expect(http).toContain('    server 10.0.1.99:80 backup;\n');
    expect(http).toContain('        proxy_connect_timeout 1s;\n');
    expect(http).toContain('    listen 10.0.0.10:80;\n    listen 10.0.0.10:8080;\n');
    expect(http).toMatch(/upstream sticky \{\n {4}ip_hash;/);
    expect(http).toContain('    listen 81;\n');
  });

  it('puts UDP services in a stream block, hashing the client address where http would use ip_hash', () => {
    const stream = files[1]!.content;
    expect(stream).toContain('        listen 10.0.0.10:53 udp;\n');
    expect(stream).toContain('        listen 514 udp;\n');
    expect(stream).toMatch(/upstream syslog \{\n {8}hash \$remote_addr;/);
    expect(stream).toContain('        proxy_connect_timeout 250ms;\n');
    expect(stream).toContain('        server 10.0.2.9:53 backup;\n');
  });

  it('reports what it approximates or leaves out', () => {
    const problems = l7Problems(m);
    expect(problems).toEqual([
      expect.objectContaining({ severity: 'warning', path: 'services[0].healthCheck', message: expect.stringContaining('nginx Plus') }),
    ]);
  });

  it('nginx -t rejects a broken file, so the harness can fail', async () => {
    const r = await nginxTest([{ path: NGINX_HTTP_PATH, content: 'upstream x { server 10.0.0.1 fail_timeout=500ms; }\n' }]);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/invalid parameter "fail_timeout=500ms"/);
  });

  it('without ip_nonlocal_bind a balancer that does not hold the VIP fails nginx -t (the backup of a pair)', async () => {
    const r = await nginxTest(nginxFiles(loadAnswers('seed-000-nginx-pair'), 'lb2'), false);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/bind\(\) to 10\.0\.3\.250:80 failed \(99/);
  });
});

describe('l7Problems', () => {
  const base = {
    directors: [{ name: 'lb1', interfaces: [{ name: 'eth0' }] }],
    services: [
      {
        name: 'web', vip: '10.0.0.10', ports: [80], scheduler: 'dh', mode: 'nginx', fwmark: 7, quiescent: true,
        persistence: { timeout: 300 }, sorryServer: { address: '10.0.0.99' },
        realServers: [{ name: 'a', address: '10.0.1.1', port: 0 }],
      },
      { name: 'web', vip: '10.0.0.10', ports: [80], scheduler: 'sh', mode: 'nginx', sorryServer: { address: '10.0.0.99' }, realServers: [] },
      { name: 'dns', vip: '10.0.0.10', protocol: 'udp', ports: [53], mode: 'haproxy', realServers: [{ name: 'x', address: '10.0.1.1', weight: 1000 }, { name: 'x', address: '10.0.1.2' }], healthCheck: { type: 'http', path: '/', digest: '0123456789abcdef0123456789abcdef' } },
      { name: 'l4', vip: '10.0.0.11', ports: [80], scheduler: 'dh', mode: 'dr', realServers: [] },
    ],
  };

  it('names every service that cannot be written faithfully, with a hint, and ignores IPVS services', () => {
    const got = l7Problems(toModel(base)).map((p) => `${p.severity} ${p.path}: ${p.message.split(';')[0]}`);
    expect(got).toEqual([
      'error services[0].scheduler: scheduler dh has no nginx equivalent',
      'warning services[0].persistence: persistence (300s) is an IPVS feature',
      'warning services[0].fwmark: fwmark 7 is not written: the balancer listens on each port of the service instead',
      'warning services[0].quiescent: quiescent (weight 0 on failure) is a keepalived feature',
      "warning services[0].realServers[0].port: port 0 (keep the client's port) cannot be proxied",
      'error services[1].name: service name "web" is already used by services[0]',
      'error services[1].ports: 10.0.0.10:80 is already the address of services[0]',
      'error services[1].sorryServer: nginx does not allow a backup server with ip_hash/hash balancing, so the sorry server is not written',
      'error services[2].protocol: HAProxy does not proxy UDP',
      'warning services[2].healthCheck.digest: HAProxy cannot compare an MD5 digest of the body',
      'warning services[2].realServers[0].weight: HAProxy weights are 0..256',
      'error services[2].realServers[1].name: real server name "x" appears twice in the service',
    ]);
    expect(l7Problems(toModel(base))[0]!.hint).toMatch(/rr\/wrr .*lc\/wlc .*sh/);
  });

  it('an unsupported scheduler is still written as round robin that nginx accepts', async () => {
    const m = toModel({ ...base, services: [base.services[0]] });
    const text = renderNginx(m, 'lb1');
    expect(text).not.toMatch(/least_conn|ip_hash|hash /);
    const r = await nginxTest(nginxFiles(m, 'lb1'));
    expect(r.exitCode, r.output).toBe(0);
  });
});
