/** lvs-wizard import | generate | check: the non-interactive commands of the foundation. */
import { mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { FORMATS, importConfig, type Format } from '../core/import.js';
import type { Installation } from '../core/model.js';
import { formatProblem, hasErrors, type Problem } from '../core/problems.js';
import { renderAnswers } from '../core/render/answers.js';
import { renderNodes } from '../core/render/bundle.js';
import { renderHaproxy } from '../core/render/haproxy.js';
import { renderIpvsadm } from '../core/render/ipvsadm.js';
import { renderKeepalived } from '../core/render/keepalived.js';
import { renderLdirectord } from '../core/render/ldirectord.js';
import { renderLvsCf } from '../core/render/lvs-cf.js';
import { renderNginx } from '../core/render/nginx.js';
import { validate } from '../core/validate.js';
import { parseArgv, UserError } from './common.js';
import { loadDesign, readUserFile, resolveInclude } from './io.js';

function asFormat(value: string | undefined, flag: string): Format | undefined {
  if (value === undefined) return undefined;
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UserError(`${flag} ${value}: unknown format`, `one of: ${FORMATS.join(', ')}`);
}

function readInput(file: string): { text: string; name: string } {
  if (file === '-') return { text: readFileSync(0, 'utf8'), name: '<stdin>' };
  return { text: readUserFile(file), name: file };
}

function printProblems(problems: readonly Problem[]): void {
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
}

function directorFor(m: Installation, name: string | undefined): string {
  if (name !== undefined) {
    if (!m.directors.some((d) => d.name === name)) {
      throw new UserError(`no director named ${name}`, `directors: ${m.directors.map((d) => d.name).join(', ') || '(none)'}`);
    }
    return name;
  }
  const first = m.directors[0];
  if (!first) throw new UserError('this design has no director to write the file for');
  return first.name;
}

export function renderAs(m: Installation, to: Format, director: string | undefined, source: string): string {
  switch (to) {
    case 'yaml':
      return renderAnswers(m, `imported from ${source}`);
    case 'keepalived':
      return renderKeepalived(m, directorFor(m, director));
    case 'lvs.cf':
      return renderLvsCf(m);
    case 'ipvsadm':
      return renderIpvsadm(m);
    case 'ldirectord':
      return renderLdirectord(m);
    case 'nginx':
      return renderNginx(m, directorFor(m, director));
    case 'haproxy':
      return renderHaproxy(m, directorFor(m, director));
  }
}

export async function runImport(argv: string[]): Promise<number> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          from: { type: 'string' },
          to: { type: 'string', default: 'yaml' },
          director: { type: 'string' },
          out: { type: 'string', short: 'o' },
        },
      }),
    'usage: lvs-wizard import FILE [--from FORMAT] [--to FORMAT] [--director NAME] [-o OUT]',
  );
  if (positionals.length !== 1) throw new UserError('import takes one FILE (or - for standard input)', 'lvs-wizard import /etc/keepalived/keepalived.conf');
  const from = asFormat(values.from, '--from');
  const to = asFormat(values.to, '--to') ?? 'yaml';
  const { model, format, warnings } = loadDesign(positionals[0]!, { ...(from ? { from } : {}), consequence: 'nothing was imported' });
  printProblems(warnings);
  printProblems(validate(model));
  const text = renderAs(model, to, values.director, `${positionals[0]} (${format})`);
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}

export async function runCheck(argv: string[]): Promise<number> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: { from: { type: 'string' }, strict: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      }),
    'usage: lvs-wizard check FILE [--from FORMAT] [--strict] [--json]',
  );
  if (positionals.length !== 1) throw new UserError('check takes one FILE', 'lvs-wizard check answers.yaml');
  const { text, name } = readInput(positionals[0]!);
  const from = asFormat(values.from, '--from');
  const r = importConfig(text, { file: name, resolveInclude, ...(from ? { format: from } : {}) });
  const problems = r.ok ? [...r.warnings, ...validate(r.model)] : r.problems;
  const failed = !r.ok || hasErrors(problems) || (values.strict && problems.length > 0);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ file: name, format: r.format ?? null, ok: !failed, problems }, null, 2)}\n`);
  } else {
    for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.length - errors;
    process.stdout.write(`${name}: ${r.format ?? 'unknown format'}, ${errors} error(s), ${warnings} warning(s)${failed ? '' : ' — ok'}\n`);
  }
  return failed ? 1 : 0;
}

export async function runGenerate(argv: string[]): Promise<number> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: { out: { type: 'string', short: 'o' }, from: { type: 'string' }, force: { type: 'boolean', default: false } },
      }),
    'usage: lvs-wizard generate ANSWERS --out DIR [--force]',
  );
  if (positionals.length !== 1) throw new UserError('generate takes one ANSWERS file', 'lvs-wizard generate answers.yaml --out ./out');
  if (!values.out) throw new UserError('generate needs --out DIR', 'lvs-wizard generate answers.yaml --out ./out');
  const from = asFormat(values.from, '--from');
  const { model, warnings } = loadDesign(positionals[0]!, { ...(from ? { from } : {}), consequence: 'nothing was written' });
  const problems = [...warnings, ...validate(model)];
  printProblems(problems);
  if (hasErrors(problems)) {
    throw new UserError(`the design has ${problems.filter((p) => p.severity === 'error').length} error(s); nothing was written`, 'fix them, then run generate again (lvs-wizard check shows them)', 1);
  }
  const nodes = renderNodes(model);
  const planned: Array<{ dest: string; content: string; mode: number }> = [];
  for (const n of nodes) {
    for (const f of n.files) planned.push({ dest: join(values.out, n.node, f.path), content: f.content, mode: f.mode });
    planned.push({ dest: join(values.out, n.node, 'setup.sh'), content: n.script, mode: 0o755 });
  }
  const clobbered = planned.filter((p) => existsSync(p.dest) && readFileSync(p.dest, 'utf8') !== p.content);
  if (clobbered.length > 0 && !values.force) {
    throw new UserError(
      `${clobbered.length} file(s) under ${values.out} differ from what would be written, e.g. ${clobbered[0]!.dest}; nothing was written`,
      'use another --out, or --force to overwrite',
    );
  }
  for (const p of planned) {
    mkdirSync(dirname(p.dest), { recursive: true });
    writeFileSync(p.dest, p.content);
    chmodSync(p.dest, p.mode);
  }
  const lines: string[] = [];
  for (const n of nodes) {
    lines.push(`${n.node} (${n.role}):`);
    for (const f of n.files) lines.push(`  ${f.path.padEnd(44)} ${f.description}`);
    lines.push(`  ${'setup.sh'.padEnd(44)} run as root on ${n.node}: applies modules, sysctls, addresses, routes now`);
  }
  lines.push(`wrote ${planned.length} files for ${nodes.length} nodes under ${values.out}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
