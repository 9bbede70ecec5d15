#!/usr/bin/env node
// Generate + import of a large design (1,000 services x 50 real servers, DR,
// keepalived pair), measured against the time keepalived itself takes to
// `-t` the same file, in one run. Needs root (keepalived -t runs in a
// throw-away network namespace that has the interfaces the config names).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalize } from '../dist/core/normalize.js';
import { validate } from '../dist/core/validate.js';
import { renderKeepalived } from '../dist/core/render/keepalived.js';
import { renderNodes } from '../dist/core/render/bundle.js';
import { parseKeepalived } from '../dist/core/parse/keepalived.js';

const SERVICES = Number(process.env.SERVICES ?? 1000);
const REALS = Number(process.env.REALS ?? 50);

const realServers = Array.from({ length: REALS }, (_, i) => ({ name: `rs${i + 1}`, address: `10.0.1.${i + 1}`, weight: 1 + (i % 5) }));
const answers = {
  name: 'bench',
  directors: [
    { name: 'dir1', interfaces: [{ name: 'eth0', address: '10.0.0.1/16' }] },
    { name: 'dir2', interfaces: [{ name: 'eth0', address: '10.0.0.2/16' }] },
  ],
  vrrp: { version: 3, advertInt: 0.1, transport: 'unicast' },
  services: Array.from({ length: SERVICES }, (_, i) => ({
    name: `svc${i + 1}`,
    vip: `10.0.${100 + Math.floor(i / 250)}.${(i % 250) + 1}`,
    ports: [80],
    scheduler: 'wlc',
    mode: 'dr',
    realServers,
    healthCheck: { type: 'http', path: '/health', status: 200 },
  })),
};

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

let t0 = process.hrtime.bigint();
const n = normalize(answers);
if (!n.ok) throw new Error(JSON.stringify(n.problems.slice(0, 3)));
const problems = validate(n.model).filter((p) => p.severity === 'error');
if (problems.length) throw new Error(JSON.stringify(problems.slice(0, 3)));
const tValidate = ms(t0);

t0 = process.hrtime.bigint();
const conf = renderKeepalived(n.model, 'dir1');
const tRender = ms(t0);

t0 = process.hrtime.bigint();
const nodes = renderNodes(n.model);
const tAllNodes = ms(t0);

t0 = process.hrtime.bigint();
const back = parseKeepalived(conf, { file: 'bench.conf' });
const tParse = ms(t0);
if (!back.ok) throw new Error(JSON.stringify(back.problems.slice(0, 3)));
if (back.model.services.length !== SERVICES) throw new Error(`re-import gave ${back.model.services.length} services`);

const dir = mkdtempSync(join(tmpdir(), 'lvs-bench-'));
const ns = `lvsb-${process.pid}`;
let tKeepalived;
try {
  writeFileSync(join(dir, 'keepalived.conf'), conf);
  const sh = (argv) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'p0']);
  t0 = process.hrtime.bigint();
  const r = sh(['ip', 'netns', 'exec', ns, 'keepalived', '-t', '-f', join(dir, 'keepalived.conf')]);
  tKeepalived = ms(t0);
  if (r.status !== 0) throw new Error(`keepalived -t exited ${r.status}: ${r.stderr.slice(0, 500)}`);
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
}

const kb = (conf.length / 1024).toFixed(0);
console.log(`design: ${SERVICES} services x ${REALS} real servers, keepalived.conf ${kb} KiB, ${conf.split('\n').length} lines`);
console.log(`normalize + validate        ${(tValidate / 1000).toFixed(3)} s`);
console.log(`render keepalived.conf      ${(tRender / 1000).toFixed(3)} s   ${(tRender / tKeepalived).toFixed(2)}x keepalived -t`);
console.log(`render every node (${nodes.length})     ${(tAllNodes / 1000).toFixed(3)} s   ${(tAllNodes / tKeepalived).toFixed(2)}x keepalived -t`);
console.log(`import keepalived.conf      ${(tParse / 1000).toFixed(3)} s   ${(tParse / tKeepalived).toFixed(2)}x keepalived -t`);
console.log(`keepalived -t (same file)   ${(tKeepalived / 1000).toFixed(3)} s   1.00x`);
