/**
 * Plain text when stdout is not a terminal (a log, a pipe, a ticket): grouped
 * by host, one line per finding with a status word, the evidence indented,
 * the fix's commands and file lines, and one summary line at the end.
 */
import type { Fix, Result, Status } from './check.js';
import { summarize } from './runner.js';
import { STATUS_ORDER, THEME } from './theme.js';

/** Results grouped by host, hosts in first-seen order, findings in their order within a host. */
export function groupByHost(results: readonly Result[]): Array<{ host: string; roles: string[]; results: Result[] }> {
  const groups = new Map<string, { host: string; roles: string[]; results: Result[] }>();
  for (const r of results) {
    let g = groups.get(r.host);
    if (!g) groups.set(r.host, (g = { host: r.host, roles: [], results: [] }));
    if (!g.roles.includes(r.role)) g.roles.push(r.role);
    g.results.push(r);
  }
  return [...groups.values()];
}

/** "12 checks on 5 hosts: 9 pass, 1 warn, 2 fail" (skip and error only when there are some). */
export function summaryLine(results: readonly Result[]): string {
  const s = summarize(results);
  const hosts = new Set(results.map((r) => r.host)).size;
  const parts = [`${s.pass} pass`, `${s.warn} warn`, `${s.fail} fail`];
  if (s.skip) parts.push(`${s.skip} skip`);
  if (s.error) parts.push(`${s.error} error`);
  return `${results.length} check${results.length === 1 ? '' : 's'} on ${hosts} host${hosts === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** An argv as a person would type it: words with shell characters in single quotes. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (a !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The fix as lines: why, then `$ command`, then each file with the lines to add. */
export function fixLines(fix: Fix): string[] {
  const out = [`fix: ${fix.why}`];
  for (const c of fix.commands) out.push(`  $ ${shellQuote(c)}`);
  for (const f of fix.files) {
    out.push(`  add to ${f.path}:`);
    for (const l of f.lines) out.push(`    ${l}`);
  }
  return out;
}

const rank = (s: Status) => STATUS_ORDER.indexOf(s);

export function renderText(results: readonly Result[]): string {
  const out: string[] = [];
  for (const g of groupByHost(results)) {
    out.push(`${g.host} (${g.roles.join(', ')})`);
    const sorted = [...g.results].sort((a, b) => rank(a.status) - rank(b.status));
    for (const r of sorted) {
      out.push(`  ${THEME[r.status].word}  ${r.id}: ${r.message}${r.subject ? ` [${r.subject}]` : ''}`);
      for (const e of r.evidence) for (const l of e.split('\n')) out.push(`        | ${l}`);
      if (r.fix && r.status !== 'pass') for (const l of fixLines(r.fix)) out.push(`        ${l}`);
    }
    out.push('');
  }
  out.push(summaryLine(results));
  return `${out.join('\n')}\n`;
}

/** `--list-checks`: id, section, title, one per line. */
export function renderCheckList(checks: ReadonlyArray<{ id: string; section: string; title: string }>): string {
  const w = Math.max(2, ...checks.map((c) => c.id.length));
  return `${checks.map((c) => `${c.id.padEnd(w)}  ${c.section}  ${c.title}`).join('\n')}${checks.length ? '\n' : ''}`;
}
