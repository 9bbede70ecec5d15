/** lvs-lab up | status | exec | traffic | down. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Installation } from '../core/model.js';
import { normalize } from '../core/normalize.js';
import { parseAnswers } from '../core/parse/answers.js';
import { formatProblem, hasErrors, type Problem } from '../core/problems.js';
import { validate } from '../core/validate.js';
import { attachLab, startLab, type BackendKind, type Lab } from '../lab/backend.js';
import { LabError } from '../lab/errors.js';
import { EXAMPLES, EXAMPLE_NAMES, SEED_EXAMPLES } from '../lab/examples.js';
import { projectRoot } from '../lab/paths.js';
import { labDesign, type LabDesign } from '../lab/topology.js';
import { labTraffic, labUp, loadLabDesign, saveLabDesign } from '../lab/up.js';
import { parseArgv, UserError } from './common.js';
import { loadDesign } from './io.js';

/** LabError is the lab's; the user sees a message, a hint and the evidence, not a stack. */
export async function labErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LabError) {
      const [first, ...detail] = e.message.split('\n');
      throw new UserError(`${first}${detail.length ? `\n${detail.map((l) => `  | ${l}`).join('\n')}` : ''}`, e.hint, 1);
    }
    throw e;
  }
}

function loadDesignInput(file: string | undefined, example: string | undefined): { model: Installation; source: string } {
  if (example !== undefined) {
    if (example in EXAMPLES) {
      const n = normalize(EXAMPLES[example as keyof typeof EXAMPLES]);
      if (!n.ok) throw new Error(`built-in example ${example} is invalid: ${JSON.stringify(n.problems)}`);
      return { model: n.model, source: `example ${example}` };
    }
    const seedFile = SEED_EXAMPLES[example];
    if (!seedFile) throw new UserError(`no example named ${example}`, `examples: ${EXAMPLE_NAMES.join(', ')}`);
    const path = join(projectRoot(), 'fixtures', 'answers', seedFile);
    const r = parseAnswers(readFileSync(path, 'utf8'), { file: path });
    if (!r.ok) throw new Error(`seed example ${example} does not parse: ${r.problems.map(formatProblem).join('; ')}`);
    return { model: r.model, source: `example ${example}` };
  }
  if (file === undefined) throw new UserError('up needs a FILE or --example NAME', `examples: ${EXAMPLE_NAMES.join(', ')}`);
  const r = loadDesign(file, { consequence: 'no lab was started' });
  for (const p of r.warnings) process.stderr.write(`${formatProblem(p)}\n`);
  return { model: r.model, source: file };
}

function designOf(lab: Lab): LabDesign {
  const design = loadLabDesign(lab.stateDir);
  if (!design) throw new UserError('a lab is starting or was left half-built', 'wait for lvs-lab up to finish, or lvs-lab down', 1);
  return design;
}

function runningLab(): { lab: Lab; design: LabDesign } {
  const lab = attachLab();
  if (!lab) throw new UserError('no lab is running', 'start one: lvs-lab up --example dr', 1);
  return { lab, design: designOf(lab) };
}

/**
 * The lab shape of a design, or the reasons it has none (validation errors,
 * what the lab cannot model) printed and thrown. Returns validation warnings.
 */
export function labDesignFor(model: Installation, source: string): { design: LabDesign; warnings: Problem[] } {
  const problems = validate(model);
  if (hasErrors(problems)) {
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    throw new UserError(`${source} has errors; no lab was started`, 'lvs-wizard check shows them', 1);
  }
  const d = labDesign(model);
  if (!d.ok) {
    for (const p of d.problems) process.stderr.write(`${formatProblem(p)}\n`);
    throw new UserError(`the lab cannot model ${source}; no lab was started`, undefined, 1);
  }
  return { design: d.design, warnings: problems };
}

/**
 * Start a lab and bring `design` up in it (the apply engine puts the files
 * on the nodes). On failure the lab is removed — or, with keepOnFailure,
 * left up for inspection. Returns the running lab, still attached.
 */
export async function startDesignLab(design: LabDesign, opts: { backend?: BackendKind | 'auto'; say: (line: string) => void; keepOnFailure?: boolean }): Promise<Lab> {
  if (attachLab()) throw new UserError('a lab is already running', 'use it (lvs-lab status), or stop it first: lvs-lab down', 2);
  const boot = process.env.LVS_LAB_BOOT_TIMEOUT_MS ? Number(process.env.LVS_LAB_BOOT_TIMEOUT_MS) : undefined;
  const lab = await startLab({ backend: opts.backend ?? 'auto', onProgress: opts.say, ...(boot ? { vm: { readyTimeoutMs: boot } } : {}) });
  opts.say(`lab backend: ${lab.kind}`);
  try {
    await labUp(lab, design, { onProgress: opts.say });
    saveLabDesign(lab.stateDir, design);
  } catch (e) {
    if (opts.keepOnFailure) {
      saveLabDesign(lab.stateDir, design);
      await lab.detach();
      opts.say('the lab is left up for inspection (--keep-on-failure): lvs-lab status, lvs-lab exec NODE -- CMD, then lvs-lab down');
    } else {
      opts.say('bringing the lab down again: nothing is left behind');
      await lab.down().catch(() => undefined);
    }
    throw e;
  }
  return lab;
}

