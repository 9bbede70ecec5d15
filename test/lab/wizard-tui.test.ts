/**
 * The interactive wizard in a real 80x24 terminal (tmux) sets up a DR
 * director pair on the lab's real IPVS kernel, as a newcomer would: Enter
 * through the defaults, one change (the scheduler, rr -> wrr), the review,
 * the targets checked on the running lab's nodes, the plan with its diff per
 * node, the apply with its progress, and the last screen: what changed, the
 * request sent through the VIP from the lab's client, the doctor, the undo.
 * Then the system, not the screen: the director's IPVS table schedules wrr and
 * `lvs-lab traffic` reaches both real servers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';
import { TmuxServer } from '../helpers/tmux.js';
import { LabCli } from './helpers.js';

const BIN = join(ROOT, 'dist', 'bin', 'lvs-wizard.js');
const LAB_MS = 600_000;

describe('lvs-wizard in an 80x24 terminal, against the lab', () => {
  const lab = new LabCli('wizard-tui');
  const server = new TmuxServer(`lvs-wizard-lab-${process.pid}`);
  let tmp: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lvs-wizard-lab-tui-'));
    lab.ok(['up', '--example', 'dr'], LAB_MS);
    server.start();
  }, LAB_MS);

  afterAll(() => {
    server.stop();
    lab.down();
    rmSync(tmp, { recursive: true, force: true });
  }, 180_000);

  it('Enter through the defaults, wrr, targets reached, plan, apply: the done screen and the lab agree', async () => {
    const t = server.terminal(80, 24, tmp, `LVS_LAB_STATE=${lab.state} LVS_WIZARD_STATE=${tmp}/state ${process.execPath} ${BIN} --lab`);
    try {
      await t.waitFor('step 1 of 13: What to balance');
      for (const step of ['step 2 of 13: Forwarding method', 'step 3 of 13: Platforms', 'step 4 of 13: Service', 'step 5 of 13: Directors', 'step 6 of 13: Real servers', 'step 7 of 13: Scheduler']) {
        t.keys('Enter');
        await t.waitFor(step);
      }
      t.keys('Right');
      expect(await t.waitFor('‹ wrr ›')).toContain('weighted round robin');
      t.keys('Enter');
      await t.waitFor('step 8 of 13: Health check');
      t.keys('Enter');
      const review = await t.waitFor('step 9 of 13: Review');
      expect(review).toContain('[DR, wrr]');
      expect(review).toContain('no warnings');
      t.keys('Enter');
      await t.waitFor('step 10 of 13: Targets');
      t.keys('Enter');
      const reached = await t.waitFor(/✓ reached lab:rs2/u, 120_000);
      for (const node of ['dir1', 'dir2', 'rs1', 'rs2']) expect(reached).toContain(`✓ reached lab:${node} (${node})`);
      expect(reached).not.toContain('✗');
      t.keys('Enter');
      await t.waitFor('step 11 of 13: Plan');
      const plan = await t.waitFor(/\[rs1\]\| rs2 \| dir1 \| dir2/, 120_000);
      expect(plan).toContain('Enter: apply');
      t.keys('Right', 'Right');
      const dir1 = await t.waitFor(/\[dir1\]/);
      expect(dir1).toContain('changed   /etc/keepalived/keepalived.conf');
      expect(dir1).toContain('+++ /etc/keepalived/keepalived.conf (after apply)');
      t.keys('Enter');
      await t.waitFor('step 12 of 13: Apply');
      const done = await t.waitFor('step 13 of 13: Done', LAB_MS - 60_000);
      expect(done).toContain('Applied and verified.');
      expect(done).toContain('dir1: /etc/keepalived/keepalived.conf');
      expect(done).toMatch(/request through the VIP: answered: web 10\.0\.0\.100:80: answered by rs[12]/);
      expect(done).toMatch(/undo: lvs-wizard rollback --to \S+/);
      t.keys('q');
    } finally {
      t.kill();
    }
    // What the system did: both directors schedule wrr, and both real servers answer through the VIP.
    for (const dir of ['dir1', 'dir2']) {
      const table = lab.exec(dir, ['ipvsadm', '-Ln', '-t', '10.0.0.100:80']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(/TCP\s+10\.0\.0\.100:80 wrr/);
    }
    const traffic = lab.traffic(20);
    const web = traffic.vips.find((v) => v.vip === '10.0.0.100:80');
    expect(web?.failed, JSON.stringify(traffic)).toBe(0);
    expect(Object.keys(web?.byBackend ?? {}).sort(), JSON.stringify(traffic)).toEqual(['rs1', 'rs2']);
  }, LAB_MS);
});
