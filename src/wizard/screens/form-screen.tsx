/**
 * Steps 1-8 and 10: questions, one per line, the focused one marked, its
 * problems under it, and its help (a mode's two lines and picture, a
 * scheduler's one line, a timer profile's failover time) below the list.
 * "Help me choose" replaces the list with its questions while it asks.
 */
import { get } from '../steps/answers.js';
import { HELP_CHOICE } from '../steps/fields.js';
import { HELP_QUESTIONS, MODE_TEXT, recommend } from '../steps/mode-help.js';
import { fieldsOf, problemsByField, type State } from '../state.js';
import { Lines, windowAround, type Line } from './lines.js';

const LABEL_WIDTH = 24;

function helperLines(s: State & { step: 'mode' }): Line[] {
  const i = s.helper ?? 0;
  if (i < HELP_QUESTIONS.length) {
    return [
      { text: `Help me choose: question ${i + 1} of ${HELP_QUESTIONS.length}`, bold: true },
      { text: '' },
      { text: HELP_QUESTIONS[i]!.text },
      { text: '' },
      { text: 'y: yes   n: no   Esc: back to the list', dim: true },
    ];
  }
  const rec = recommend(s.helpReplies);
  const t = MODE_TEXT[rec.mode];
  return [
    { text: `Recommended: ${t.title}`, bold: true, color: 'green' },
    { text: `why: ${rec.why}` },
    ...(rec.note ? [{ text: `note: ${rec.note}` }] : []),
    { text: '' },
    ...t.lines.map((l) => ({ text: l })),
    ...t.picture.map((l) => ({ text: `  ${l}`, color: 'cyan' as const })),
    { text: '' },
    { text: 'Enter: take it   Esc: back to the list', dim: true },
  ];
}

/** The body of a form step, at most `height` lines. */
export function FormScreen({ state, width, height }: { state: State; width: number; height: number }) {
  if (state.step === 'mode' && state.helper !== undefined) return <Lines lines={helperLines(state).slice(0, height)} width={width} />;
  const fields = fieldsOf(state);
  const focus = 'focus' in state ? state.focus : 0;
  const problems = problemsByField('problems' in state ? state.problems : []);
  const reach = state.step === 'targets' ? state.reach : undefined;
  const list: Line[] = [];
  let focusLine = 0;
  fields.forEach((f, i) => {
    const focused = i === focus;
    let value = get(state.answers, f.key);
    if (state.step === 'mode' && f.key === 'mode' && state.onHelp) value = HELP_CHOICE;
    const shown = f.kind === 'choice' ? `‹ ${value} ›` : `${value}${focused ? '_' : ''}`;
    if (focused) focusLine = list.length;
    list.push({ text: `${focused ? '>' : ' '} ${f.label.padEnd(LABEL_WIDTH)} ${shown}`, ...(focused ? { bold: true, color: 'cyan' as const } : {}) });
    for (const p of problems.get(f.key) ?? []) {
      list.push({ text: `    ${p.severity === 'error' ? '✗' : '!'} ${p.message}`, color: p.severity === 'error' ? 'red' : 'yellow' });
      if (p.hint) list.push({ text: `      fix: ${p.hint}`, dim: true });
    }
    const r = reach?.find((x) => `target.${x.node}` === f.key);
    if (r) list.push({ text: `    ${r.ok ? '✓' : '✗'} ${r.detail}`, color: r.ok ? 'green' : 'red' });
  });
  const tail: Line[] = [];
  for (const p of problems.get('') ?? []) tail.push({ text: `${p.severity === 'error' ? '✗' : '!'} ${p.message}`, color: p.severity === 'error' ? 'red' : 'yellow' });
  const f = fields[focus];
  if (f?.help) {
    const v = state.step === 'mode' && f.key === 'mode' && state.onHelp ? HELP_CHOICE : get(state.answers, f.key);
    tail.push({ text: '' }, ...f.help(v).map((text, i) => ({ text, ...(i === 0 ? {} : { dim: true }) })));
  }
  if (state.note) tail.push({ text: '' }, { text: state.note, color: 'cyan' });
  if ('discovering' in state && state.discovering) tail.push({ text: `discovering ${state.discovering} on this machine…`, dim: true });
  if (state.step === 'targets' && state.checking) tail.push({ text: 'checking that every node answers…', dim: true });
  const tailShown = tail.slice(0, Math.max(0, height - 3));
  const visible = windowAround(list, focusLine, Math.max(3, height - tailShown.length));
  return <Lines lines={[...visible, ...tailShown]} width={width} />;
}
