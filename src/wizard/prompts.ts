/**
 * The wizard without a terminal to draw on: the same steps and the same
 * reducer, asked one question per line with enquirer (DESIGN rule 8: no Ink
 * here). Works on a keyboard (stdin a TTY, output piped) and on lines piped
 * in (`printf '\n\n...' | lvs-wizard`), where each line answers the next
 * question and an empty line keeps the default.
 *
 * enquirer only listens to process.stdin or a stream that says it is a TTY
 * (lib/keypress.js), and each prompt reads only what arrives after it starts,
 * so piped lines are queued here and handed to each prompt on a stream of its
 * own.
 */
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import Enquirer from 'enquirer';
import { formatProblem } from '../core/problems.js';
import { initialState, reduce, type State } from './state.js';
import { fieldsFor, FORM_STEPS, HELP_CHOICE, STEP_TITLES, type Field, type FormStep } from './steps/fields.js';
import { HELP_QUESTIONS, recommend } from './steps/mode-help.js';
import { get } from './steps/answers.js';

/** One question, one answer; undefined when the input has ended. */
export type Ask = (message: string, initial: string) => Promise<string | undefined>;

/** Questions on a keyboard: enquirer reads process.stdin itself. */
export function keyboardAsk(out: NodeJS.WritableStream): Ask {
  return async (message, initial) => {
    const prompt = new (Enquirer as unknown as { Input: new (o: object) => { run(): Promise<string> } }).Input({ message, initial, stdout: out });
    try {
      return await prompt.run();
    } catch {
      return undefined;
    }
  };
}

/** Questions answered by the lines of a pipe, one line per question. */
export function pipedAsk(input: NodeJS.ReadableStream, out: NodeJS.WritableStream): Ask {
  const rl = createInterface({ input });
  const queue: string[] = [];
  const waiters: Array<(l: string | undefined) => void> = [];
  let ended = false;
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  rl.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(undefined);
  });
  const nextLine = (): Promise<string | undefined> =>
    queue.length > 0 ? Promise.resolve(queue.shift()) : ended ? Promise.resolve(undefined) : new Promise((r) => waiters.push(r));
  return async (message, initial) => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const prompt = new (Enquirer as unknown as { Input: new (o: object) => { run(): Promise<string>; cancel(): void } }).Input({ message, initial, stdin: stream, stdout: out });
    const answer = prompt.run();
    const line = await nextLine();
    if (line === undefined) {
      // The prompt never gets its line; leave it unanswered (its promise is dropped).
      answer.catch(() => undefined);
      return undefined;
    }
    setImmediate(() => stream.write(`${line}\r`));
    return answer;
  };
}

function question(f: Field): string {
  return f.kind === 'choice' && f.options ? `${f.label} (${f.options.join(' / ')})` : f.label;
}

export type PromptResult = { ok: true; state: State } | { ok: false; reason: string };

/**
 * Ask every form step's questions until the design reaches the review, or
 * the input ends. A step whose answers the model rejects is asked again, its
 * problems printed first.
 */
export async function promptWizard(ask: Ask, say: (line: string) => void, start: State = initialState()): Promise<PromptResult> {
  let s = start;
  let guard = 0;
  while (s.step !== 'review') {
    if (++guard > 200) return { ok: false, reason: 'too many attempts' };
    const step = s.step as FormStep;
    if (!(FORM_STEPS as readonly string[]).includes(step)) return { ok: false, reason: `unexpected step ${s.step}` };
    say(`-- ${STEP_TITLES[step]}`);
    for (let i = 0; i < fieldsFor(step, s.answers).length; i++) {
      const f = fieldsFor(step, s.answers)[i]!;
      const value = get(s.answers, f.key);
      const options = f.key === 'mode' ? [...(f.options ?? [])] : f.options;
      if (f.help) for (const l of f.help(value)) say(`   ${l}`);
      let answer = await ask(question({ ...f, ...(options ? { options } : {}) }), value);
      if (answer === undefined) return { ok: false, reason: `the input ended at "${f.label}"` };
      answer = answer.trim() || value;
      if (f.kind === 'choice' && options && !options.includes(answer)) {
        say(`   "${answer}" is not one of ${options.join(', ')}; keeping ${value}`);
        answer = value;
      }
      if (f.key === 'mode' && answer === HELP_CHOICE) {
        const replies: Record<string, boolean> = {};
        for (const q of HELP_QUESTIONS) {
          const r = await ask(`${q.text} (y/n)`, 'n');
          if (r === undefined) return { ok: false, reason: 'the input ended while choosing a mode' };
          replies[q.id] = /^y/i.test(r.trim());
        }
        const rec = recommend(replies);
        say(`   recommended: ${rec.mode} — ${rec.why}${rec.note ? ` (${rec.note})` : ''}`);
        answer = rec.mode;
        if (rec.note) s = reduce(s, { type: 'set', key: 'transport', value: 'unicast' });
        s = { ...s, helpReplies: replies };
      }
      s = reduce(s, f.kind === 'choice' ? { type: 'choose', key: f.key, value: answer } : { type: 'set', key: f.key, value: answer });
    }
    const next = reduce(s, { type: 'next' });
    if (next.step === s.step) {
      for (const p of 'problems' in next ? next.problems : []) say(formatProblem(p));
      say('   (asking this step again)');
    }
    s = next;
  }
  return { ok: true, state: s };
}
