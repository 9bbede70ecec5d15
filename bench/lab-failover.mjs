#!/usr/bin/env node
// Failover and health-check timings on the lab's real IPVS kernel, for seed
// 000's timers and for the `fast` profile, measured in one run; prints the
// four times for both and the ratio seed/fast. Goal: fast takeover <= 0.5 s,
// fast removal <= 1.5 s. Needs root; builds the lab image on first use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalize } from '../dist/core/normalize.js';
import { parseAnswers } from '../dist/core/parse/answers.js';
import { startLab } from '../dist/lab/backend.js';
import { EXAMPLES } from '../dist/lab/examples.js';
import { measureFailover, measureHealthCheck } from '../dist/lab/measure.js';
import { projectRoot } from '../dist/lab/paths.js';
import { labDesign } from '../dist/lab/topology.js';
import { labUp } from '../dist/lab/up.js';

const seedPath = join(projectRoot(), 'fixtures/answers/seed-000-dr-pair.yaml');
const configs = [
  { name: 'seed-000', model: parseAnswers(readFileSync(seedPath, 'utf8'), { file: seedPath }), rs: 'app2' },
  { name: 'fast', model: normalize(EXAMPLES.dr), rs: 'rs2' },
];

const results = {};
for (const c of configs) {
  if (!c.model.ok) throw new Error(`${c.name}: ${JSON.stringify(c.model.problems)}`);
  const d = labDesign(c.model.model);
  if (!d.ok) throw new Error(`${c.name}: ${JSON.stringify(d.problems)}`);
  const stateDir = `/run/lvs-toolkit/bench-${process.pid}-${c.name}`;
  const lab = await startLab({ stateDir });
  try {
    await labUp(lab, d.design);
    const stop = await measureHealthCheck(lab, d.design, c.rs, 'stop-http');
    const cut = await measureHealthCheck(lab, d.design, c.rs, 'cut-link');
    const fo = await measureFailover(lab, d.design, { probeS: 15 });
    results[c.name] = { takeover: fo.takeoverS, servedAgain: fo.servedAgainS, failed: `${fo.failedRequests}/${fo.requests}`, removalStop: stop.removalS, reentryStop: stop.reentryS, removalCut: cut.removalS, reentryCut: cut.reentryS };
  } finally {
    await lab.down();
  }
}

const s = results['seed-000'];
const f = results.fast;
const row = (label, key) => {
  const ratio = typeof s[key] === 'number' && f[key] > 0 ? `${(s[key] / f[key]).toFixed(1)}x` : '';
  console.log(`${label.padEnd(40)} ${String(s[key]).padStart(9)} ${String(f[key]).padStart(9)} ${ratio.padStart(8)}`);
};
console.log(`${''.padEnd(40)} ${'seed-000'.padStart(9)} ${'fast'.padStart(9)} ${'seed/fast'.padStart(8)}`);
row('VIP takeover after master crash (s)', 'takeover');
row('client served again (s)', 'servedAgain');
row('client requests failed (100 ms probe)', 'failed');
row('removal, HTTP server stopped (s)', 'removalStop');
row('re-entry after restart (s)', 'reentryStop');
row('removal, link cut (s)', 'removalCut');
row('re-entry after link up (s)', 'reentryCut');
console.log(`goal: fast takeover <= 0.5 s: ${f.takeover <= 0.5 ? 'met' : 'NOT met'} (${f.takeover} s); fast removal <= 1.5 s: ${Math.max(f.removalStop, f.removalCut) <= 1.5 ? 'met' : 'NOT met'} (${f.removalStop} / ${f.removalCut} s)`);
