/**
 * The apply engine's events in the words a person reads in a log: used by the
 * Ink apply screen and by the plain-text apply without questions (no Ink).
 */
import type { ApplyEvent } from '../state.js';
import type { Line } from './line.js';

/** One line per apply event, in the words a person reads in a log. */
export function eventLine(e: ApplyEvent): Line {
  switch (e.kind) {
    case 'node-start':
      return { text: `${e.node}: starting`, bold: true };
    case 'unchanged':
      return { text: `${e.node}: ${e.path} unchanged`, dim: true };
    case 'validated':
      return { text: `${e.node}: ${e.path} accepted by ${e.tool}` };
    case 'written':
      return { text: `${e.node}: wrote ${e.path}${e.backup ? ` (old copy: ${e.backup})` : ''}`, color: 'green' };
    case 'ran':
      return { text: `${e.node}: ran ${e.argv.join(' ')}` };
    case 'skipped':
      return { text: `${e.node}: skipped ${e.argv.join(' ')} (${e.why})`, dim: true };
    case 'verified':
      return { text: `${e.node}: verified${e.details.length ? `: ${e.details.join('; ')}` : ''}`, color: 'green' };
    case 'failed':
      return { text: `${e.node}: FAILED: ${e.message}`, color: 'red' };
    case 'rolled-back':
      return { text: `${e.node}: rolled back ${e.path}`, color: 'yellow' };
    case 'doctor':
      return { text: `${e.node}: doctor: ${e.summary}` };
    case 'traced':
      return { text: `traced request through the VIP: ${e.detail}`, color: e.ok ? 'green' : 'red' };
  }
}
