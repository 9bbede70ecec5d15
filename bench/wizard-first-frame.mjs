#!/usr/bin/env node
// Time to the first frame of `lvs-wizard` in a pseudo-terminal (script(1)
// gives it one), until the first screen's title is on the terminal; and
// `lvs-wizard --help` to its exit. Each is printed as a ratio to `node -e 0`
// run the same way in the same run (interleaved, median of N).
// Goals: first frame <= 0.5 s, --help <= 1.5x. Prints; never asserts.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'bin', 'lvs-wizard.js');
const N = Number(process.env.N ?? 9);
const TITLE = 'What to balance';

/** Milliseconds from spawn until `until` shows in the pty's output (or, with no `until`, until the process exits). */
function inPty(command, until) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: root, env: { ...process.env, COLUMNS: '100', LINES: '30' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      if (until) child.kill('SIGKILL');
    };
    child.stdout.on('data', (d) => {
      seen += d.toString();
      if (until && seen.includes(until)) finish();
    });
    child.on('exit', (code) => {
      if (!until) finish();
      else if (!done) reject(new Error(`${command} exited ${code} before showing "${until}":\n${seen}`));
    });
  });
}

function bare() {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0']);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const node = process.execPath;
const cases = [
  ['node -e 0 (pty)', () => inPty(`${node} -e 0`)],
  ['node -e 0 (no pty)', async () => bare()],
  ['lvs-wizard first frame', () => inPty(`${node} ${bin}`, TITLE)],
  ['lvs-wizard --help', () => inPty(`${node} ${bin} --help`)],
];
const samples = new Map(cases.map(([n]) => [n, []]));
for (let i = 0; i < N; i++) for (const [n, fn] of cases) samples.get(n).push(await fn());

const base = median(samples.get('node -e 0 (pty)'));
console.log(`lvs-wizard startup in a pty, median of ${N} (ms), ratio to node -e 0 in the same pty`);
for (const [n] of cases) {
  const m = median(samples.get(n));
  console.log(`${n.padEnd(24)} ${m.toFixed(1).padStart(8)}  ${(m / base).toFixed(2)}x`);
}
const frame = median(samples.get('lvs-wizard first frame'));
const help = median(samples.get('lvs-wizard --help')) / base;
console.log(`first frame ${(frame / 1000).toFixed(2)} s (goal <= 0.5 s): ${frame <= 500 ? 'ok' : 'over'}`);
console.log(`--help ${help.toFixed(2)}x node -e 0 (goal <= 1.5x): ${help <= 1.5 ? 'ok' : 'over'}`);
