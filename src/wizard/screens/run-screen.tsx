/**
 * Steps 12 and 13: the apply engine's progress per node and step as it
 * happens, then what changed where, how to undo it, and the doctor's word.
 */
import type { State } from '../state.js';
import { Lines, type Line } from './lines.js';
import { eventLine } from './run-text.js';

export function RunScreen({ state, width, height }: { state: State; width: number; height: number }) {
  if (state.step === 'apply') {
    const lines = state.log.map(eventLine);
    const head: Line = { text: 'applying: backup, write, validate, reload, verify (any failure rolls everything back)…', dim: true };
    return <Lines lines={[head, ...lines.slice(-(height - 1))]} width={width} />;
  }
  if (state.step !== 'done') return null;
  const o = state.outcome;
  const lines: Line[] = [
    o.ok ? { text: 'Applied and verified.', bold: true, color: 'green' } : { text: `Failed at ${o.failure?.node ?? '?'} (${o.failure?.step ?? '?'}): ${o.failure?.message ?? ''}`, color: 'red', bold: true },
    ...(o.ok ? [] : [{ text: 'every node was put back as it was', color: 'yellow' as const }]),
    { text: '' },
    { text: o.changed.length ? 'changed:' : 'no changes: every file was already as designed', bold: true },
    ...o.changed.map((c) => ({ text: `  ${c.node}: ${c.path}` })),
    { text: '' },
    ...(o.traced ? [{ text: `request through the VIP: ${o.traced.ok ? 'answered' : 'FAILED'}: ${o.traced.detail}`, color: o.traced.ok ? ('green' as const) : ('red' as const) }] : []),
    ...(o.howToTest ?? []).map((l) => ({ text: `to test: ${l}` })),
    ...(o.doctor.length ? [{ text: 'doctor:', bold: true }, ...o.doctor.map((d) => ({ text: `  ${d}` }))] : o.ok && o.changed.length ? [{ text: 'doctor: no warning and no failure on any node' }] : []),
    ...(o.undo ? [{ text: `undo: ${o.undo}` }] : []),
  ];
  return <Lines lines={lines.slice(0, height)} width={width} />;
}
