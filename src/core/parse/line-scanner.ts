/**
 * What the line-oriented importers (lvs.cf, ldirectord.cf, the ipvsadm
 * table) share: a capped sink of positioned problems, the refusal of binary
 * input, CRLF-tolerant line splitting and model-safe names. One module so the
 * three read text, count problems and report junk the same way.
 */
import type { Problem, SourcePosition } from '../problems.js';
import { positioned, type ParseResult } from './types.js';

/** Past this many problems a parser stops listing them (a 10 MB file of junk must not give a million). */
export const MAX_PROBLEMS = 100;

/**
 * Collects positioned problems for one file, with a cap: after MAX_PROBLEMS
 * it records one last error and `full` turns true so the caller can stop.
 */
export class ProblemSink {
  readonly list: Problem[] = [];
  full = false;
  constructor(readonly file: string) {}
  at(line: number, column: number): SourcePosition {
    return { file: this.file, line, column };
  }
  add(severity: 'error' | 'warning', line: number, column: number, message: string, hint?: string): void {
    if (this.full) return;
    if (this.list.length >= MAX_PROBLEMS) {
      this.full = true;
      this.list.push(positioned('error', this.at(line, column), `more than ${MAX_PROBLEMS} problems; stopped reading here`));
      return;
    }
    this.list.push(positioned(severity, this.at(line, column), message, hint));
  }
  error(line: number, column: number, message: string, hint?: string): void {
    this.add('error', line, column, message, hint);
  }
  warn(line: number, column: number, message: string, hint?: string): void {
    this.add('warning', line, column, message, hint);
  }
  get hasErrors(): boolean {
    return this.list.some((p) => p.severity === 'error');
  }
}

/**
 * A config file is text: a NUL byte or other control characters mean the
 * wrong file (a binary, a compressed archive). Returns the position of the
 * first such byte so the error points at it.
 */
export function findBinary(text: string): { line: number; column: number } | undefined {
  const m = /[\u0000-\u0008\u000e-\u001f\ufffd]/.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index);
  const line = before.split('\n').length;
  const column = m.index - before.lastIndexOf('\n');
  return { line, column };
}

/** Split into lines without the trailing CR of CRLF files. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** A name the model accepts (letters, digits, _ . -), made from a name the file gives. */
export function modelName(raw: string, fallback: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || fallback).slice(0, 63);
}

/**
 * The opening check every line importer makes: binary input gets one error
 * at its first control byte and the parse ends there (reading junk line by
 * line would only pile up meaningless problems). Returns the failed result
 * to hand back, or undefined when `text` is text.
 */
export function refuseBinary(text: string, sink: ProblemSink, message: string, hint?: string): ParseResult | undefined {
  const bin = findBinary(text);
  if (!bin) return undefined;
  sink.error(bin.line, bin.column, message, hint);
  return { ok: false, problems: sink.list };
}
