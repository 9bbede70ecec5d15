/**
 * The wizard's apply API on real files and the real keepalived -t, each node
 * a directory root with its commands run in a throw-away netns: plan and
 * diff, apply, "no changes" that touches nothing, a process stopped at each
 * checkpoint (the promise never goes on: what a kill -9 leaves on disk),
 * the next apply refusing, and rollback restoring the old bytes and modes.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint, VerifyResult } from '../../src/apply/execute.js';
import type { NodePlan } from '../../src/apply/plan.js';
import { TargetError } from '../../src/host/errors.js';
import { hostFor, setLabHosts } from '../../src/host/targets.js';
import {
  applyDesign,
  checkTargets,
  findInterruptedApplies,
  listApplies,
  planApply,
  rollbackApply,
  type ApplyContext,
  type ApplyEvent,
} from '../../src/wizard/apply-run.js';
import { loadAnswers } from '../helpers/fixtures.js';
import { withNetns } from '../helpers/netns.js';
import { RootedHost } from '../helpers/rooted-host.js';

const KA = '/etc/keepalived/keepalived.conf';
const m = loadAnswers('seed-000-dr-pair');
const TARGETS = { lb1: 'local', lb2: 'local', app1: 'local', app2: 'local', lxchost: 'local' };

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lvs-wizard-apply-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Directors' keepalived.conf only, one harmless reload to record (scripts and daemons need a real node: the lab tests them). */
function directorsOnly(plans: NodePlan[]): NodePlan[] {
  return plans
    .filter((p) => p.role === 'director')
    .map((p) => ({
      ...p,
      steps: [
        ...p.steps.filter((s) => s.kind === 'write-file' && s.path === KA),
        { kind: 'run' as const, node: p.node, argv: ['true'], why: 'reload keepalived (test)', onlyIfChanged: true, alsoAfterRollback: true },
        { kind: 'verify' as const, node: p.node, role: p.role, why: 'test' },
      ],
    }));
}

function ctx(ns: string, verify: (node: string) => VerifyResult = () => ({ ok: true, details: [] })): ApplyContext {
  const hosts = new Map<string, RootedHost>();
  return {
    stateDir: join(root, 'state'),
    hostFor: (_uri, node) => {
      if (!hosts.has(node)) hosts.set(node, new RootedHost(join(root, node), ns, node));
      return hosts.get(node)!;
    },
    adjustPlans: directorsOnly,
    verify: async (node) => verify(node),
  };
}

const live = (node: string) => join(root, node, KA);

/** An old config that is not even UTF-8, mode 0640: a restore must give these exact bytes and mode back. */
const OLD = Buffer.from([0x21, 0x20, 0x6f, 0x6c, 0x64, 0x20, 0xff, 0xfe, 0x0a]);
function seedOld(node: string): void {
  mkdirSync(join(root, node, 'etc/keepalived'), { recursive: true });
  writeFileSync(live(node), OLD);
  chmodSync(live(node), 0o640);
}

/** Start an apply that stops forever at `point` (nothing after it runs, as after SIGKILL); resolves when it got there. */
async function stopAt(c: ApplyContext, point: Checkpoint): Promise<void> {
  let reached!: () => void;
  const there = new Promise<void>((res) => (reached = res));
  void applyDesign(m, TARGETS, {
    ...c,
    onEvent: () => undefined,
    checkpoint: (p) => {
      if (p !== point) return;
      reached();
      return new Promise<void>(() => undefined);
    },
  });
  await there;
}

