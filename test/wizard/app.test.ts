/**
 * The Ink wizard as a user drives it: keys in, frames out, from the first
 * screen to the plan for NAT, DR, TUN and layer 7. Frames are awaited by
 * content with a deadline (no sleeps). The effects hand back what the apply
 * side would (reachable nodes, a plan) and record what they were asked.
 */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { Installation } from '../../src/core/model.js';
import { renderNodes } from '../../src/core/render/bundle.js';
import { WizardApp, type WizardEffects } from '../../src/wizard/app.js';
import { initialState, type ApplyEvent, type TargetSpec } from '../../src/wizard/state.js';

const KEY = { enter: '\r', right: '\u001B[C', left: '\u001B[D', down: '\u001B[B', up: '\u001B[A', esc: '\u001B', backspace: '\u007F' };

/** What the apply side answers, computed from the design itself: every node reachable, every file new. */
function effects(calls: string[]): WizardEffects {
  return {
    discoverInterfaces: async () => [{ name: 'lo', address: '127.0.0.1/8' }, { name: 'ens3', address: '10.0.0.1/24' }],
    discoverServers: async () => [],
    checkTargets: async (_m: Installation, t: TargetSpec) => {
      calls.push(`check ${Object.values(t).join(' ')}`);
      return Object.entries(t).map(([node, uri]) => ({ node, uri, ok: true, detail: `${uri} answers` }));
    },
    planApply: async (m: Installation, t: TargetSpec) => {
      calls.push(`plan ${Object.keys(t).join(' ')}`);
      return renderNodes(m).map((n) => ({ node: n.node, files: n.files.map((f) => ({ path: f.path, status: 'new' as const, diff: f.content.split('\n').slice(0, 2).map((l) => `+${l}`).join('\n') })), commands: [] }));
    },
    applyDesign: async (_m: Installation, _t: TargetSpec, opts: { onEvent: (e: ApplyEvent) => void }) => {
      calls.push('apply');
      opts.onEvent({ kind: 'node-start', node: 'dir1' });
      opts.onEvent({ kind: 'written', node: 'dir1', path: '/etc/keepalived/keepalived.conf', backup: '/var/backups/lvs-toolkit/s/etc/keepalived/keepalived.conf' });
      opts.onEvent({ kind: 'doctor', node: 'dir1', summary: '12 pass' });
      return { ok: true, stamp: 's', changed: [{ node: 'dir1', path: '/etc/keepalived/keepalived.conf' }], doctor: ['dir1: 12 pass'], undo: 'lvs-wizard rollback --to s' };
    },
  };
}

function start(columns = 100, rows = 30) {
  const calls: string[] = [];
  const app = render(createElement(WizardApp, { initial: initialState({ lab: true }), effects: effects(calls), columns, rows }));
  const frame = () => app.lastFrame() ?? '';
  /** Poll the last frame until it contains `text` (or matches), failing with the frame after 5 s. */
  const waitFor = async (text: string | RegExp) => {
    const deadline = Date.now() + 5000;
    const ok = () => (typeof text === 'string' ? frame().includes(text) : text.test(frame()));
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`waited for ${String(text)}; the screen shows:\n${frame()}`);
      await new Promise((r) => setImmediate(r));
    }
    return frame();
  };
  const press = async (key: string, expectText: string | RegExp) => {
    app.stdin.write(key);
    return waitFor(expectText);
  };
  return { app, calls, frame, waitFor, press };
}

/** From the mode step (already chosen) through the defaults to the review. */
async function toReview(t: ReturnType<typeof start>) {
  await t.press(KEY.enter, 'step 3 of 13: Platforms');
  await t.press(KEY.enter, 'step 4 of 13: Service');
  await t.press(KEY.enter, 'step 5 of 13: Directors');
  await t.press(KEY.enter, 'step 6 of 13: Real servers');
  await t.press(KEY.enter, 'step 7 of 13: Scheduler');
  await t.press(KEY.enter, 'step 8 of 13: Health check');
  return t.press(KEY.enter, 'step 9 of 13: Review');
}

async function reviewToPlan(t: ReturnType<typeof start>, firstNode: string) {
  const targets = await t.press(KEY.enter, 'step 10 of 13: Targets');
  expect(targets).toContain(`lab:${firstNode}`);
  await t.press(KEY.enter, `✓ lab:${firstNode} answers`);
  await t.press(KEY.enter, 'step 11 of 13: Plan');
  return t.waitFor('new ');
}

