/**
 * HAProxy renderer: seed 000's nginx pair rendered as HAProxy (golden),
 * every generated file accepted by the real `haproxy -c` with no [WARNING],
 * and the check mapping a user would read in the file.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { HAPROXY_PATH, renderHaproxy } from '../../../src/core/render/haproxy.js';
import { l7Problems } from '../../../src/core/render/nginx.js';
import { configText, loadYamlModel, toModel } from '../../helpers/fixtures.js';
import { expectGolden } from '../../helpers/golden.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { withTempFile } from '../../helpers/validators.js';

/** `haproxy -c -f FILE` in a throw-away netns. */
async function haproxyCheck(text: string): Promise<{ exitCode: number; output: string }> {
  const r = await withNetns(['eth0'], (ns) => withTempFile('haproxy.cfg', text, (file) => runIn(ns, ['haproxy', '-c', '-f', file])));
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}

/** Every haproxy feature the renderer writes (answers format). */
const HAPROXY_FEATURES = parseYaml(configText('haproxy/features.yaml')) as unknown;

describe('renderHaproxy', () => {
  for (const node of ['lb1', 'lb2']) {
    it(`seed-000-nginx-pair as HAProxy, ${node}: golden file, haproxy -c without warnings`, async () => {
      const m = loadYamlModel('fixtures/answers/seed-000-nginx-pair.yaml', 'haproxy');
      const text = renderHaproxy(m, node);
      expectGolden(join('haproxy', 'seed-000-nginx-pair', node, HAPROXY_PATH), text);
      const r = await haproxyCheck(text);
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output, r.output).not.toMatch(/\[(WARNING|ALERT)\]/);
      expect(text).toContain('frontend web\n    bind 10.0.3.250:80\n    default_backend web\n');
      expect(text).toContain('    balance leastconn\n    server app1 10.0.3.10:80\n    server app2 10.0.3.20:80\n');
      expect(l7Problems(m)).toEqual([]);
    });
  }

  it('seed 003 as HAProxy: haproxy -c accepts it', async () => {
    const r = await haproxyCheck(renderHaproxy(loadYamlModel('fixtures/answers/seed-003-nginx-lxd.yaml', 'haproxy'), 'web4'));
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output, r.output).not.toMatch(/\[(WARNING|ALERT)\]/);
  });

  const features = toModel(HAPROXY_FEATURES);
  const text = renderHaproxy(features, 'lb1');

  it('every check kind, weights, backup and all-address binds pass haproxy -c without warnings', async () => {
    const r = await haproxyCheck(text);
    expect(r.exitCode, `${r.output}\n${text}`).toBe(0);
    expect(r.output, r.output).not.toMatch(/\[(WARNING|ALERT)\]/);
  });

  it('writes the checks and timers where a HAProxy user expects them', () => {
    expect(text).toContain('    option httpchk\n    http-check send meth GET uri /health ver HTTP/1.1 hdr Host www.example.com\n    http-check expect status 200\n');
    expect(text).toContain('    timeout connect 1s\n    default-server inter 2500ms fastinter 500ms fall 3 rise 1 port 8081\n');
    expect(text).toContain('    server a 10.0.1.1:8000 check weight 256\n');
    expect(text).toContain('    server sorry 10.0.1.3:8000 check weight 0\n    server sorry-2 10.0.1.99:80 backup\n');
    expect(text).toContain('frontend api\n    bind :8443\n');
    expect(text).toContain('    balance source\n    option httpchk GET /ping\n');
    expect(text).toContain('    server a 10.0.1.1:443 check check-ssl verify none\n');
    expect(text).toContain('    tcp-check send-binary 474554202f20485454502f312e300d0a0d0a\n    tcp-check expect string HTTP\n');
    expect(text).toContain('    default-server inter 2s fall 1 rise 1\n');
    expect(text).toContain('    tcp-check expect rstring "^\\\\+PONG \\"\\$ok\\""\n');
    expect(text).toContain(`    tcp-check expect binary ${Buffer.from('two words').toString('hex')}\n`);
    expect(text).toMatch(/backend quiet\n {4}balance leastconn\n {4}server q1 10\.0\.2\.4:80\n/);
    expect(text).not.toContain('dns');
  });

  it('says what it left out: UDP, the weight above 256', () => {
    const got = l7Problems(features).map((p) => `${p.severity} ${p.path}`);
    expect(got).toEqual(['warning services[0].realServers[0].weight', 'error services[6].protocol']);
  });

  it('haproxy -c reports a broken file, so the harness can fail', async () => {
    const r = await haproxyCheck(text.replace('balance source', 'balance sauce'));
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/balance only supports/);
  });
});