describe('planApply and applyDesign', () => {
  it('shows a diff, applies, and a second apply reports no changes and touches nothing', async () => {
    await withNetns(['eth0'], async (ns) => {
      const c = ctx(ns);
      seedOld('lb1');
      const diffs = await planApply(m, TARGETS, c);
      expect(diffs.map((d) => [d.node, d.files.map((f) => f.status)])).toEqual([
        ['lb1', ['changed']],
        ['lb2', ['new']],
      ]);
      expect(diffs[1]!.files[0]!.diff).toMatch(/^--- \/dev\/null\n\+\+\+ \/etc\/keepalived\/keepalived.conf \(after apply\)\n@@ -0,0 \+1,\d+ @@\n/);
      expect(diffs[1]!.commands).toEqual([['true']]);
      expect(existsSync(live('lb2'))).toBe(false);

      const events: ApplyEvent[] = [];
      const first = await applyDesign(m, TARGETS, { ...c, onEvent: (e) => events.push(e) });
      expect(first.ok, JSON.stringify(first.failure)).toBe(true);
      expect(first.changed).toEqual([
        { node: 'lb1', path: KA },
        { node: 'lb2', path: KA },
      ]);
      expect(first.undo).toBe(`lvs-wizard rollback --to ${first.stamp}`);
      expect(events.filter((e) => e.kind === 'written').map((e) => e.node)).toEqual(['lb1', 'lb2']);
      expect(readFileSync(live('lb1'), 'utf8')).toMatch(/state MASTER|priority 100/);
      expect(listApplies(join(root, 'state')).map((r) => r.status)).toEqual(['applied']);

      const mtimes = ['lb1', 'lb2'].map((n) => statSync(live(n)).mtimeMs);
      const journals = readdirSync(join(root, 'lb1/var/backups/lvs-toolkit'));
      const second = await applyDesign(m, TARGETS, { ...c, onEvent: (e) => events.push(e) });
      expect(second).toMatchObject({ ok: true, noChanges: true, changed: [], undo: '' });
      expect(['lb1', 'lb2'].map((n) => statSync(live(n)).mtimeMs)).toEqual(mtimes);
      expect(readdirSync(join(root, 'lb1/var/backups/lvs-toolkit'))).toEqual(journals);
      expect(listApplies(join(root, 'state'))).toHaveLength(1);

      // rollback puts the exact old bytes and mode back on lb1, and removes lb2's file it created.
      const rb = await rollbackApply({ stateDir: c.stateDir!, hostFor: c.hostFor! });
      expect(rb.ok, rb.problems.join('\n')).toBe(true);
      expect(rb.files).toEqual([
        { node: 'lb1', path: KA, action: 'restored' },
        { node: 'lb2', path: KA, action: 'removed' },
      ]);
      expect(rb.reloaded.map((r) => [r.node, r.argv])).toEqual([
        ['lb1', ['true']],
        ['lb2', ['true']],
      ]);
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(true);
      expect(statSync(live('lb1')).mode & 0o777).toBe(0o640);
      expect(existsSync(live('lb2'))).toBe(false);
      expect((await rollbackApply({ stateDir: c.stateDir!, hostFor: c.hostFor! })).problems).toEqual(['no apply to roll back: every apply recorded is already rolled back']);
    });
  });

  it('a failed verification puts every node back and records the apply as rolled back', async () => {
    await withNetns(['eth0'], async (ns) => {
      seedOld('lb1');
      const c = ctx(ns, (node) => (node === 'lb2' ? { ok: false, details: ['lb2: fail vrrp-advert: no adverts seen'] } : { ok: true, details: [] }));
      const r = await applyDesign(m, TARGETS, { ...c, onEvent: () => undefined });
      expect(r.ok).toBe(false);
      expect(r.failure).toMatchObject({ node: 'lb2', step: 'verify', output: 'lb2: fail vrrp-advert: no adverts seen' });
      expect(r.undo).toBe('');
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(true);
      expect(existsSync(live('lb2'))).toBe(false);
      expect(listApplies(join(root, 'state')).map((x) => x.status)).toEqual(['rolled-back']);
    });
  });

  it('a trace that gets no answer fails the apply and rolls back', async () => {
    await withNetns(['eth0'], async (ns) => {
      const c = ctx(ns);
      const events: ApplyEvent[] = [];
      const r = await applyDesign(m, TARGETS, { ...c, onEvent: (e) => events.push(e), trace: async () => ({ ok: false, detail: 'web 10.0.3.250:80: no answer' }) });
      expect(r.failure).toMatchObject({ step: 'trace', output: 'web 10.0.3.250:80: no answer' });
      expect(events).toContainEqual({ kind: 'traced', ok: false, detail: 'web 10.0.3.250:80: no answer' });
      expect(existsSync(live('lb1'))).toBe(false);
    });
  });

  it('refuses a design with errors and bad targets, naming them, before touching a node', async () => {
    const r = await applyDesign(m, { ...TARGETS, lb9: 'local', app2: 'ssh://h;x' }, { onEvent: () => undefined, stateDir: join(root, 'state') });
    expect(r.ok).toBe(false);
    expect(r.failure?.step).toBe('targets');
    expect(r.failure?.message).toContain('lb9 is not a node of the design (its nodes: lb1, lb2, app1, app2, lxchost)');
    expect(r.failure?.message).toContain('node app2: bad target "ssh://h;x"');
    const missing = await applyDesign(m, { lb1: 'local' }, { onEvent: () => undefined, stateDir: join(root, 'state') });
    expect(missing.failure?.message).toContain('no target for node lb2');
    expect(listApplies(join(root, 'state'))).toEqual([]);
  });
});

