#!/usr/bin/env node
// The lab's engine room, measured in one run: image (cached, and cold with
// COLD=1), VM boot-to-ready, the round trip of one command through the guest
// agent (median of 50 `true`) against a bare local spawn of `true`, the same
// inside a lab node (nsenter), and streaming throughput of `cat` of a 10 MB
// file. Needs root and the compiled tree: `npm run build && node bench/lab-boot.mjs`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { ensureImage } = await import(join(root, 'dist/lab/image.js'));
const { labCacheDir } = await import(join(root, 'dist/lab/paths.js'));
const { startLab } = await import(join(root, 'dist/lab/backend.js'));

const N = Number(process.env.N ?? 50);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;
const quiet = () => undefined;

function localTrue() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn('true', [], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', () => resolve(performance.now() - t0));
  });
}

const rows = [];
if (process.env.COLD === '1') {
  // A cold image build into an empty cache; the .deb cache is shared so the
  // number is the build itself, not the mirror's bandwidth.
  const cold = mkdtempSync(join(tmpdir(), 'lvs-lab-cold-'));
  mkdirSync(join(labCacheDir(), 'debs'), { recursive: true });
  symlinkSync(join(labCacheDir(), 'debs'), join(cold, 'debs'));
  try {
    const img = await ensureImage({ cacheDir: cold, onProgress: quiet });
    rows.push(['image build, cold (debs cached)', `${(img.elapsedMs / 1000).toFixed(1)} s`]);
  } finally {
    rmSync(cold, { recursive: true, force: true });
  }
}
const image = await ensureImage({ onProgress: (l) => process.stderr.write(`${l}\n`) });
rows.push([image.cached ? 'image, cached' : 'image build (cache was empty)', image.cached ? ms(image.elapsedMs) : `${(image.elapsedMs / 1000).toFixed(1)} s`]);

const stateDir = mkdtempSync(join(tmpdir(), 'lvs-lab-bench-'));
const t0 = performance.now();
const lab = await startLab({ backend: 'qemu', image, stateDir });
try {
  rows.push([`boot to agent ready (${lab.vm.state.accel})`, `${((performance.now() - t0) / 1000).toFixed(2)} s`]);
  const agent = await lab.vm.agent();
  for (let i = 0; i < 5; i++) await lab.root.run(['true']);
  const remote = [];
  const local = [];
  for (let i = 0; i < N; i++) {
    let s = performance.now();
    const r = await lab.root.run(['true']);
    if (r.exitCode !== 0) throw new Error('true failed in the VM');
    remote.push(performance.now() - s);
    local.push(await localTrue());
  }
  const node = await lab.createNode('bench');
  const inNode = [];
  for (let i = 0; i < Math.min(N, 20); i++) {
    const s = performance.now();
    await node.run(['true']);
    inNode.push(performance.now() - s);
  }
  rows.push([`agent round trip of \`true\` (median of ${N})`, ms(median(remote))]);
  rows.push([`local spawn of \`true\` (median of ${N})`, ms(median(local))]);
  rows.push(['ratio agent / local', `${(median(remote) / median(local)).toFixed(1)}x`]);
  rows.push([`\`true\` in a lab node via nsenter (median of ${inNode.length})`, ms(median(inNode))]);

  const mk = await lab.root.run(['dd', 'if=/dev/urandom', 'of=/tmp/bench.bin', 'bs=1M', 'count=10']);
  if (mk.exitCode !== 0) throw new Error(mk.stderr);
  let s = performance.now();
  const h = lab.root.stream(['cat', '/tmp/bench.bin']);
  let bytes = 0;
  for await (const c of h.stdout) bytes += c.length;
  await h.done;
  let dt = (performance.now() - s) / 1000;
  rows.push([`stream \`cat\` of ${(bytes / 1048576).toFixed(0)} MB`, `${(bytes / 1048576 / dt).toFixed(1)} MB/s (${dt.toFixed(2)} s)`]);
  s = performance.now();
  const file = await agent.readFile('/tmp/bench.bin');
  dt = (performance.now() - s) / 1000;
  rows.push([`agent readFile of ${(file.length / 1048576).toFixed(0)} MB`, `${(file.length / 1048576 / dt).toFixed(1)} MB/s`]);
} finally {
  await lab.down();
  rmSync(stateDir, { recursive: true, force: true });
}
const w = Math.max(...rows.map(([k]) => k.length));
console.log('lvs-lab engine room (one run)');
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
