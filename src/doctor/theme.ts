/**
 * Glyphs, words and colours per status (DESIGN rule 4): the result model
 * carries none of them; the text report uses the words, the Ink view the
 * glyphs and colours.
 */
import type { Status } from './check.js';

export interface StatusStyle {
  /** Fixed-width word for plain text and logs. */
  word: 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | 'ERR ';
  glyph: string;
  /** An Ink <Text color>. */
  color: 'green' | 'yellow' | 'red' | 'gray' | 'magenta';
}

export const THEME: Record<Status, StatusStyle> = {
  pass: { word: 'PASS', glyph: '✓', color: 'green' },
  warn: { word: 'WARN', glyph: '!', color: 'yellow' },
  fail: { word: 'FAIL', glyph: '✗', color: 'red' },
  skip: { word: 'SKIP', glyph: '–', color: 'gray' },
  error: { word: 'ERR ', glyph: '?', color: 'magenta' },
};

/** Summary and report order: what needs attention first within a host. */
export const STATUS_ORDER: readonly Status[] = ['fail', 'error', 'warn', 'skip', 'pass'];
