import { describe, expect, it } from 'vitest';
import type { Check, CheckContext } from '../../src/doctor/check.js';
import { hasFailure, runChecks, summarize, type RunnerEvent, type Target } from '../../src/doctor/runner.js';
import { LocalHost } from '../../src/host/local.js';

const host = new LocalHost();
const target = (node: string, role: Target['role'] = 'director'): Target => ({ node, role, host, platform: 'host', modes: ['dr'] });

function check(id: string, over: Partial<Check<unknown>> = {}): Check<unknown> {
  return {
    id,
    title: `title of ${id}`,
    section: 'A',
    sources: [],
    appliesTo: () => true,
    detect: async (_h, ctx) => ctx.node,
    evaluate: (obs) => [{ status: 'pass', message: `saw ${String(obs)}`, evidence: [String(obs)] }],
    ...over,
  };
}

describe('runChecks', () => {
  it('turns a throwing detect or evaluate into an error result and keeps going', async () => {
    const results = await runChecks(
      [target('dir1')],
      [
        check('boom', { detect: async () => Promise.reject(new Error('no such file /proc/net/ip_vs')) }),
        check('bad-eval', { evaluate: () => { throw new Error('cannot parse'); } }),
        check('fine'),
      ],
    );
    expect(results.map((r) => [r.id, r.status, r.message])).toEqual([
      ['boom', 'error', 'detect failed: no such file /proc/net/ip_vs'],
      ['bad-eval', 'error', 'evaluate failed: cannot parse'],
      ['fine', 'pass', 'saw dir1'],
    ]);
    expect(results[0]).toMatchObject({ host: 'dir1', role: 'director', title: 'title of boom', evidence: [] });
  });

  it('reports a detect that never returns as timed out', async () => {
    const never = check('hang', { detect: () => new Promise(() => undefined) });
    const results = await runChecks([target('rs1', 'real-server')], [never, check('fine')], { timeoutMs: 50 });
    expect(results[0]).toMatchObject({ id: 'hang', status: 'error', host: 'rs1' });
    expect(results[0]!.message).toMatch(/^timed out after/);
    expect(results[1]!.status).toBe('pass');
  });

  it('runs only the ids asked for, and only where appliesTo holds', async () => {
    const seen: CheckContext[] = [];
    const directorsOnly = check('dir-only', { appliesTo: (ctx) => ctx.role === 'director' });
    const spy = check('spy', { appliesTo: (ctx) => (seen.push(ctx), true) });
    const targets = [target('dir1'), target('rs1', 'real-server')];
    const all = await runChecks(targets, [directorsOnly, spy]);
    expect(all.map((r) => `${r.id}@${r.host}`)).toEqual(['dir-only@dir1', 'spy@dir1', 'spy@rs1']);
    expect(seen.find((c) => c.node === 'rs1')?.peers?.get('dir1')?.role).toBe('director');
    const only = await runChecks(targets, [directorsOnly, spy], { only: ['dir-only'] });
    expect(only.map((r) => `${r.id}@${r.host}`)).toEqual(['dir-only@dir1']);
  });

  it('keeps at most `concurrency` detects in flight and reports in target/check order', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = (id: string, ms: number) =>
      check(id, {
        detect: async (_h, ctx) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, ms));
          inFlight--;
          return ctx.node;
        },
      });
    const events: RunnerEvent[] = [];
    const targets = ['a', 'b', 'c', 'd'].map((n) => target(n));
    const results = await runChecks(targets, [slow('x', 30), slow('y', 5)], { concurrency: 3, onEvent: (e) => events.push(e) });
    expect(peak).toBe(3);
    expect(results.map((r) => `${r.id}@${r.host}`)).toEqual(['x@a', 'y@a', 'x@b', 'y@b', 'x@c', 'y@c', 'x@d', 'y@d']);
    expect(events[0]).toEqual({ kind: 'planned', jobs: results.map((r) => ({ id: r.id, node: r.host })) });
    expect(events.filter((e) => e.kind === 'finished')).toHaveLength(8);
  });

  it('summarizes and decides the exit: fail always, warn and error only under --strict', () => {
    const r = (status: 'pass' | 'warn' | 'error') => ({ id: 'x', title: 't', host: 'h', role: 'client' as const, status, message: '', evidence: [] });
    expect(summarize([r('pass'), r('warn'), r('warn')])).toEqual({ pass: 1, warn: 2, fail: 0, skip: 0, error: 0 });
    expect(hasFailure([r('pass'), r('warn')], false)).toBe(false);
    expect(hasFailure([r('pass'), r('warn')], true)).toBe(true);
    expect(hasFailure([r('error')], true)).toBe(true);
    expect(hasFailure([{ ...r('pass'), status: 'fail' }], false)).toBe(true);
  });
});
