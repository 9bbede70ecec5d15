/**
 * `lvs-wizard apply FILE --targets TARGETS | --lab [--dry-run] [--yes]` and
 * `lvs-wizard rollback [--to STAMP] [--list]`: the apply half of the wizard
 * without the TUI. The plan is shown first; nothing changes without --yes or
 * a "yes" typed on a terminal.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Installation } from '../core/model.js';
import { formatProblem, hasErrors } from '../core/problems.js';
import { validate } from '../core/validate.js';
import { setLabHosts } from '../host/targets.js';
import { attachLab, type Lab } from '../lab/backend.js';
import type { LabDesign } from '../lab/topology.js';
import { fetchOnce, loadLabDesign, saveLabDesign } from '../lab/up.js';
import { applyDesign, findInterruptedApplies, interruptedMessage, killHookFromEnv, listApplies, planApply, rollbackApply, type ApplyEvent, type NodeDiff } from '../wizard/apply-run.js';
import { checkTargetSpec, labTargetSpec, parseTargetsText, type TargetSpec } from '../wizard/targets-file.js';
import { parseArgv, UserError } from './common.js';
import { loadDesign, readUserFile, targetErrors } from './io.js';
import { labDesignFor, labErrors, startDesignLab } from './lab-commands.js';

const APPLY_USAGE = 'usage: lvs-wizard apply FILE (--targets TARGETS | --lab) [--dry-run] [--yes]';
const ROLLBACK_USAGE = 'usage: lvs-wizard rollback [--to STAMP [--targets TARGETS | --lab]] [--list]';

const out = (s = '') => process.stdout.write(`${s}\n`);

/**
 * `--targets` is a file (YAML: `lb1: ssh://root@10.0.0.2`) when one exists
 * at that path, else inline `lb1=ssh://root@10.0.0.2,app1=lxd:app1`.
 */
export function readTargets(value: string): TargetSpec {
  const isFile = existsSync(value);
  const r = parseTargetsText(isFile ? readUserFile(value) : value, isFile ? value : '--targets');
  if (!r.ok) throw new UserError(r.problems.join('\n'), 'TARGETS is a YAML file of NODE: URI lines, or NODE=URI,NODE=URI');
  return r.targets;
}

/** Same nodes, roles, segments and addresses: the running lab can take this design without a restart. */
export function sameShape(a: LabDesign, b: LabDesign): boolean {
  const shape = (d: LabDesign) =>
    JSON.stringify({
      nodes: d.nodes.map((n) => ({ name: n.name, role: n.role, gateway: n.gateway ?? null, ifs: n.interfaces.map((f) => [f.name, f.segment, f.address]) })),
      segments: d.segments,
    });
  return shape(a) === shape(b);
}

/** What a lab shaped for another design is told (the design's own nodes are the caller's to add). */
export const otherShape = (running: LabDesign): string => `the running lab is shaped for another design (nodes ${running.nodes.map((n) => n.name).join(', ')})`;
export const OTHER_SHAPE_HINT = 'lvs-lab down, then lvs-wizard apply FILE --lab starts a lab for it';

/**
 * An apply on a running lab ends with a request through the VIP from the lab's client, and once
 * applied the lab records the design it now runs (lvs-lab traffic, lvs-doctor --lab read it).
 */
export function labApplyHooks(lab: Lab, running: LabDesign, design: LabDesign): { trace: () => Promise<{ ok: boolean; detail: string }>; onApplied: () => void } {
  return {
    trace: labTrace(lab, design),
    onApplied: () => saveLabDesign(lab.stateDir, { ...running, model: design.model, targets: design.targets, notes: design.notes }),
  };
}

/** Poll a request through each VIP from the lab's client until it answers (VRRP elects, checks pass), at most a minute. */
function labTrace(lab: Lab, design: LabDesign): () => Promise<{ ok: boolean; detail: string }> {
  return async () => {
    const client = lab.node('client');
    const said: string[] = [];
    for (const t of design.targets) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const got = await fetchOnce(client, t, 2);
        if (got.ok) {
          said.push(`${t.service} ${t.address}: answered by ${got.body} in ${got.ms} ms (from the lab's client)`);
          break;
        }
        if (Date.now() > deadline) return { ok: false, detail: `${t.service} ${t.address}: no answer from the lab's client for 60 s (${got.error || 'no output'})` };
        await new Promise((res) => setTimeout(res, 500));
      }
    }
    return { ok: true, detail: said.join('; ') };
  };
}

