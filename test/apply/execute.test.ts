/**
 * The apply engine on real files and real validators: a first apply writes
 * and validates with keepalived -t; an unchanged re-apply touches nothing; a
 * candidate the real tool rejects changes nothing; a failed verification
 * rolls every host back to exactly what it had.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execute, type ProgressEvent } from '../../src/apply/execute.js';
import { plan, type NodePlan } from '../../src/apply/plan.js';
import { loadAnswers } from '../helpers/fixtures.js';
import { withNetns } from '../helpers/netns.js';
import { RootedHost } from '../helpers/rooted-host.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lvs-apply-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Only the keepalived.conf of the directors: scripts and reloads need a real node (the lab tests them). */
function keepalivedOnly(plans: NodePlan[]): NodePlan[] {
  return plans
    .filter((p) => p.role === 'director')
    .map((p) => ({ ...p, steps: p.steps.filter((s) => s.kind === 'write-file' && s.path === '/etc/keepalived/keepalived.conf') }));
}

describe('execute', () => {
  it('writes, validates with keepalived -t, and reports no changes on a second run', async () => {
    await withNetns(['eth0'], async (ns) => {
      const m = loadAnswers('seed-000-dr-pair');
      const plans = keepalivedOnly(plan(m, { serviceManager: 'direct' }));
      const hosts = { lb1: new RootedHost(join(root, 'lb1'), ns, 'lb1'), lb2: new RootedHost(join(root, 'lb2'), ns, 'lb2') };
      const events: ProgressEvent[] = [];
      const first = await execute(plans, { hosts, backupRoot: '/var/backups/lvs-toolkit', onProgress: (e) => events.push(e) });
      expect(first.ok, JSON.stringify(first.failure)).toBe(true);
      expect(first.changed).toEqual([
        { node: 'lb1', path: '/etc/keepalived/keepalived.conf' },
        { node: 'lb2', path: '/etc/keepalived/keepalived.conf' },
      ]);
      expect(readFileSync(join(root, 'lb1/etc/keepalived/keepalived.conf'), 'utf8')).toMatch(/state MASTER/);
      expect(hosts.lb1.commands.some((c) => c[0] === 'keepalived' && c[1] === '-t')).toBe(true);

      const second = await execute(plans, { hosts, backupRoot: '/var/backups/lvs-toolkit' });
      expect(second.ok).toBe(true);
      expect(second.changed).toEqual([]);
    });
  });

  it('keeps the live file when the real tool rejects the candidate', async () => {
    await withNetns(['eth0'], async (ns) => {
      const m = loadAnswers('seed-000-dr-pair');
      const plans = keepalivedOnly(plan(m, { serviceManager: 'direct' }));
      const step = plans[0]!.steps[0]!;
      if (step.kind !== 'write-file') throw new Error('expected a write');
      step.content = step.content.replace('lb_algo rr', 'lb_algo bogus');
      const live = join(root, 'lb1/etc/keepalived/keepalived.conf');
      mkdirSync(join(root, 'lb1/etc/keepalived'), { recursive: true });
      writeFileSync(live, '# the running config\n');
      const hosts = { lb1: new RootedHost(join(root, 'lb1'), ns, 'lb1'), lb2: new RootedHost(join(root, 'lb2'), ns, 'lb2') };
      const r = await execute(plans, { hosts });
      expect(r.ok).toBe(false);
      expect(r.failure?.step).toBe('validate /etc/keepalived/keepalived.conf');
      expect(r.failure?.output).toMatch(/bogus/);
      expect(readFileSync(live, 'utf8')).toBe('# the running config\n');
      expect(existsSync(join(root, 'lb2/etc/keepalived/keepalived.conf'))).toBe(false);
    });
  });

  it('rolls every host back when verification fails on the last node', async () => {
    await withNetns(['eth0'], async (ns) => {
      const m = loadAnswers('seed-000-dr-pair');
      const plans = keepalivedOnly(plan(m, { serviceManager: 'direct' })).map((p) => ({
        ...p,
        steps: [...p.steps, { kind: 'verify' as const, node: p.node, role: p.role, why: 'test' }],
      }));
      mkdirSync(join(root, 'lb1/etc/keepalived'), { recursive: true });
      writeFileSync(join(root, 'lb1/etc/keepalived/keepalived.conf'), '# old lb1\n');
      const hosts = { lb1: new RootedHost(join(root, 'lb1'), ns, 'lb1'), lb2: new RootedHost(join(root, 'lb2'), ns, 'lb2') };
      const r = await execute(plans, {
        hosts,
        verify: async (node) => (node === 'lb2' ? { ok: false, details: ['VIP not answering'] } : { ok: true, details: ['fine'] }),
      });
      expect(r.ok).toBe(false);
      expect(r.rolledBack).toBe(true);
      expect(r.failure).toMatchObject({ node: 'lb2', step: 'verify', output: 'VIP not answering' });
      expect(readFileSync(join(root, 'lb1/etc/keepalived/keepalived.conf'), 'utf8')).toBe('# old lb1\n');
      expect(existsSync(join(root, 'lb2/etc/keepalived/keepalived.conf'))).toBe(false);
      const journal = JSON.parse(readFileSync(join(root, `lb1/var/backups/lvs-toolkit/${r.stamp}/journal.json`), 'utf8'));
      expect(journal.entries[0].path).toBe('/etc/keepalived/keepalived.conf');
    });
  });

  it('refuses to start when a node has no target', async () => {
    const m = loadAnswers('seed-000-dr-pair');
    const r = await execute(keepalivedOnly(plan(m, { serviceManager: 'direct' })), { hosts: {} });
    expect(r.ok).toBe(false);
    expect(r.failure?.message).toBe('no target for node lb1');
  });
});
