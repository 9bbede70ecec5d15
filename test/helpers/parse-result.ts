/**
 * Reading an importer's ParseResult in tests: the model of a parse that must
 * succeed, the problems as a user reads them, and the positioned error a
 * malformed file must give.
 */
import { expect } from 'vitest';
import type { Installation } from '../../src/core/model.js';
import type { ParseResult } from '../../src/core/parse/types.js';
import { formatProblem } from '../../src/core/problems.js';

/** The successful branch of `r`; throws with the formatted problems when the parse failed. */
export function parsedOk(r: ParseResult): Extract<ParseResult, { ok: true }> {
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r;
}

/** The model of a parse that must succeed. */
export function parsedModel(r: ParseResult): Installation {
  return parsedOk(r).model;
}

/** Warnings of a success or problems of a failure, formatted as the CLI prints them. */
export function problemTexts(r: ParseResult): string[] {
  return (r.ok ? r.warnings : r.problems).map(formatProblem);
}

/** The parse failed, and its first error says `message` at file:line:column. */
export function expectPositionedError(r: ParseResult, where: { file: string; line: number; column: number }, message: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  const err = r.problems.find((p) => p.severity === 'error')!;
  expect(err.message).toMatch(message);
  expect(err.source).toEqual(where);
}