function shortArgv(argv: readonly string[]): string {
  if (argv[0] === 'sh' && argv[1] === '-s') return `the setup script (modules, sysctls, addresses, routes)${argv.length > 3 ? ` ${argv.slice(3).join(' ')}` : ''}`;
  const text = argv[0] === 'sh' && argv[1] === '-c' ? argv[2]! : argv.join(' ');
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

function printPlan(diffs: readonly NodeDiff[], targets: TargetSpec): void {
  for (const d of diffs) {
    const changes = d.files.filter((f) => f.status !== 'unchanged');
    out(`${d.node} (${targets[d.node]}): ${changes.length ? `${changes.length} file(s) to write` : 'no changes'}`);
    for (const f of d.files) {
      out(`  ${f.status.padEnd(9)} ${f.path}`);
      if (f.status === 'changed') for (const l of f.diff.trimEnd().split('\n')) out(`      ${l}`);
    }
    for (const c of d.commands) out(`  then run: ${shortArgv(c)}`);
  }
}

/** One line per event of the apply, for a log. */
export function eventText(e: ApplyEvent): string {
  switch (e.kind) {
    case 'node-start':
      return `${e.node}: checking files`;
    case 'unchanged':
      return `${e.node}: unchanged ${e.path}`;
    case 'validated':
      return `${e.node}: ${e.tool} accepts ${e.path}`;
    case 'written':
      return `${e.node}: wrote ${e.path}${e.backup ? ` (old one saved as ${e.backup})` : ' (new file)'}`;
    case 'ran':
      return `${e.node}: ${e.why}`;
    case 'skipped':
      return `${e.node}: skipped ${shortArgv(e.argv)} (${e.why})`;
    case 'verified':
      return `${e.node}: verified`;
    case 'failed':
      return `${e.node}: FAILED ${e.message}`;
    case 'rolled-back':
      return `${e.node}: put back ${e.path}`;
    case 'doctor':
      return `${e.node}: doctor: ${e.summary}`;
    case 'traced':
      return `request through the VIP: ${e.ok ? 'ok' : 'FAILED'}: ${e.detail}`;
  }
}

async function confirm(question: string): Promise<boolean> {
  const { default: Enquirer } = await import('enquirer');
  const answer = (await Enquirer.prompt({ type: 'confirm', name: 'ok', message: question, initial: false })) as { ok: boolean };
  return answer.ok;
}

export async function runApply(argv: string[]): Promise<number> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          targets: { type: 'string' },
          lab: { type: 'boolean', default: false },
          'dry-run': { type: 'boolean', default: false },
          yes: { type: 'boolean', short: 'y', default: false },
        },
      }),
    APPLY_USAGE,
  );
  if (positionals.length !== 1) throw new UserError('apply takes one FILE (answers or any importable config)', APPLY_USAGE);
  if (values.lab === (values.targets !== undefined)) throw new UserError('apply needs either --targets TARGETS or --lab', APPLY_USAGE);
  // A typo in the test hook must not turn into a real apply.
  await targetErrors(() => killHookFromEnv());
  const file = positionals[0]!;
  const loaded = loadDesign(file, { consequence: 'nothing was applied' });
  for (const p of loaded.warnings) process.stderr.write(`${formatProblem(p)}\n`);

  if (!values.lab) {
    const problems = validate(loaded.model);
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    if (hasErrors(problems)) throw new UserError(`${file} has errors; nothing was applied`, 'lvs-wizard check FILE explains each one', 1);
    const targets = readTargets(values.targets!);
    const bad = checkTargetSpec(loaded.model, targets);
    if (bad.length) throw new UserError(bad.map((p) => `targets: ${p.message}`).join('\n'), 'every node of the design needs a target: NODE=URI (local, ssh://root@ADDRESS, lxd:NAME, lxc:NAME, vz:CTID, netns:NAME)');
    return applyTo(loaded.model, targets, { dryRun: values['dry-run'], yes: values.yes });
  }

  const { design } = labDesignFor(loaded.model, file);
  return labErrors(async () => {
    let lab = attachLab();
    let running: LabDesign;
    let started = false;
    if (!lab) {
      if (values['dry-run']) throw new UserError('no lab is running to compare with', 'lvs-wizard apply FILE --lab (without --dry-run) starts one with the design');
      out(`no lab is running: starting one shaped for ${file} (the lab's bring-up applies the design with the same engine)`);
      lab = await startDesignLab(design, { say: (l) => out(`  ${l}`) });
      running = design;
      started = true;
    } else {
      const d = loadLabDesign(lab.stateDir);
      if (!d) throw new UserError('a lab is starting or was left half-built', 'wait for lvs-lab up to finish, or lvs-lab down', 1);
      if (!sameShape(d, design)) {
        await lab.detach();
        throw new UserError(`${otherShape(d)}; ${file} needs ${design.nodes.map((n) => n.name).join(', ')} with its own addresses`, OTHER_SHAPE_HINT, 1);
      }
      running = d;
    }
    const theLab = lab;
    setLabHosts((node) => theLab.node(node));
    try {
      // The VM agent connects on first use: one command first, so parallel work shares one connection.
      await theLab.root.run(['true'], { timeoutMs: 30_000 });
      if (started) out('the lab is up and answering; checking that the design on its nodes is the one asked for:');
      const code = await applyTo(design.model, labTargetSpec(design.model), {
        dryRun: values['dry-run'],
        yes: values.yes,
        ...labApplyHooks(theLab, running, design),
      });
      out('the lab keeps running: lvs-lab traffic | lvs-doctor --lab | lvs-lab down');
      return code;
    } finally {
      setLabHosts(undefined);
      await theLab.detach();
    }
  });
}