describe('the wizard in a terminal (ink-testing-library)', () => {
  it('DR: the first screen, an invalid VIP shown at its field, the review tabs, targets and the plan', async () => {
    const t = start();
    const first = await t.waitFor('step 1 of 13: What to balance');
    expect(first).toContain('‹ l4 ›');
    const mode = await t.press(KEY.enter, 'step 2 of 13: Forwarding method');
    expect(mode).toContain('DR (direct routing)');
    expect(mode).toContain('client <------------------- server');
    await t.press(KEY.enter, 'step 3 of 13: Platforms');
    await t.press(KEY.enter, 'step 4 of 13: Service');
    await t.press(KEY.down, '> VIP');
    for (let i = 0; i < 3; i++) await t.press(KEY.backspace, `10.0.0.${'100'.slice(0, 2 - i)}_`);
    const bad = await t.press(KEY.enter, 'expected an IPv4 address');
    expect(bad).toContain('step 4 of 13: Service');
    await t.press('200', '10.0.0.200_');
    await t.press(KEY.enter, 'step 5 of 13: Directors');
    expect(t.frame()).toContain('Master priority');
    await t.press(KEY.enter, 'step 6 of 13: Real servers');
    await t.press(KEY.enter, 'step 7 of 13: Scheduler');
    expect(t.frame()).toContain('round robin: each real server in turn');
    await t.press(KEY.enter, 'step 8 of 13: Health check');
    const review = await t.press(KEY.enter, 'step 9 of 13: Review');
    expect(review).toContain('TCP 10.0.0.200:80');
    expect(review).toContain('replies: real server -> client directly');
    const tab = await t.press(KEY.right, '[dir1]');
    expect(tab).toContain('/etc/keepalived/keepalived.conf');
    const plan = await reviewToPlan(t, 'dir1');
    expect(plan).toContain('[dir1]');
    expect(t.calls).toEqual(['check lab:dir1 lab:dir2 lab:rs1 lab:rs2', 'plan dir1 dir2 rs1 rs2']);
    const done = await t.press(KEY.enter, 'step 13 of 13: Done');
    expect(done).toContain('Applied and verified.');
    expect(done).toContain('dir1: /etc/keepalived/keepalived.conf');
    expect(done).toContain('undo: lvs-wizard rollback --to s');
    expect(t.calls.at(-1)).toBe('apply');
    t.app.unmount();
  });

  it('NAT: chosen with Left at the mode step; the picture shows the gateway', async () => {
    const t = start();
    await t.waitFor('What to balance');
    await t.press(KEY.enter, 'Forwarding method');
    await t.press(KEY.left, 'NAT (masquerading)');
    const review = await toReview(t);
    expect(review).toContain("real servers' gateway: 10.0.1.1");
    await reviewToPlan(t, 'dir1');
    t.app.unmount();
  });

  it('TUN: chosen with Right; the servers need ipip', async () => {
    const t = start();
    await t.waitFor('What to balance');
    await t.press(KEY.enter, 'Forwarding method');
    await t.press(KEY.right, 'TUN (IP-in-IP)');
    const review = await toReview(t);
    expect(review).toContain('wraps each packet in IP-in-IP');
    await reviewToPlan(t, 'dir1');
    t.app.unmount();
  });

  it('layer 7: nginx, then back with Esc to HAProxy, without losing the way', async () => {
    const t = start();
    await t.waitFor('What to balance');
    await t.press(KEY.right, '‹ l7 ›');
    await t.press(KEY.enter, 'nginx (layer 7)');
    await t.press(KEY.esc, 'step 1 of 13');
    await t.press(KEY.enter, 'nginx (layer 7)');
    await t.press(KEY.right, 'HAProxy (layer 7)');
    const review = await toReview(t);
    expect(review).toContain('HAProxy terminates the connection');
    await reviewToPlan(t, 'lb1');
    t.app.unmount();
  });

  it('help me choose: four questions, a recommendation with its reason', async () => {
    const t = start();
    await t.waitFor('What to balance');
    await t.press(KEY.enter, 'Forwarding method');
    await t.press(KEY.right, '‹ tun ›');
    await t.press(KEY.right, '‹ help me choose ›');
    await t.press(KEY.enter, 'question 1 of 4');
    await t.press('n', 'question 2 of 4');
    await t.press('n', 'question 3 of 4');
    await t.press('y', 'question 4 of 4');
    const rec = await t.press('n', 'Recommended: TUN (IP-in-IP)');
    expect(rec).toContain('why: the servers are behind a router');
    await t.press(KEY.enter, '‹ tun ›');
    t.app.unmount();
  });

  it('80x24: no line is wider than the terminal on any step up to the plan', async () => {
    const t = start(80, 24);
    await t.waitFor('What to balance');
    const frames: string[] = [];
    const snap = () => frames.push(t.frame());
    snap();
    for (const title of ['Forwarding method', 'Platforms', 'Service', 'Directors', 'Real servers', 'Scheduler', 'Health check', 'Review']) {
      await t.press(KEY.enter, title);
      snap();
    }
    await t.press(KEY.right, '[dir1]');
    snap();
    await reviewToPlan(t, 'dir1');
    snap();
    for (const f of frames) {
      const lines = f.split('\n');
      expect(lines.length, f).toBeLessThanOrEqual(24);
      for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    }
    t.app.unmount();
  });
});
