/**
 * Every screen is a list of lines cut to the terminal: a screen decides what
 * the lines say, this file decides that none is wider than the pane (so an
 * 80x24 terminal never wraps and scrolls the title away) and how many fit.
 */
export interface Line {
  text: string;
  color?: 'red' | 'yellow' | 'green' | 'cyan' | 'gray' | 'magenta';
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

/** Cut to `width` columns (one spare, so the terminal never wraps at the last column). */
export function clip(text: string, width: number): string {
  const max = Math.max(1, width - 1);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A window of `height` lines that keeps line `anchor` visible. */
export function windowAround<T>(lines: readonly T[], anchor: number, height: number): T[] {
  if (lines.length <= height) return [...lines];
  const start = Math.max(0, Math.min(lines.length - height, anchor - Math.floor(height / 2)));
  return lines.slice(start, start + height);
}

