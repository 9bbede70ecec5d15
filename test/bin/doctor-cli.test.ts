/**
 * The real lvs-doctor binary, spawned as a user would run it. This sandbox
 * is no director (no IPVS table, no keepalived.conf with services), so the
 * machine run checks it in whatever other roles it shows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/doctor/registry.js';
import { ROOT } from '../helpers/fixtures.js';
import { withNetns } from '../helpers/netns.js';

const BIN = join(ROOT, 'dist', 'bin', 'lvs-doctor.js');
let tmp: string;
let blocker: string;

function doctor(args: string[], nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, ...args], { encoding: 'utf8', cwd: tmp, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error('dist/ is missing: run npm run build (npm test does)');
  tmp = mkdtempSync(join(tmpdir(), 'lvs-doctor-cli-'));
  // A resolve hook that refuses ink, react and enquirer: DESIGN rule 8 says
  // the non-TTY paths must not load them.
  writeFileSync(
    join(tmp, 'hooks.mjs'),
    `export async function resolve(spec, ctx, next) {
  if (/^(ink|react|enquirer)(\\/|$)/.test(spec)) throw new Error('LAZY-RULE: ' + spec + ' was loaded');
  return next(spec, ctx);
}\n`,
  );
  writeFileSync(join(tmp, 'block.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(tmp, 'hooks.mjs')).href)});\n`);
  blocker = join(tmp, 'block.mjs');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface JsonReport {
  checks: Array<{ id: string; title: string; status: string; host: string; role: string; message: string; evidence: string[]; fix: unknown }>;
  summary: Record<'pass' | 'warn' | 'fail' | 'skip' | 'error', number>;
}

function assertShape(j: JsonReport): void {
  expect(Object.keys(j)).toEqual(['checks', 'summary']);
  for (const c of j.checks) {
    expect(Object.keys(c)).toEqual(['id', 'title', 'status', 'host', 'role', 'message', 'evidence', 'fix']);
    expect(['pass', 'warn', 'fail', 'skip', 'error']).toContain(c.status);
  }
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
  for (const c of j.checks) counts[c.status as keyof typeof counts]++;
  expect(j.summary).toEqual(counts);
}

describe('lvs-doctor', () => {
  it('--help documents the flags and the exit codes', () => {
    const r = doctor(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lvs-doctor — /);
    for (const flag of ['--json', '--list-checks', '--strict', '--fix', '--yes', '--record', '--bundle', '--lab', '--config', '--director']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toMatch(/0 {2}no failure\n {2}1 {2}at least one failure.*\n {2}2 {2}could not run/);
  });

  it('--list-checks --json lists every registered check and the reachability probe', () => {
    const r = doctor(['--list-checks', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ id: string; title: string; section: string }>;
    expect(list.map((c) => c.id)).toEqual(['host-reachable', ...CHECKS.map((c) => c.id)]);
    expect(doctor(['--list-checks']).stdout).toMatch(/^host-reachable +A {2}the doctor can run commands on the host$/m);
  });

  it('an unknown check id exits 2 and names the known ones', () => {
    const r = doctor(['no-such-check', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown check: no-such-check');
    expect(r.stderr).toContain('known checks: host-reachable');
    expect(r.stdout).toBe('');
  });

  it('--json on this machine prints valid JSON, its roles detected, exit code matching the findings', () => {
    const r = doctor(['--json']);
    const j = JSON.parse(r.stdout) as JsonReport;
    assertShape(j);
    expect(j.checks[0]).toMatchObject({ id: 'host-reachable', status: 'pass', host: hostname() });
    expect(new Set(j.checks.map((c) => c.host))).toEqual(new Set([hostname()]));
    for (const c of j.checks) expect(['client', 'real-server', 'container-host']).toContain(c.role);
    expect(r.code).toBe(j.summary.fail > 0 ? 1 : 0);
  });

  it('--json, --help, --list-checks and plain text never load ink, react or enquirer', () => {
    // The blocker works: loading ink under it fails with its message.
    const control = spawnSync(process.execPath, ['--import', blocker, '--input-type=module', '-e', "await import('ink')"], { encoding: 'utf8', cwd: ROOT });
    expect(control.status).not.toBe(0);
    expect(control.stderr).toContain('LAZY-RULE: ink was loaded');
    for (const args of [['--json'], ['--help'], ['--list-checks'], []]) {
      const r = doctor(args, ['--import', blocker]);
      expect(r.stderr, args.join(' ')).not.toContain('LAZY-RULE');
      expect([0, 1], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
    }
    expect(doctor([], ['--import', blocker]).stdout).toMatch(/^\d+ checks? on 1 host: \d+ pass, \d+ warn, \d+ fail/m);
  });

  it('--fix without a terminal refuses to run without --yes', () => {
    const r = doctor(['--fix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('add --yes');
  });

  it('checks a named netns target as a director; an unreachable one exits 2', async () => {
    await withNetns(['eth0'], async (ns) => {
      const rec = join(tmp, 'rec');
      const r = doctor(['--director', `netns:${ns}`, '--json', '--record', rec]);
      const j = JSON.parse(r.stdout) as JsonReport;
      assertShape(j);
      expect(j.checks[0]).toMatchObject({ id: 'host-reachable', status: 'pass', host: ns, role: 'director' });
      expect(r.code).toBe(j.summary.fail > 0 ? 1 : 0);
      const fixture = JSON.parse(readFileSync(join(rec, `${ns}.json`), 'utf8')) as { runs: Array<{ argv: string[] }> };
      expect(fixture.runs.map((x) => x.argv.join(' '))).toContain('uname -n');
    });
    const gone = doctor(['--director', 'netns:lvst-never-there', '--json']);
    expect(gone.code).toBe(2);
    const j = JSON.parse(gone.stdout) as JsonReport;
    expect(j.checks).toEqual([expect.objectContaining({ id: 'host-reachable', status: 'error', host: 'lvst-never-there' })]);
    expect(j.checks[0]!.evidence[0]).toMatch(/^uname -n exited \d+/);
  });

  it('a bad target URI or a missing lab is the user\'s error (exit 2)', () => {
    const bad = doctor(['--director', 'ftp://x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain('internal error');
    const lab = spawnSync(process.execPath, [BIN, '--lab', '--json'], { encoding: 'utf8', env: { ...process.env, LVS_LAB_STATE: join(tmp, 'no-lab') } });
    expect(lab.status).toBe(2);
    expect(lab.stderr).toContain('no lab is running');
  });
});

describe('lvs-doctor --host-of', () => {
  it('a malformed --host-of is a usage error (exit 2), no stack', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'lvs-doctor.js'), '--director', 'lxd:web1', '--host-of', 'lxd:web1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad --host-of "lxd:web1": expected CONTAINER=HOST/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
