/**
 * Failover and health checks on the real kernel, with seed 000's timers and
 * with the `fast` profile: the master director dies (cable cut + SIGKILL of
 * keepalived) while the client sends a request every 100 ms; a real server's
 * HTTP server stops, then its cable is cut. The numbers go to
 * bench/lab-failover.mjs; here we assert what must happen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize } from '../../src/core/normalize.js';
import { parseAnswers } from '../../src/core/parse/answers.js';
import { startLab, type Lab } from '../../src/lab/backend.js';
import { EXAMPLES } from '../../src/lab/examples.js';
import { measureFailover, measureHealthCheck } from '../../src/lab/measure.js';
import { labDesign, type LabDesign } from '../../src/lab/topology.js';
import { labTraffic, labUp } from '../../src/lab/up.js';
import { ROOT } from '../helpers/fixtures.js';

const seedPath = join(ROOT, 'fixtures/answers/seed-000-dr-pair.yaml');
const configs = [
  { name: 'seed 000 timers (VRRPv2 advert 1 s, TCP_CHECK every 6 s)', model: () => parseAnswers(readFileSync(seedPath, 'utf8'), { file: seedPath }), rs: 'app2', other: 'app1', takeoverUnderS: 10, removalUnderS: 30 },
  { name: 'fast profile (VRRPv3 advert 0.1 s, HTTP check every 1 s)', model: () => normalize(EXAMPLES.dr), rs: 'rs2', other: 'rs1', takeoverUnderS: 3, removalUnderS: 6 },
];

for (const c of configs) {
  describe.sequential(c.name, () => {
    let lab: Lab;
    let design: LabDesign;
    beforeAll(async () => {
      const m = c.model();
      if (!m.ok) throw new Error(JSON.stringify(m.problems));
      const d = labDesign(m.model);
      if (!d.ok) throw new Error(JSON.stringify(d.problems));
      design = d.design;
      lab = await startLab({ stateDir: `/run/lvs-toolkit/test-failover-${process.pid}-${c.rs}` });
      await labUp(lab, design);
    }, 300_000);
    afterAll(async () => {
      await lab?.down();
    }, 120_000);

    it('a stopped HTTP server leaves the table, traffic goes to the other, and it returns after restart', async () => {
      const r = await measureHealthCheck(lab, design, c.rs, 'stop-http');
      expect(r.removalS).toBeGreaterThan(0);
      expect(r.removalS).toBeLessThan(c.removalUnderS);
      expect(r.reentryS).toBeGreaterThan(0);
      const t = await labTraffic(lab, design, 6);
      expect(t.vips[0]!.failed).toBe(0);
    }, 180_000);

    it('a cut cable takes the real server out and back', async () => {
      const r = await measureHealthCheck(lab, design, c.rs, 'cut-link');
      expect(r.removalS).toBeGreaterThan(0);
      expect(r.removalS).toBeLessThan(c.removalUnderS);
      expect(r.reentryS).toBeGreaterThan(0);
    }, 180_000);

    it('the backup takes the VIP over when the master dies, and the client is served again', async () => {
      const r = await measureFailover(lab, design, { probeS: 15 });
      expect(r.takeoverS).toBeGreaterThan(0);
      expect(r.takeoverS).toBeLessThan(c.takeoverUnderS);
      expect(r.servedAgainS).toBeLessThan(c.takeoverUnderS + 2);
      expect(r.requests).toBeGreaterThan(20);
    }, 180_000);
  });
}