export async function labUpCommand(argv: string[]): Promise<number> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          example: { type: 'string' },
          backend: { type: 'string', default: 'auto' },
          json: { type: 'boolean', default: false },
          'keep-on-failure': { type: 'boolean', default: false },
        },
      }),
    'usage: lvs-lab up [FILE | --example NAME] [--backend auto|native|qemu]',
  );
  if (positionals.length > 1) throw new UserError('up takes one FILE');
  if (!['auto', 'native', 'qemu'].includes(values.backend!)) throw new UserError(`--backend ${values.backend}: use auto, native or qemu`);
  const { model, source } = loadDesignInput(positionals[0], values.example);
  const { design } = labDesignFor(model, source);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  return labErrors(async () => {
    const lab = await startDesignLab(design, { backend: values.backend as BackendKind | 'auto', say, keepOnFailure: values['keep-on-failure'] });
    await lab.detach();
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ backend: lab.kind, nodes: design.nodes, targets: design.targets, notes: design.notes }, null, 2)}\n`);
    } else {
      const lines = [`lab up (${lab.kind}) from ${source}:`];
      for (const n of design.nodes) lines.push(`  ${n.name.padEnd(10)} ${n.role.padEnd(15)} ${n.interfaces.map((f) => `${f.name} ${f.address}`).join(', ')}`);
      for (const t of design.targets) lines.push(`  ${t.service} answers on ${t.address}`);
      lines.push('next: lvs-lab traffic --count 20 | lvs-lab exec NODE -- CMD | lvs-lab down');
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  });
}

export async function labStatusCommand(argv: string[]): Promise<number> {
  const { values } = await parseArgv(() => parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } }), 'usage: lvs-lab status [--json]');
  const lab = attachLab();
  if (!lab) {
    process.stdout.write(values.json ? `${JSON.stringify({ running: false })}\n` : 'no lab is running\n');
    return 0;
  }
  const design = designOf(lab);
  return labErrors(async () => {
    const nodes: Array<{ name: string; role: string; addresses: string[]; ipvs?: string }> = [];
    for (const n of design.nodes) {
      const h = lab.node(n.name);
      const addr = await h.run(['ip', '-4', '-br', 'addr']);
      const ipvs = n.role === 'director' ? await h.run(['ipvsadm', '-Ln']) : undefined;
      const addresses = addr.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/))
        .flatMap(([ifname, , ...a]) => a.map((x) => `${ifname!.split('@')[0]} ${x}`));
      nodes.push({ name: n.name, role: n.role, addresses, ...(ipvs ? { ipvs: ipvs.stdout.trim() } : {}) });
    }
    const vips = design.targets.map((t) => {
      const ip = t.address.split(':')[0]!;
      return { target: t.address, service: t.service, heldBy: nodes.filter((n) => n.role !== 'real-server' && n.addresses.some((a) => a.split(' ')[1]!.startsWith(`${ip}/`))).map((n) => n.name) };
    });
    await lab.detach();
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ running: true, backend: lab.kind, nodes, vips }, null, 2)}\n`);
      return 0;
    }
    const out = [`lab running (${lab.kind})`];
    for (const n of nodes) {
      out.push(`${n.name} (${n.role}): ${n.addresses.join(', ')}`);
      if (n.ipvs) out.push(...n.ipvs.split('\n').map((l) => `    ${l}`));
    }
    for (const v of vips) out.push(`${v.service} ${v.target}: held by ${v.heldBy.join(', ') || 'nobody'}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  });
}

export async function labExecCommand(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const node = argv[0];
  const cmd = dash === -1 ? argv.slice(1) : argv.slice(dash + 1);
  if (!node || node === '--' || cmd.length === 0) throw new UserError('usage: lvs-lab exec NODE -- ARGV...', 'lvs-lab exec rs1 -- ip addr show lo');
  const lab = attachLab();
  if (!lab) throw new UserError('no lab is running', 'start one: lvs-lab up --example dr', 1);
  return labErrors(async () => {
    const names = await lab.nodes();
    if (!names.includes(node)) {
      await lab.detach();
      throw new UserError(`no node named ${node} in the lab`, `nodes: ${names.join(', ')}`, 2);
    }
    const r = await lab.node(node).run(cmd);
    await lab.detach();
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.exitCode;
  });
}

export async function labTrafficCommand(argv: string[]): Promise<number> {
  const { values } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        options: { count: { type: 'string', default: '20' }, interval: { type: 'string' }, json: { type: 'boolean', default: false } },
      }),
    'usage: lvs-lab traffic [--count N] [--interval S] [--json]',
  );
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new UserError(`--count ${values.count}: a whole number from 1 to 100000`);
  const interval = values.interval === undefined ? undefined : Number(values.interval);
  if (interval !== undefined && !(interval >= 0 && interval <= 60)) throw new UserError(`--interval ${values.interval}: seconds from 0 to 60`);
  const { lab, design } = runningLab();
  return labErrors(async () => {
    const report = await labTraffic(lab, design, count, interval !== undefined ? { intervalS: interval } : {});
    await lab.detach();
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      for (const v of report.vips) {
        const spread = Object.entries(v.byBackend)
          .map(([k, n]) => `${k}=${n}`)
          .join(' ');
        process.stdout.write(`${v.service} ${v.vip}: ${v.requests - v.failed}/${v.requests} answered (${spread || 'none'}), ${v.failed} failed, p50 ${v.latencyMs.p50} ms, max ${v.latencyMs.max} ms\n`);
      }
    }
    return report.vips.some((v) => v.failed > 0) ? 1 : 0;
  });
}

export async function labDownCommand(argv: string[]): Promise<number> {
  if (argv.length > 0) throw new UserError('down takes no arguments');
  const lab = attachLab();
  if (!lab) {
    process.stdout.write('no lab is running\n');
    return 0;
  }
  return labErrors(async () => {
    await lab.down();
    process.stdout.write('lab down: nodes, bridges, VM and state removed\n');
    return 0;
  });
}