async function applyTo(
  model: Installation,
  targets: TargetSpec,
  opts: { dryRun: boolean; yes: boolean; trace?: () => Promise<{ ok: boolean; detail: string }>; onApplied?: () => void },
): Promise<number> {
  const interrupted = await targetErrors(() => findInterruptedApplies(model, targets), 1);
  if (interrupted.length > 0) throw new UserError(interruptedMessage(interrupted), 'lvs-wizard rollback --list shows the applies recorded here', 1);
  const diffs = await targetErrors(() => planApply(model, targets), 1);
  const changes = diffs.some((d) => d.files.some((f) => f.status !== 'unchanged'));
  if (!changes) {
    out('no changes: every file on every node is already as designed (nothing written, nothing reloaded)');
    return 0;
  }
  printPlan(diffs, targets);
  if (opts.dryRun) {
    out('--dry-run: nothing was changed');
    return 0;
  }
  if (!opts.yes) {
    if (!(process.stdin.isTTY && process.stdout.isTTY)) {
      process.stderr.write('lvs-wizard: this is the plan; nothing was changed. Add --yes to apply it (no terminal to ask on).\n');
      return 2;
    }
    if (!(await confirm('Apply this plan?'))) {
      out('nothing was changed');
      return 1;
    }
  }
  const outcome = await applyDesign(model, targets, { onEvent: (e) => out(`  ${eventText(e)}`), ...(opts.trace ? { trace: opts.trace } : {}) });
  if (outcome.noChanges) {
    out('no changes: every file on every node is already as designed (nothing written, nothing reloaded)');
    return 0;
  }
  if (!outcome.ok) {
    const f = outcome.failure!;
    out(`apply FAILED at ${f.step}${f.node !== '-' ? ` on ${f.node}` : ''}: ${f.message}`);
    if (f.output?.trim()) out(f.output.trim().replace(/^/gm, '    | '));
    if (outcome.interrupted.length === 0 && f.step !== 'targets' && f.step !== 'validate') {
      out(outcome.undo ? `the rollback did not finish: ${outcome.undo} tries again` : 'every node was put back as it was');
    }
    return 1;
  }
  opts.onApplied?.();
  const nodes = new Set(outcome.changed.map((c) => c.node));
  out(`applied: ${outcome.changed.length} file(s) on ${nodes.size} node(s) (${[...nodes].join(', ')}), stamp ${outcome.stamp}`);
  if (outcome.doctor.length) {
    out('the doctor noted (no failure):');
    for (const l of outcome.doctor) out(`  ${l}`);
  }
  for (const l of outcome.howToTest) out(`to test: ${l}`);
  out(`undo: ${outcome.undo}`);
  return 0;
}

