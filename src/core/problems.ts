/**
 * Problems found in input: by validation (a path into the model) or by a
 * parser (a file position). Core never throws for bad input; it returns these.
 */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface Problem {
  severity: 'error' | 'warning';
  /** Where in the model: "services[0].realServers[1].port". Empty for whole-file problems. */
  path: string;
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Where in a source file, when the problem came from parsing one. */
  source?: SourcePosition;
}

export function formatProblem(p: Problem): string {
  const where = p.source ? `${p.source.file}:${p.source.line}:${p.source.column}` : p.path || '(file)';
  const hint = p.hint ? `\n    fix: ${p.hint}` : '';
  return `${p.severity}: ${where}: ${p.message}${hint}`;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** `['services', 0, 'port']` -> `services[0].port`. */
export function pathToString(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out ? `.${String(k)}` : String(k);
  }
  return out;
}
