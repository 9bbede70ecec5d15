/** What every importer (text -> model) returns. */
import type { Installation } from '../model.js';
import { normalize } from '../normalize.js';
import type { Problem, SourcePosition } from '../problems.js';

export interface IncludedFile {
  path: string;
  text: string;
}

export interface ParseOptions {
  /** Name shown in positioned errors. */
  file: string;
  /**
   * Resolves an `include` (keepalived) pattern relative to the including
   * file; supplied by the caller because core does no I/O. Absent: includes
   * are reported as warnings and skipped.
   */
  resolveInclude?: (pattern: string, fromFile: string) => IncludedFile[];
}

export type ParseResult =
  | { ok: true; model: Installation; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

export function positioned(severity: 'error' | 'warning', source: SourcePosition, message: string, hint?: string): Problem {
  return { severity, path: '', message, source, ...(hint ? { hint } : {}) };
}

/**
 * Finish a parse: the importer built an answers object; normalize it and turn
 * structural errors into problems that name the file.
 */
export function finishParse(input: unknown, file: string, warnings: Problem[]): ParseResult {
  const n = normalize(input);
  if (!n.ok) {
    return {
      ok: false,
      problems: [
        ...warnings,
        ...n.problems.map((p) => ({ ...p, source: p.source ?? { file, line: 1, column: 1 } })),
      ],
    };
  }
  return { ok: true, model: n.model, warnings };
}