describe('an apply stopped at a checkpoint (what kill -9 leaves)', () => {
  it('between nodes: lb1 all new, lb2 all old; the next apply refuses; rollback restores the old bytes', async () => {
    await withNetns(['eth0'], async (ns) => {
      const c = ctx(ns);
      seedOld('lb1');
      seedOld('lb2');
      await stopAt(c, 'between-nodes');
      const designed = (await planApply(m, TARGETS, c)).map((d) => d.files[0]!.status);
      expect(designed).toEqual(['unchanged', 'changed']);
      expect(readFileSync(live('lb2')).equals(OLD)).toBe(true);

      const found = await findInterruptedApplies(m, TARGETS, c);
      expect(found).toHaveLength(1);
      expect(found[0]!.nodes).toEqual(['lb1', 'lb2']);
      const refused = await applyDesign(m, TARGETS, { ...c, onEvent: () => undefined });
      expect(refused.ok).toBe(false);
      expect(refused.failure?.step).toBe('interrupted');
      expect(refused.failure?.message).toContain(`lvs-wizard rollback --to ${found[0]!.stamp}`);
      expect(readFileSync(live('lb2')).equals(OLD)).toBe(true);

      const rb = await rollbackApply({ stateDir: c.stateDir!, hostFor: c.hostFor! });
      expect(rb).toMatchObject({ ok: true, stamp: found[0]!.stamp });
      expect(rb.files).toEqual([{ node: 'lb1', path: KA, action: 'restored' }]);
      expect(rb.reloaded).toEqual([]);
      for (const n of ['lb1', 'lb2']) {
        expect(readFileSync(live(n)).equals(OLD), n).toBe(true);
        expect(statSync(live(n)).mode & 0o777).toBe(0o640);
      }
      expect(await findInterruptedApplies(m, TARGETS, c)).toEqual([]);
    });
  });

  it('after the first backup: the live file is still the old one, and rollback leaves the same bytes', async () => {
    await withNetns(['eth0'], async (ns) => {
      const c = ctx(ns);
      seedOld('lb1');
      await stopAt(c, 'after-backup');
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(true);
      const rb = await rollbackApply({ stateDir: c.stateDir!, hostFor: c.hostFor! });
      expect(rb.files).toEqual([{ node: 'lb1', path: KA, action: 'restored' }]);
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(true);
    });
  });

  it('after the reloads: rollback restores and runs the recorded reloads again', async () => {
    await withNetns(['eth0'], async (ns) => {
      const c = ctx(ns);
      seedOld('lb1');
      await stopAt(c, 'after-reload');
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(false);
      const rb = await rollbackApply({ stateDir: c.stateDir!, hostFor: c.hostFor! });
      expect(rb.files.map((f) => [f.node, f.action])).toEqual([
        ['lb1', 'restored'],
        ['lb2', 'removed'],
      ]);
      expect(rb.reloaded.map((r) => r.node)).toEqual(['lb1', 'lb2']);
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(true);
      expect(existsSync(live('lb2'))).toBe(false);
    });
  });
});

describe('rollback of an apply this machine has no record of', () => {
  it('finds it on the nodes given as targets and restores it', async () => {
    await withNetns(['eth0'], async (ns) => {
      const c = ctx(ns);
      seedOld('lb1');
      await stopAt(c, 'between-nodes');
      const [found] = await findInterruptedApplies(m, TARGETS, c);
      rmSync(join(root, 'state'), { recursive: true, force: true });
      expect((await rollbackApply({ to: found!.stamp, stateDir: c.stateDir!, hostFor: c.hostFor! })).found).toBe(false);
      const rb = await rollbackApply({ to: found!.stamp, targets: TARGETS, stateDir: c.stateDir!, hostFor: c.hostFor! });
      expect(rb).toMatchObject({ ok: true, found: true, files: [{ node: 'lb1', path: KA, action: 'restored' }] });
      expect(readFileSync(live('lb1')).equals(OLD)).toBe(true);
      expect(await findInterruptedApplies(m, TARGETS, c)).toEqual([]);
    });
  });
});

describe('checkTargets', () => {
  it('says per node whether a command runs there, and what is wrong with a spec', async () => {
    await withNetns([], async (ns) => {
      const c = ctx(ns);
      const r = await checkTargets(m, { ...TARGETS, lxchost: 'docker:x', lb9: 'local' }, c);
      const by = Object.fromEntries(r.map((x) => [x.node, x]));
      expect(by.lb1).toMatchObject({ ok: true, uri: 'local' });
      expect(by.lb1!.detail).toMatch(/^reached test:lb1 \(/);
      expect(by.lxchost).toMatchObject({ ok: false });
      expect(by.lxchost!.detail).toContain('bad target "docker:x"');
      expect(by.lb9).toMatchObject({ ok: false, detail: 'lb9 is not a node of the design (its nodes: lb1, lb2, app1, app2, lxchost)' });
    });
  });

  it('a lab: target needs an attached lab, then is that lab node', async () => {
    expect(() => hostFor('lab:lb1')).toThrow(TargetError);
    expect(() => hostFor('lab:lb1')).toThrow(/no lab is attached/);
    expect(() => hostFor('lab:LB')).toThrow(/expected lab:NODE/);
    await withNetns([], async (ns) => {
      const h = new RootedHost(root, ns, 'lb1');
      setLabHosts(() => h);
      try {
        expect(hostFor('lab:lb1')).toBe(h);
        const r = await checkTargets(m, { ...TARGETS, lb1: 'lab:lb1' });
        expect(r.find((x) => x.node === 'lb1')).toMatchObject({ ok: true, uri: 'lab:lb1' });
      } finally {
        setLabHosts(undefined);
      }
    });
  });
});
