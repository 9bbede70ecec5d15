/** The plan's diffs read like `diff -u`: checked against GNU diff on the same texts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/apply/diff.js';
import { LAB_NODE_PLAN, plan } from '../../src/apply/plan.js';
import { renderNodes } from '../../src/core/render/bundle.js';
import { labFileFilter } from '../../src/lab/up.js';
import { ALL_SEEDS, loadAnswers } from '../helpers/fixtures.js';
import { run } from '../helpers/netns.js';

/** The hunks of `diff -u` (headers dropped: they carry file names and times). */
function gnuHunks(a: string, b: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lvs-diff-'));
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    return run(['diff', '-u', join(dir, 'a'), join(dir, 'b')]).stdout.split('\n').slice(2).join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = (a: string, b: string) => unifiedDiff('/f', a, b).split('\n').slice(2).join('\n');

describe('unifiedDiff', () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
  it.each([
    ['one line replaced', lines(10).join('\n') + '\n', lines(10).map((l, i) => (i === 4 ? 'changed' : l)).join('\n') + '\n'],
    ['two changes far apart: two hunks', lines(30).join('\n') + '\n', lines(30).map((l, i) => (i === 2 || i === 25 ? `${l}!` : l)).join('\n') + '\n'],
    ['two changes near: one hunk', lines(30).join('\n') + '\n', lines(30).map((l, i) => (i === 10 || i === 15 ? `${l}!` : l)).join('\n') + '\n'],
    ['lines added at the end', lines(5).join('\n') + '\n', lines(8).join('\n') + '\n'],
    ['lines removed at the start', lines(8).join('\n') + '\n', lines(8).slice(3).join('\n') + '\n'],
  ])('%s: same hunks as diff -u', (_name, a, b) => {
    expect(ours(a, b)).toBe(gnuHunks(a, b));
  });

  it('the weight of a real server in a seed keepalived.conf', () => {
    const a = renderNodes(loadAnswers('seed-000-dr-pair'))[0]!.files[0]!.content;
    const b = a.replace('weight 10', 'weight 3');
    expect(ours(a, b)).toBe(gnuHunks(a, b));
  });

  it('a new file is all additions from /dev/null; equal texts give nothing', () => {
    expect(unifiedDiff('/etc/x', undefined, 'a\nb\n')).toBe('--- /dev/null\n+++ /etc/x (after apply)\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(unifiedDiff('/etc/x', 'a\n', 'a\n')).toBe('');
  });
});

describe('LAB_NODE_PLAN', () => {
  it.each(ALL_SEEDS)('%s: writes exactly the files lvs-lab up writes', (seed) => {
    const m = loadAnswers(seed);
    const paths = (p: ReturnType<typeof plan>) => p.map((n) => n.steps.flatMap((s) => (s.kind === 'write-file' ? [s.path] : [])));
    expect(paths(plan(m, LAB_NODE_PLAN))).toEqual(paths(plan(m, { serviceManager: 'direct', setupArgs: ['--boot'], fileFilter: labFileFilter })));
  });
});
