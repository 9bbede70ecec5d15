/**
 * `lvs-wizard apply` and `rollback` as a user runs them, on the paths that
 * change nothing: target specs with mistakes (named), the plan shown without
 * a terminal (exit 2, "add --yes"), --dry-run, the test hook refusing a typo,
 * and rollback with nothing recorded. The applies themselves are proven in
 * test/wizard/apply-run.test.ts and on the lab (test/lab/wizard-apply.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';
import { withNetns } from '../helpers/netns.js';

const BIN = join(ROOT, 'dist', 'bin', 'lvs-wizard.js');
const SEED = join(ROOT, 'fixtures', 'answers', 'seed-003-nginx-lxd.yaml');
let tmp: string;

function wizard(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: { ...process.env, LVS_WIZARD_STATE: join(tmp, 'state'), ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error('dist/ is missing: run npm run build');
  tmp = mkdtempSync(join(tmpdir(), 'lvs-wizard-apply-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ALL = (uri: string) => ['web4', 'web1', 'web2', 'web3', 'cicada'].map((n) => `${n}=${uri}`).join(',');

describe('lvs-wizard apply: target specs', () => {
  it('names an unknown node, a missing node and a bad URI, and touches nothing (exit 2)', () => {
    const r = wizard(['apply', SEED, '--targets', 'web4=local,web9=local,web1=docker:x,web2=local,web3=local']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('targets: web9 is not a node of the design (its nodes: web4, web1, web2, web3, cicada)');
    expect(r.stderr).toContain('targets: no target for node cicada (add cicada=URI');
    expect(r.stderr).toContain('targets: node web1: bad target "docker:x"');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(existsSync(join(tmp, 'state'))).toBe(false);
  });

  it('reads a YAML targets file and says where it is broken', () => {
    const file = join(tmp, 'targets.yaml');
    writeFileSync(file, 'web4: local\nweb1: [oops\n');
    const r = wizard(['apply', SEED, '--targets', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  });

  it('needs exactly one of --targets and --lab', () => {
    const r = wizard(['apply', SEED]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('apply needs either --targets TARGETS or --lab');
  });

  it('refuses a test hook it does not know instead of applying', () => {
    const r = wizard(['apply', SEED, '--targets', ALL('local'), '--yes'], { LVS_WIZARD_KILL_AT: 'half-way' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('LVS_WIZARD_KILL_AT=half-way: not a checkpoint');
  });
});

describe('lvs-wizard apply: the plan without a terminal', () => {
  it('shows each node\'s files and commands, then exits 2 asking for --yes; --dry-run exits 0', async () => {
    await withNetns([], async (ns) => {
      // netns: targets read this machine's files (a netns shares them); nothing is written.
      const r = wizard(['apply', SEED, '--targets', ALL(`netns:${ns}`)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toMatch(new RegExp(`^web4 \\(netns:${ns}\\): \\d+ file\\(s\\) to write`, 'm'));
      expect(r.stdout).toMatch(/^ {2}(new|changed) +\/etc\/nginx\/conf\.d\/lvs-toolkit\.conf$/m);
      expect(r.stdout).toMatch(/^ {2}then run: the setup script/m);
      expect(r.stderr).toContain('this is the plan; nothing was changed. Add --yes to apply it');
      const d = wizard(['apply', SEED, '--targets', ALL(`netns:${ns}`), '--dry-run']);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toContain('--dry-run: nothing was changed');
      expect(existsSync(join(tmp, 'state')) ? readdirSync(join(tmp, 'state')) : []).toEqual([]);
    });
  });
});

describe('lvs-wizard rollback', () => {
  it('with nothing recorded says so (exit 1); --list says none', () => {
    const r = wizard(['rollback']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no apply to roll back: none is recorded in');
    const t = wizard(['rollback', '--to', '2024-01-01T00-00-00-000Z']);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('no apply 2024-01-01T00-00-00-000Z is recorded');
    expect(wizard(['rollback', '--list']).stdout).toBe('no applies recorded\n');
  });

  it('is in --help with apply', () => {
    const h = wizard(['--help']).stdout;
    expect(h).toContain('lvs-wizard apply FILE --targets TARGETS [--dry-run] [--yes]');
    expect(h).toContain('lvs-wizard rollback [--to STAMP [--targets TARGETS | --lab]] [--list]');
  });
});
