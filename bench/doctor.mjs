#!/usr/bin/env node
// The doctor's wall time (issue 4, Proof "bench/"): a full run on this
// machine (`lvs-doctor --json`, no active probes: nothing here holds a VIP to
// arping for), then a lab of the DR example: `lvs-doctor --lab --json` over
// every node in parallel, and each lab node alone, in-process, with the same
// runner and checks the CLI uses (the lab nodes are reachable only through
// the lab's VM agent, so there is no `--director` URI for them). Prints the
// seconds and the ratio parallel / slowest single host against the goals
// (local <= 1 s, parallel <= 2x the slowest host). The lab is brought down
// at the end, even on error. Needs root and the compiled tree:
// `npm run build && node bench/doctor.mjs`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STATE = process.env.LVS_LAB_STATE ?? '/run/lvs-toolkit/lab-bench-doctor';
const RUNS = Number(process.env.RUNS ?? 3);
const env = { ...process.env, LVS_LAB_STATE: STATE };
const bin = (name) => join(root, 'dist', 'bin', `${name}.js`);
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(argv, okCodes = [0, 1]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (!okCodes.includes(r.status ?? -1)) throw new Error(`${argv.map((a) => a.replace(root + '/', '')).join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { ms, stdout: r.stdout };
}

function summaryOf(stdout) {
  const j = JSON.parse(stdout);
  return `${j.checks.length} results (${Object.entries(j.summary).map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

if (!existsSync(bin('lvs-doctor'))) throw new Error('dist/ is missing: npm run build');

// 1. This machine alone.
const local = [];
let localOut = '';
for (let i = 0; i < RUNS; i++) {
  const r = timed([bin('lvs-doctor'), '--json']);
  local.push(r.ms);
  localOut = r.stdout;
}
const localMs = median(local);
console.log(`local node   lvs-doctor --json                 ${s(localMs)} (median of ${RUNS}; ${summaryOf(localOut)})  goal <= 1 s: ${localMs <= 1000 ? 'met' : 'MISSED'}`);

// 2. The lab.
let failed = false;
try {
  const up = performance.now();
  timed([bin('lvs-lab'), 'up', '--example', 'dr'], [0]);
  console.log(`lab up --example dr                            ${s(performance.now() - up)} (not part of the goal)`);

  const par = [];
  let parOut = '';
  for (let i = 0; i < RUNS; i++) {
    const r = timed([bin('lvs-doctor'), '--lab', '--json']);
    par.push(r.ms);
    parOut = r.stdout;
  }
  const parMs = median(par);
  console.log(`lab, all     lvs-doctor --lab --json           ${s(parMs)} (median of ${RUNS}; ${summaryOf(parOut)})`);

  // Each node alone, in-process: the CLI's own pieces (targets, reachability, checks, runner).
  const { attachLab } = await import(join(root, 'dist/lab/backend.js'));
  const { labTargets } = await import(join(root, 'dist/doctor/targets.js'));
  const { runChecks } = await import(join(root, 'dist/doctor/runner.js'));
  const { CHECKS } = await import(join(root, 'dist/doctor/registry.js'));
  const { REACHABLE } = await import(join(root, 'dist/doctor/reachable.js'));
  process.env.LVS_LAB_STATE = STATE;
  const lab = attachLab({ stateDir: STATE });
  if (!lab) throw new Error(`no lab at ${STATE}`);
  try {
    await lab.root.run(['true'], { timeoutMs: 30_000 });
    const design = JSON.parse(readFileSync(join(lab.stateDir, 'design.json'), 'utf8'));
    const all = labTargets(design, (n) => lab.node(n));
    // One full in-process run first, so every node's agent channel is warm.
    await runChecks(all, CHECKS);
    const single = [];
    for (const t of all) {
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        // As the CLI does: reachability, then the checks; alone, the node has no peers (the ARP probe skips).
        await runChecks([t], [REACHABLE]);
        await runChecks([t], CHECKS);
        times.push(performance.now() - t0);
      }
      single.push({ node: t.node, ms: median(times) });
    }
    for (const x of single) console.log(`lab, alone   ${x.node.padEnd(10)} (in-process runner)       ${s(x.ms)}`);
    const slowest = single.reduce((a, b) => (b.ms > a.ms ? b : a));
    const ratio = parMs / slowest.ms;
    console.log(`ratio        parallel / slowest single (${slowest.node})   ${ratio.toFixed(2)}x  goal <= 2x: ${ratio <= 2 ? 'met' : 'MISSED'}`);
    console.log('note         the parallel number includes node start-up and the VM agent connection of a fresh process; the single ones run in one warm process');
  } finally {
    await lab.detach();
  }
} catch (e) {
  failed = true;
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  const down = spawnSync(process.execPath, [bin('lvs-lab'), 'down'], { env, encoding: 'utf8' });
  if (down.status !== 0) {
    failed = true;
    console.error(`lvs-lab down exited ${down.status}: ${down.stderr}`);
  }
}
process.exitCode = failed ? 1 : 0;
