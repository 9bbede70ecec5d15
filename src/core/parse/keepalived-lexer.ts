/**
 * keepalived.conf tokens. keepalived reads a file line by line and splits a
 * line into words at whitespace; `!` and `#` at the start of a word begin a
 * comment; `{` and `}`
 * open and close blocks; "..." and '...' quote words, with shell-like
 * backslash escapes inside (keepalived.conf(5), "Quoted strings").
 */
import type { Problem } from '../problems.js';
import { positioned } from './types.js';

export interface Token {
  /** The word with quotes removed and escapes resolved. */
  text: string;
  /** `{` or `}` outside quotes; a quoted "{" is a word. */
  kind: 'word' | 'open' | 'close';
  quoted: boolean;
  file: string;
  line: number;
  column: number;
}

/** Bigger than any plausible keepalived.conf: 1,000 services x 50 real servers with HTTP checks is 13 MB. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

export interface LexResult {
  tokens: Token[];
  problems: Problem[];
}

/**
 * Split `text` into tokens. Never throws; binary data, an oversized file and
 * an unterminated quote are positioned errors.
 */
export function lexKeepalived(text: string, file: string): LexResult {
  const tokens: Token[] = [];
  const problems: Problem[] = [];
  if (text.length > MAX_CONFIG_BYTES) {
    problems.push(
      positioned('error', { file, line: 1, column: 1 }, `file is ${text.length} characters long; a keepalived.conf over ${MAX_CONFIG_BYTES} is not read`, 'is this really a keepalived.conf? split it with include'),
    );
    return { tokens, problems };
  }
  // Binary junk: NUL and other control characters keepalived would not take as text.
  const bad = /[\x00-\x08\x0e-\x1f\x7f\ufffd]/.exec(text);
  if (bad) {
    const before = text.slice(0, bad.index);
    const line = before.split('\n').length;
    const column = bad.index - before.lastIndexOf('\n');
    problems.push(
      positioned('error', { file, line, column }, `binary data (character 0x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')}) where keepalived.conf text was expected`),
    );
    return { tokens, problems };
  }
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '!' || c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl;
      continue;
    }
    const column = i - lineStart + 1;
    if (c === '{' || c === '}') {
      tokens.push({ text: c, kind: c === '{' ? 'open' : 'close', quoted: false, file, line, column });
      i++;
      continue;
    }
    // A word: runs of plain characters and quoted parts, glued together.
    let word = '';
    let quoted = false;
    let unterminated = false;
    while (i < n) {
      const ch = text[i]!;
      if (ch === '"' || ch === "'") {
        quoted = true;
        i++;
        let closed = false;
        while (i < n) {
          const q = text[i]!;
          if (q === ch) {
            closed = true;
            i++;
            break;
          }
          if (q === '\n') break;
          if (q === '\\' && i + 1 < n && text[i + 1] !== '\n') {
            const e = text[i + 1]!;
            word += ESCAPES[e] ?? e;
            i += 2;
            continue;
          }
          word += q;
          i++;
        }
        if (!closed) {
          unterminated = true;
          break;
        }
        continue;
      }
      if (/\s/.test(ch) || ch === '{' || ch === '}') break;
      word += ch;
      i++;
    }
    if (unterminated) {
      problems.push(positioned('error', { file, line, column }, 'unterminated quoted string: the closing quote is missing on this line'));
    }
    tokens.push({ text: word, kind: 'word', quoted, file, line, column });
  }
  return { tokens, problems };
}
