/**
 * `lvs-wizard --lab` before the interactive wizard exists: the whole main job
 * on a default design (a DR pair with the fast timer profile) or on
 * `--answers FILE`, without questions — the picture, every file per node,
 * a lab started for it, the files applied by the apply engine (validated by
 * the real tools), and 20 requests through the VIP.
 */
import { parseArgs } from 'node:util';
import { importConfig } from '../core/import.js';
import type { Installation } from '../core/model.js';
import { normalize } from '../core/normalize.js';
import { formatProblem, hasErrors } from '../core/problems.js';
import { renderNodes } from '../core/render/bundle.js';
import { renderDiagram } from '../core/render/diagram.js';
import { validate } from '../core/validate.js';
import { attachLab, startLab } from '../lab/backend.js';
import { LabError } from '../lab/errors.js';
import { EXAMPLES } from '../lab/examples.js';
import { labDesign } from '../lab/topology.js';
import { labTraffic, labUp } from '../lab/up.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgv, UserError } from './common.js';
import { readUserFile, resolveInclude } from './io.js';

export async function runWizardLab(argv: string[]): Promise<number> {
  const { values } = await parseArgv(
    () => parseArgs({ args: argv, options: { lab: { type: 'boolean' }, answers: { type: 'string' }, yes: { type: 'boolean', short: 'y' } } }),
    'usage: lvs-wizard --lab [--answers FILE] [--yes]',
  );
  let model: Installation;
  let source: string;
  if (values.answers) {
    const r = importConfig(readUserFile(values.answers), { file: values.answers, resolveInclude });
    if (!r.ok) {
      for (const p of r.problems) process.stderr.write(`${formatProblem(p)}\n`);
      throw new UserError(`${values.answers} cannot be read as a design`, undefined, 1);
    }
    model = r.model;
    source = values.answers;
  } else {
    const n = normalize(EXAMPLES.dr);
    if (!n.ok) throw new Error('the built-in default design is invalid');
    model = n.model;
    source = 'the default design: a DR director pair (VRRP, fast timers) in front of two web servers';
  }
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(`lvs-wizard --lab: ${source}`);
  out('(the interactive wizard lands with its issue; this runs the same steps without questions)');
  out();
  const problems = validate(model);
  for (const p of problems) out(formatProblem(p));
  if (hasErrors(problems)) throw new UserError('the design has errors; nothing was started', 'lvs-wizard check FILE lists them', 1);

  const d = labDesign(model);
  if (!d.ok) {
    for (const p of d.problems) process.stderr.write(`${formatProblem(p)}\n`);
    throw new UserError('the lab cannot model this design; nothing was started', undefined, 1);
  }
  const client = d.design.nodes.find((n) => n.role === 'client')?.interfaces[0]?.address;
  out(renderDiagram(d.design.model, client));
  out('Files, per node (validated on the node by the real tool before they replace anything):');
  for (const b of renderNodes(d.design.model)) {
    out(`  ${b.node} (${b.role})`);
    for (const f of b.files) out(`    ${f.path.padEnd(42)} ${f.description}`);
  }
  out();
  for (const note of d.design.notes) out(`lab note: ${note}`);
  if (attachLab()) throw new UserError('a lab is already running', 'lvs-lab status shows it; lvs-lab down stops it, then run this again', 2);

  try {
    const lab = await startLab({ onProgress: (l) => process.stderr.write(`${l}\n`) });
    try {
      out(`Applying to a lab of ${d.design.nodes.length} nodes (${lab.kind} backend)...`);
      await labUp(lab, d.design, { onProgress: (l) => out(`  ${l}`) });
      writeFileSync(join(lab.stateDir, 'design.json'), `${JSON.stringify(d.design, null, 2)}\n`);
    } catch (e) {
      await lab.down().catch(() => undefined);
      throw e;
    }
    const t = await labTraffic(lab, d.design, 20);
    await lab.detach();
    out();
    for (const v of t.vips) {
      const spread = Object.entries(v.byBackend)
        .map(([k, n]) => `${k}=${n}`)
        .join(' ');
      out(`${v.service} ${v.vip}: ${v.requests - v.failed}/${v.requests} answered (${spread}), p50 ${v.latencyMs.p50} ms`);
    }
    out();
    out('The lab keeps running: lvs-lab status | lvs-lab traffic | lvs-lab exec NODE -- CMD | lvs-lab down');
    return t.vips.some((v) => v.failed > 0) ? 1 : 0;
  } catch (e) {
    if (e instanceof LabError) {
      const [first, ...detail] = e.message.split('\n');
      throw new UserError(`${first}${detail.length ? `\n${detail.map((l) => `  | ${l}`).join('\n')}` : ''}`, e.hint, 1);
    }
    throw e;
  }
}