export async function runRollback(argv: string[]): Promise<number> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: { to: { type: 'string' }, list: { type: 'boolean', default: false }, targets: { type: 'string' }, lab: { type: 'boolean', default: false } },
      }),
    ROLLBACK_USAGE,
  );
  if (positionals.length > 0) throw new UserError(`rollback takes no FILE (got ${positionals[0]})`, ROLLBACK_USAGE);
  if ((values.targets !== undefined || values.lab) && values.to === undefined) throw new UserError('--targets and --lab name where to look for an apply given with --to STAMP', ROLLBACK_USAGE);
  const records = listApplies();
  if (values.list) {
    if (records.length === 0) out('no applies recorded');
    for (const r of records) out(`${r.stamp}  ${r.status.padEnd(11)} ${r.design}: ${r.nodes.map((n) => `${n} (${r.targets[n]})`).join(', ')}`);
    return 0;
  }
  const record = values.to !== undefined ? records.find((r) => r.stamp === values.to) : [...records].reverse().find((r) => r.status !== 'rolled-back');
  const needsLab = values.lab || (record?.nodes.some((n) => record.targets[n]?.startsWith('lab:')) ?? false);
  const lab = needsLab ? attachLab() : undefined;
  if (needsLab && !lab) {
    throw new UserError(values.lab ? 'no lab is running' : `apply ${record!.stamp} was made on a lab, and no lab is running`, 'a lab that was taken down took its files with it: there is nothing to restore', 1);
  }
  let targets: TargetSpec | undefined;
  if (values.targets !== undefined) targets = readTargets(values.targets);
  else if (lab && values.lab) {
    const design = loadLabDesign(lab.stateDir);
    if (!design) throw new UserError('a lab is starting or was left half-built', 'wait for lvs-lab up to finish, or lvs-lab down', 1);
    targets = Object.fromEntries(design.nodes.filter((n) => n.role !== 'client').map((n) => [n.name, `lab:${n.name}`]));
  }
  if (lab) setLabHosts((node) => lab.node(node));
  try {
    const r = await labErrors(() => rollbackApply({ ...(values.to !== undefined ? { to: values.to } : {}), ...(targets ? { targets } : {}) }));
    if (!r.found) throw new UserError(r.problems.join('\n'), 'lvs-wizard rollback --list shows what is recorded', 1);
    out(`rollback of apply ${r.stamp}:`);
    const byNode = new Map<string, typeof r.files>();
    for (const f of r.files) byNode.set(f.node, [...(byNode.get(f.node) ?? []), f]);
    for (const [node, files] of byNode) {
      for (const f of files) {
        out(`  ${node}: ${f.action === 'restored' ? 'restored' : f.action === 'removed' ? 'removed (it did not exist before)' : 'untouched (it was never replaced)'} ${f.path}`);
      }
    }
    for (const x of r.reloaded) out(`  ${x.node}: ran again on the old files: ${shortArgv(x.argv)}${x.exitCode ? ` (exit ${x.exitCode})` : ''}`);
    for (const n of r.alreadyRolledBack) out(`  ${n}: already rolled back`);
    for (const p of r.problems) out(`  problem: ${p}`);
    out(r.ok ? `done: the files of ${r.stamp} are back as they were before it` : `incomplete: run lvs-wizard rollback --to ${r.stamp} again when the nodes above are reachable`);
    return r.ok ? 0 : 1;
  } finally {
    setLabHosts(undefined);
    await lab?.detach();
  }
}
