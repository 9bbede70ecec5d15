/**
 * `lvs-wizard apply --lab` end to end, for each seed's system, on the real
 * IPVS kernel of the lab, through the built binaries as a user runs them:
 *
 *  - apply starts a lab shaped for the design; every real server answers
 *    through the VIP (`lvs-lab traffic`) and the doctor finds no failure;
 *  - applying the same design again says "no changes" and no file's mtime moves;
 *  - a changed design (one real server's weight) killed with SIGKILL at each
 *    checkpoint (LVS_WIZARD_KILL_AT, a test hook) leaves every node with all
 *    its old files or all its new ones (sha256 of each file); the next apply
 *    refuses and names the interrupted one; `lvs-wizard rollback` puts back
 *    byte-identical old files;
 *  - the changed design applied for real is verified (a request through the
 *    VIP, the doctor) and still reaches every real server; rollback undoes it.
 *
 * One lab per seed serves every case (a lab takes about a minute under TCG).
 * Set LVS_LAB_STATE to choose the lab's state dir (default: a temp dir).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../../src/apply/execute.js';
import { LAB_NODE_PLAN, plan } from '../../src/apply/plan.js';
import type { Installation } from '../../src/core/model.js';
import { labDesign } from '../../src/lab/topology.js';
import { ALL_SEEDS, ANSWERS_DIR, ROOT, toModel } from '../helpers/fixtures.js';

const BIN = (name: string) => join(ROOT, 'dist', 'bin', `${name}.js`);
const LAB_STATE = process.env.LVS_LAB_STATE ?? join(tmpdir(), `lvs-labtest-wizard-${process.pid}`);

interface Ran {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

function run(bin: string, args: string[], env: Record<string, string> = {}, timeoutMs = 600_000): Ran {
  // `lvs-lab exec` on a loaded TCG VM sometimes misses the agent's connect window (30 s): that read is tried again (twice at most).
  for (let i = 0; ; i++) {
    const r = runOnce(bin, args, env, timeoutMs);
    if (!(bin === 'lvs-lab' && (args[0] === 'exec' || args[0] === 'traffic' || args[0] === 'status') && i < 2 && r.stderr.includes('lab agent did not answer'))) return r;
  }
}

function runOnce(bin: string, args: string[], env: Record<string, string>, timeoutMs: number): Ran {
  const r = spawnSync(process.execPath, [BIN(bin), ...args], {
    encoding: 'utf8',
    env: { ...process.env, LVS_LAB_STATE: LAB_STATE, ...env },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status, signal: r.signal };
}

/** `lvs-lab ARGS --json`, parsed; what the tool said when it printed no JSON. */
function labJson<T>(args: string[]): T {
  const r = run('lvs-lab', [...args, '--json']);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`lvs-lab ${args.join(' ')} --json printed no JSON: ${said(r)}`);
  }
}

const said = (r: Ran) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The model as the lab runs it (containers as hosts, Piranha as keepalived), and the files each node gets. */
function labFiles(model: Installation): Map<string, Map<string, string>> {
  const d = labDesign(model);
  if (!d.ok) throw new Error(`no lab shape: ${JSON.stringify(d.problems)}`);
  const files = new Map<string, Map<string, string>>();
  for (const p of plan(d.design.model, LAB_NODE_PLAN)) {
    files.set(p.node, new Map(p.steps.flatMap((s) => (s.kind === 'write-file' ? [[s.path, s.content] as const] : []))));
  }
  return files;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** sha256 of each path on a lab node ("missing" for a file that is not there). */
function hashesOn(node: string, paths: string[]): Map<string, string> {
  const r = run('lvs-lab', ['exec', node, '--', 'sh', '-c', 'for f; do if [ -e "$f" ]; then sha256sum "$f"; else echo "missing $f"; fi; done', 'sh', ...paths]);
  if (r.code !== 0) throw new Error(`hashing on ${node}: ${said(r)}`);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [h, p] = l.split(/\s+/);
        return [p!, h!] as const;
      }),
  );
}

