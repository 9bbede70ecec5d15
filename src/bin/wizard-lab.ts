/**
 * `lvs-wizard --lab` before the interactive wizard exists: the whole main job
 * on a default design (a DR pair with the fast timer profile) or on
 * `--answers FILE`, without questions — the picture, every file per node,
 * a lab started for it, the files applied by the apply engine (validated by
 * the real tools), and 20 requests through the VIP.
 */
import { parseArgs } from 'node:util';
import type { Installation } from '../core/model.js';
import { normalize } from '../core/normalize.js';
import { formatProblem } from '../core/problems.js';
import { renderNodes } from '../core/render/bundle.js';
import { renderDiagram } from '../core/render/diagram.js';
import { EXAMPLES } from '../lab/examples.js';
import { labTraffic } from '../lab/up.js';
import { parseArgv } from './common.js';
import { loadDesign } from './io.js';
import { labDesignFor, labErrors, startDesignLab } from './lab-commands.js';

export async function runWizardLab(argv: string[]): Promise<number> {
  const { values } = await parseArgv(
    () => parseArgs({ args: argv, options: { lab: { type: 'boolean' }, answers: { type: 'string' }, yes: { type: 'boolean', short: 'y' } } }),
    'usage: lvs-wizard --lab [--answers FILE] [--yes]',
  );
  let model: Installation;
  let source: string;
  if (values.answers) {
    model = loadDesign(values.answers, { consequence: 'nothing was started' }).model;
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
  const { design, warnings } = labDesignFor(model, values.answers ?? 'the default design');
  for (const p of warnings) out(formatProblem(p));
  const client = design.nodes.find((n) => n.role === 'client')?.interfaces[0]?.address;
  out(renderDiagram(design.model, client));
  out('Files, per node (validated on the node by the real tool before they replace anything):');
  for (const b of renderNodes(design.model)) {
    out(`  ${b.node} (${b.role})`);
    for (const f of b.files) out(`    ${f.path.padEnd(42)} ${f.description}`);
  }
  out();
  for (const note of design.notes) out(`lab note: ${note}`);

  return labErrors(async () => {
    out(`Applying to a lab of ${design.nodes.length} nodes...`);
    const lab = await startDesignLab(design, { say: (l) => out(`  ${l}`) });
    const t = await labTraffic(lab, design, 20);
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
  });
}
