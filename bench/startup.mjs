#!/usr/bin/env node
// Startup cost of each bin's --help and --version against a bare `node -e 0`,
// measured in one run (interleaved, median of N). Target: ratio <= 1.5.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.N ?? 15);
const bins = ['lvs-wizard', 'lvs-doctor', 'lvs-trace', 'lvs-lab'];

function time(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cases = [['bare node -e 0', ['-e', '0']]];
for (const b of bins) for (const flag of ['--help', '--version']) cases.push([`${b} ${flag}`, [join('dist/bin', `${b}.js`), flag]]);
const samples = new Map(cases.map(([n]) => [n, []]));
for (let i = 0; i < N; i++) for (const [n, argv] of cases) samples.get(n).push(time(argv));

const base = median(samples.get('bare node -e 0'));
let worst = 0;
console.log(`startup, median of ${N} (ms), ratio to bare node`);
for (const [n] of cases) {
  const m = median(samples.get(n));
  const ratio = m / base;
  if (n !== 'bare node -e 0') worst = Math.max(worst, ratio);
  console.log(`${n.padEnd(26)} ${m.toFixed(1).padStart(7)}  ${ratio.toFixed(2)}x`);
}
console.log(`worst ratio ${worst.toFixed(2)}x (target <= 1.50x): ${worst <= 1.5 ? 'ok' : 'OVER TARGET'}`);
