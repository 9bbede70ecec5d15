/** A CheckContext for a lab node, built from the lab's design.json (the doctor CLI builds its own; these tests must not depend on it). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabDesign } from '../../src/lab/topology.js';
import type { CheckContext } from '../../src/doctor/check.js';

export function labContext(stateDir: string, node: string): CheckContext {
  const design = JSON.parse(readFileSync(join(stateDir, 'design.json'), 'utf8')) as LabDesign;
  return designContext(design, node);
}

export function designContext(design: LabDesign, node: string): CheckContext {
  const spec = design.nodes.find((n) => n.name === node);
  if (!spec) throw new Error(`no node ${node} in the lab design`);
  const modes = [...new Set(design.model.services.map((s) => s.mode))];
  return { node, role: spec.role, platform: 'host', modes, model: design.model };
}
