/**
 * Property: for random valid designs (200 per run, a new seed each run,
 * printed so a failure can be replayed with PROPERTY_SEED=...), every
 * renderer's output is accepted by its real validator and re-imports to the
 * same model (as far as the format can carry it); random invalid designs
 * are all rejected with a message.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isL4, type Installation } from '../../src/core/model.js';
import { normalize } from '../../src/core/normalize.js';
import { parseAnswers } from '../../src/core/parse/answers.js';
import { parseHaproxy } from '../../src/core/parse/haproxy.js';
import { parseIpvsadm, projectIpvsadm } from '../../src/core/parse/ipvsadm.js';
import { parseKeepalived, projectKeepalived } from '../../src/core/parse/keepalived.js';
import { parseLdirectord, projectLdirectord } from '../../src/core/parse/ldirectord.js';
import { parseLvsCf, projectLvsCf } from '../../src/core/parse/lvs-cf.js';
import { parseNginx } from '../../src/core/parse/nginx.js';
import { renderAnswers } from '../../src/core/render/answers.js';
import { renderNodes } from '../../src/core/render/bundle.js';
import { projectHaproxy, renderHaproxy } from '../../src/core/render/haproxy.js';
import { ipvsadmProblems, renderIpvsadm } from '../../src/core/render/ipvsadm.js';
import { renderKeepalived } from '../../src/core/render/keepalived.js';
import { ldirectordProblems, renderLdirectord } from '../../src/core/render/ldirectord.js';
import { lvsCfProblems, renderLvsCf } from '../../src/core/render/lvs-cf.js';
import { l7Problems, nginxFiles, NGINX_HTTP_PATH, NGINX_STREAM_PATH, projectNginx } from '../../src/core/render/nginx.js';
import { validate } from '../../src/core/validate.js';
import { validAnswers } from '../helpers/arbitrary.js';
import { run, runIn } from '../helpers/netns.js';
import { haproxyCheck, iptablesCheck, keepalivedCheck, nftCheck, nginxCheck, shellCheckMany } from '../helpers/validators.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const SEED = Number(process.env.PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const opts = { file: 'generated' };
let ns: string;

beforeAll(() => {
  ns = `lvst-prop-${process.pid}`;
  run(['ip', 'netns', 'add', ns]);
  for (const [i, name] of ['eth0', 'eth1'].entries()) {
    run(['ip', '-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `p${i}`]);
    run(['ip', '-n', ns, 'link', 'set', name, 'up']);
  }
  runIn(ns, ['sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1']);
  console.log(`property test: ${RUNS} designs, PROPERTY_SEED=${SEED}`);
});
afterAll(() => {
  run(['ip', 'netns', 'del', ns]);
});

function models(): Installation[] {
  return fc.sample(validAnswers, { numRuns: RUNS, seed: SEED }).map((a) => {
    const n = normalize(a);
    if (!n.ok) throw new Error(`arbitrary produced an invalid design: ${JSON.stringify(n.problems)}`);
    return n.model;
  });
}

const noErrors = (ps: { severity: string }[]) => !ps.some((p) => p.severity === 'error');

describe(`random valid designs (PROPERTY_SEED=${SEED})`, { timeout: 600_000 }, () => {
  const designs = models();

  it('every design re-imports from its answers YAML unchanged', () => {
    designs.forEach((m, i) => {
      const r = parseAnswers(renderAnswers(m), opts);
      expect(r.ok && r.model, `design ${i}`).toEqual(m);
    });
  });

  it('keepalived.conf: accepted by keepalived -t and re-imported to the projection', () => {
    let checked = 0;
    designs.forEach((m, i) => {
      for (const d of m.directors) {
        if (!m.vrrp && !m.services.some((s) => isL4(s.mode))) continue;
        const text = renderKeepalived(m, d.name);
        const t = keepalivedCheck(ns, text);
        expect({ exit: t.exitCode, out: `${t.stdout}${t.stderr}` }, `design ${i} ${d.name}:\n${text}`).toEqual({ exit: 0, out: '' });
        checked++;
        if (!m.services.some((s) => isL4(s.mode))) continue;
        const back = parseKeepalived(text, opts);
        expect(back.ok ? back.model : back.problems, `design ${i} ${d.name}:\n${text}`).toEqual(projectKeepalived(m, d.name));
      }
    });
    expect(checked).toBeGreaterThan(RUNS / 2);
  });

  it('ipvsadm, lvs.cf and ldirectord.cf re-import to their projections', () => {
    let n = 0;
    designs.forEach((m, i) => {
      if (!m.services.every((s) => isL4(s.mode))) return;
      if (noErrors(ipvsadmProblems(m))) {
        const t = renderIpvsadm(m);
        const b = parseIpvsadm(t, opts);
        expect(b.ok ? b.model : b.problems, `design ${i} ipvsadm:\n${t}`).toEqual(projectIpvsadm(m));
        n++;
      }
      if (noErrors(lvsCfProblems(m))) {
        const t = renderLvsCf(m);
        const b = parseLvsCf(t, opts);
        expect(b.ok ? b.model : b.problems, `design ${i} lvs.cf:\n${t}`).toEqual(projectLvsCf(m));
      }
      if (noErrors(ldirectordProblems(m))) {
        const t = renderLdirectord(m);
        const b = parseLdirectord(t, opts);
        expect(b.ok ? b.model : b.problems, `design ${i} ldirectord:\n${t}`).toEqual(projectLdirectord(m));
      }
    });
    expect(n).toBeGreaterThan(0);
  });

  it('nginx and HAProxy: accepted by nginx -t / haproxy -c and re-imported to the projection', () => {
    let n = 0;
    designs.forEach((m, i) => {
      const l7 = m.services.filter((s) => !isL4(s.mode));
      if (l7.length === 0 || !noErrors(l7Problems(m))) return;
      const d = m.directors[0]!.name;
      if (l7.some((s) => s.mode === 'nginx')) {
        const files = nginxFiles(m, d);
        const http = files.find((f) => f.path === NGINX_HTTP_PATH)?.content;
        const stream = files.find((f) => f.path === NGINX_STREAM_PATH)?.content;
        const t = nginxCheck(ns, http, stream);
        expect({ exit: t.exitCode, out: `${t.stdout}${t.stderr}` }, `design ${i} nginx:\n${http}\n${stream ?? ''}`).toEqual({ exit: 0, out: '' });
        if (http && !stream) {
          const b = parseNginx(http, opts);
          expect(b.ok ? b.model : b.problems, `design ${i} nginx:\n${http}`).toEqual(projectNginx(m, d));
        }
        n++;
      }
      if (l7.some((s) => s.mode === 'haproxy')) {
        const text = renderHaproxy(m, d);
        const t = haproxyCheck(ns, text);
        expect({ exit: t.exitCode, out: `${t.stdout}${t.stderr}` }, `design ${i} haproxy:\n${text}`).toEqual({ exit: 0, out: '' });
        const b = parseHaproxy(text, opts);
        expect(b.ok ? b.model : b.problems, `design ${i} haproxy:\n${text}`).toEqual(projectHaproxy(m, d));
        n++;
      }
    });
    expect(n).toBeGreaterThan(0);
  });

  it('every node: scripts pass sh -n and shellcheck, firewall rules pass nft -c / iptables-restore --test', () => {
    const scripts: Array<{ name: string; text: string }> = [];
    designs.forEach((m, i) => {
      for (const b of renderNodes(m)) {
        scripts.push({ name: `d${i}-${b.node}-setup`, text: b.script });
        for (const f of b.files) {
          if (f.validator === 'sh') scripts.push({ name: `d${i}-${b.node}-${f.path}`, text: f.content });
          if (f.validator === 'nft') {
            const t = nftCheck(ns, f.content);
            expect({ exit: t.exitCode, out: t.stderr }, `design ${i} ${b.node} ${f.path}:\n${f.content}`).toEqual({ exit: 0, out: '' });
          }
          if (f.validator === 'iptables-restore') {
            const t = iptablesCheck(ns, f.content);
            expect({ exit: t.exitCode, out: t.stderr }, `design ${i} ${b.node} ${f.path}:\n${f.content}`).toEqual({ exit: 0, out: '' });
          }
        }
      }
    });
    for (let k = 0; k < scripts.length; k += 200) {
      const r = shellCheckMany(scripts.slice(k, k + 200));
      expect({ exit: r.exitCode, out: `${r.stdout}${r.stderr}` }).toEqual({ exit: 0, out: '' });
    }
  });
});

/** One known defect injected into a valid design; each must be rejected with a message. */
const DEFECTS: Array<[string, (a: any) => void]> = [
  ['port out of range', (a) => (a.services[0].ports[0] = 70000)],
  ['weight out of range', (a) => (a.services[0].realServers[0].weight = -1)],
  ['bad VIP', (a) => (a.services[0].vip = '10.0.0.256')],
  ['VIP is a director address', (a) => { a.vrrp = a.vrrp ?? {}; a.services[0].vip = a.directors[0].interfaces[0].address.split('/')[0]; }],
  ['duplicate service', (a) => a.services.push({ ...structuredClone(a.services[0]), name: 'dup' })],
  ['duplicate real server', (a) => a.services[0].realServers.push(structuredClone(a.services[0].realServers[0]))],
  ['unknown scheduler', (a) => (a.services[0].scheduler = 'fastest')],
  ['unknown key', (a) => (a.services[0].colour = 'red')],
  ['three directors', (a) => a.directors.push({ name: 'x1', interfaces: [{ name: 'eth0' }] }, { name: 'x2', interfaces: [{ name: 'eth0' }] })],
  ['VRID 0', (a) => (a.vrrp = { ...(a.vrrp ?? {}), instances: [{ name: 'VI_1', vrid: 0, interface: 'eth0', addresses: [{ address: '10.9.9.9/32' }] }] })],
  ['v2 sub-second advert', (a) => (a.vrrp = { ...(a.vrrp ?? {}), version: 2, advertInt: 0.3 })],
  ['no services', (a) => (a.services = [])],
  ['several ports without fwmark', (a) => { delete a.services[0].fwmark; a.services[0].ports = [1, 2]; }],
];

describe(`random invalid designs (PROPERTY_SEED=${SEED})`, { timeout: 600_000 }, () => {
  it('are all rejected with a message that names where', () => {
    const arb = fc.tuple(validAnswers, fc.integer({ min: 0, max: DEFECTS.length - 1 }));
    for (const [answers, k] of fc.sample(arb, { numRuns: RUNS, seed: SEED + 1 })) {
      const [name, inject] = DEFECTS[k]!;
      const a = structuredClone(answers);
      inject(a);
      const n = normalize(a);
      const problems = n.ok ? validate(n.model).filter((p) => p.severity === 'error') : n.problems;
      expect(problems.length, `${name} was accepted: ${JSON.stringify(a)}`).toBeGreaterThan(0);
      for (const p of problems) expect(p.message.length, name).toBeGreaterThan(5);
      expect(problems.some((p) => p.path !== ''), `${name}: no problem names its place`).toBe(true);
    }
  });
});
