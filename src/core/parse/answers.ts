/**
 * The answers file (YAML, or JSON which is YAML too) -> model, with every
 * problem placed at its line and column in the file.
 */
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { normalize } from '../normalize.js';
import type { Problem } from '../problems.js';
import type { ParseOptions, ParseResult } from './types.js';

export function parseAnswers(text: string, opts: ParseOptions): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lineCounter.linePos(e.pos[0]);
    problems.push({
      severity: doc.errors.includes(e) ? 'error' : 'warning',
      path: '',
      message: e.message.split('\n')[0]!,
      source: { file: opts.file, line: pos.line, column: pos.col },
    });
  }
  if (doc.errors.length > 0) return { ok: false, problems };
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      problems: [{ severity: 'error', path: '', message: 'an answers file is a mapping with keys such as services, directors, vrrp', source: { file: opts.file, line: 1, column: 1 } }],
    };
  }
  const n = normalize(value);
  if (!n.ok) {
    return { ok: false, problems: [...problems, ...n.problems.map((p) => ({ ...p, source: locate(doc, lineCounter, p.path, opts.file) }))] };
  }
  return { ok: true, model: n.model, warnings: problems };
}

/** The file position of a model path ("services[0].ports[1]"), or of its nearest existing parent. */
export function locate(doc: Document, lc: LineCounter, path: string, file: string): { file: string; line: number; column: number } {
  const keys: Array<string | number> = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  for (let n = keys.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { file, line: pos.line, column: pos.col };
    }
  }
  return { file, line: 1, column: 1 };
}
