/**
 * The plain-text report (not a TTY; DESIGN rule 4): one line per connection
 * with its verdict, its ladder of hops indented under it, then one line per
 * capture point with what it received and dropped, the notes, and a summary.
 * Pure: a TraceReport in, text out. The Ink view reuses the small helpers.
 */
import type { TraceReport } from './types.js';

export type TraceFlow = TraceReport['flows'][number];
export type TraceHop = TraceFlow['hops'][number];

/** Hop times are milliseconds since the epoch on the capture clock (correlate.ts); shown relative to the flow's earliest hop. */
export function hopOffsets(flow: TraceFlow): Array<string | null> {
  const times = flow.hops.filter((h) => h.seen && h.time !== null).map((h) => h.time!);
  if (times.length === 0) return flow.hops.map(() => null);
  const first = Math.min(...times);
  return flow.hops.map((h) => (h.seen && h.time !== null ? `+${(h.time - first).toFixed(1)}ms` : null));
}

/** "ok" or "STOPPED after X, before Y: cause [check]" — the verdict in one phrase. */
export function verdictPhrase(flow: TraceFlow): string {
  const v = flow.verdict;
  if (v.ok) return 'completed';
  const where = [v.stoppedAfter ? `after ${v.stoppedAfter}` : null, v.stoppedBefore ? `before ${v.stoppedBefore}` : null].filter(Boolean).join(', ');
  return `STOPPED${where ? ` ${where}` : ''}${v.cause ? `: ${v.cause}` : ''}${v.check ? ` [lvs-doctor ${v.check}]` : ''}`;
}

export function flowTitle(flow: TraceFlow): string {
  return `${flow.client} → ${flow.vip}${flow.backend ? ` via ${flow.backend}` : ''}`;
}

/** One ladder line: each hop with ✓/✗ and its offset. */
export function ladderLine(flow: TraceFlow): string {
  const offs = hopOffsets(flow);
  return flow.hops.map((h, i) => `${h.point} ${h.seen ? `✓${offs[i] ? ` ${offs[i]}` : ''}` : '✗'}`).join(' → ');
}

export function pointLine(p: TraceReport['points'][number]): string {
  return `${p.name} (${p.host} ${p.iface}): received ${p.received}, dropped ${p.dropped === null ? 'unknown' : p.dropped}`;
}

export function summaryLine(report: TraceReport): string {
  const stopped = report.flows.filter((f) => !f.verdict.ok).length;
  if (report.flows.length === 0) return 'no connection to the VIP was seen';
  return `${report.flows.length} connection${report.flows.length === 1 ? '' : 's'}: ${report.flows.length - stopped} completed, ${stopped} stopped`;
}

export function renderTraceText(report: TraceReport): string {
  const out: string[] = [];
  for (const f of report.flows) {
    out.push(`${f.verdict.ok ? 'OK     ' : 'STOPPED'} ${flowTitle(f)}${f.verdict.ok ? '' : `: ${verdictPhrase(f).replace(/^STOPPED:? ?/, '')}`}`);
    out.push(`        ${ladderLine(f)}`);
  }
  out.push('points:');
  for (const p of report.points) out.push(`  ${pointLine(p)}`);
  for (const n of report.notes ?? []) out.push(`note: ${n.cause}${n.check ? ` [lvs-doctor ${n.check}]` : ''}${n.evidence ? `\n  | ${n.evidence.split('\n').join('\n  | ')}` : ''}`);
  out.push(summaryLine(report));
  return `${out.join('\n')}\n`;
}