function mtimesOn(node: string, paths: string[]): string {
  const r = run('lvs-lab', ['exec', node, '--', 'stat', '-c', '%n %y', ...paths]);
  if (r.code !== 0) throw new Error(`stat on ${node}: ${said(r)}`);
  return r.stdout;
}

describe.each(ALL_SEEDS)('lvs-wizard apply --lab: %s', (seed) => {
  const answers = join(ANSWERS_DIR, `${seed}.yaml`);
  const raw = parseYaml(readFileSync(answers, 'utf8')) as { services: Array<{ realServers: Array<{ weight?: number }> }> };
  const oldFiles = labFiles(toModel(raw, seed));
  // The changed design: the first real server of the first service gets weight 3.
  const variantRaw = structuredClone(raw);
  variantRaw.services[0]!.realServers[0]!.weight = 3;
  const newFiles = labFiles(toModel(variantRaw, `${seed} variant`));
  let work = '';
  let variant = '';
  const env: Record<string, string> = {};
  const changedNodes = [...newFiles].filter(([node, files]) => [...files].some(([path, text]) => oldFiles.get(node)?.get(path) !== text)).map(([n]) => n);

  const allHashes = () => new Map([...newFiles].map(([node, files]) => [node, hashesOn(node, [...files.keys()])]));
  /** Per node: "same" when the change does not touch it, "old" / "new" when every file is the old / new one, else what is mixed. */
  const stateOf = (hashes: Map<string, Map<string, string>>) =>
    Object.fromEntries(
      [...newFiles].map(([node, files]) => {
        const got = hashes.get(node)!;
        const isOld = [...files.keys()].every((p) => got.get(p) === sha(oldFiles.get(node)!.get(p)!));
        const isNew = [...files].every(([p, text]) => got.get(p) === sha(text));
        return [node, isOld && isNew ? 'same' : isOld ? 'old' : isNew ? 'new' : `mixed: ${JSON.stringify(Object.fromEntries(got))}`];
      }),
    );

  /** Every node the change touches is `want`; the others are untouched. */
  const expectAll = (state: Record<string, string>, want: 'old' | 'new') =>
    expect(state).toEqual(Object.fromEntries([...newFiles.keys()].map((n) => [n, changedNodes.includes(n) ? want : 'same'])));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), `lvs-wizard-apply-${seed}-`));
    variant = join(work, 'variant.yaml');
    writeFileSync(variant, stringify(variantRaw));
    env.LVS_WIZARD_STATE = join(work, 'state');
    run('lvs-lab', ['down'], {}, 180_000);
  });
  afterAll(() => {
    run('lvs-lab', ['down'], {}, 180_000);
    rmSync(work, { recursive: true, force: true });
  });

  it('starts a lab for the design; every real server answers through the VIP and the doctor finds no failure', () => {
    const r = run('lvs-wizard', ['apply', answers, '--lab', '--yes'], env);
    expect(r.code, said(r)).toBe(0);
    const design = JSON.parse(readFileSync(join(LAB_STATE, 'design.json'), 'utf8')) as { model: Installation };
    const report = labJson<{ vips: Array<{ vip: string; service: string; failed: number; byBackend: Record<string, number> }> }>(['traffic', '--count', '12']);
    const status = labJson<{ nodes: Array<{ name: string; ipvs?: string }> }>(['status']);
    const ipvs = status.nodes.map((n) => n.ipvs ?? '').join('\n');
    for (const v of report.vips) {
      expect(v.failed, `${v.vip}: ${JSON.stringify(report)}`).toBe(0);
      const svc = design.model.services.find((s) => s.name === v.service)!;
      const serving = svc.realServers.filter((x) => x.weight > 0);
      if (svc.persistence) {
        // Persistence pins our one client to one real server (that is its job): every real server must be in the IPVS table instead.
        expect(Object.keys(v.byBackend), v.vip).toHaveLength(1);
        for (const x of serving) expect(ipvs, `${x.name} in the IPVS table`).toMatch(new RegExp(`-> ${x.address.replace(/\./g, '\\.')}:\\d+\\s+(Route|Masq|Tunnel)\\s+${x.weight}\\b`));
      } else {
        expect(Object.keys(v.byBackend).sort(), v.vip).toEqual(serving.map((x) => x.name).sort());
      }
    }
    const doc = run('lvs-doctor', ['--lab', '--json']);
    const checks = (JSON.parse(doc.stdout) as { checks: Array<{ status: string; host: string; id: string; message: string }> }).checks;
    expect(checks.filter((c) => c.status === 'fail').map((c) => `${c.host} ${c.id}: ${c.message}`)).toEqual([]);
  });

  it('applying the same design again changes nothing: "no changes", no mtime moves', () => {
    const before = [...oldFiles].map(([node, files]) => mtimesOn(node, [...files.keys()])).join('');
    const r = run('lvs-wizard', ['apply', answers, '--lab', '--yes'], env);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toContain('no changes');
    expect([...oldFiles].map(([node, files]) => mtimesOn(node, [...files.keys()])).join('')).toBe(before);
  });

  it.each(CHECKPOINTS)('killed at %s: every node all old or all new; the next apply refuses; rollback restores the old bytes', (point) => {
    if (point === 'between-nodes' && changedNodes.length < 2) {
      // One node changes: there is no "between two nodes"; the apply runs through. Undo it for the next case.
      const r = run('lvs-wizard', ['apply', variant, '--lab', '--yes'], { ...env, LVS_WIZARD_KILL_AT: point });
      expect(r.code, said(r)).toBe(0);
      expect(run('lvs-wizard', ['rollback'], env).code).toBe(0);
      return;
    }
    const r = run('lvs-wizard', ['apply', variant, '--lab', '--yes'], { ...env, LVS_WIZARD_KILL_AT: point });
    expect(r.signal, said(r)).toBe('SIGKILL');
    const after = stateOf(allHashes());
    for (const [node, s] of Object.entries(after)) expect(['old', 'new', 'same'], `${node} after a kill at ${point}: ${s}`).toContain(s);
    if (point === 'after-backup') for (const n of changedNodes) expect(after[n], n).toBe('old');
    if (point === 'between-nodes') expect(new Set(changedNodes.map((n) => after[n]))).toEqual(new Set(['old', 'new']));
    if (point === 'after-reload') for (const n of changedNodes) expect(after[n], n).toBe('new');

    const again = run('lvs-wizard', ['apply', variant, '--lab', '--yes'], env);
    expect(again.code, said(again)).toBe(1);
    expect(again.stderr).toMatch(/an earlier apply did not finish: \S+ \(on .+\).*lvs-wizard rollback --to/s);

    const rb = run('lvs-wizard', ['rollback'], env);
    expect(rb.code, said(rb)).toBe(0);
    expect(rb.stdout).toMatch(/rollback of apply \S+:/);
    expectAll(stateOf(allHashes()), 'old');
  });

  it('the changed design applies, verified by a request through the VIP and the doctor; rollback undoes it', () => {
    const r = run('lvs-wizard', ['apply', variant, '--lab', '--yes'], env);
    expect(r.code, said(r)).toBe(0);
    expect(r.stdout).toMatch(/request through the VIP: ok/);
    expect(r.stdout).toMatch(/applied: \d+ file\(s\) on \d+ node\(s\)/);
    expectAll(stateOf(allHashes()), 'new');
    const t = labJson<{ vips: Array<{ failed: number; byBackend: Record<string, number> }> }>(['traffic', '--count', '12']);
    for (const v of t.vips) expect(v.failed, JSON.stringify(v)).toBe(0);
    const rb = run('lvs-wizard', ['rollback'], env);
    expect(rb.code, said(rb)).toBe(0);
    expectAll(stateOf(allHashes()), 'old');
  });
});
