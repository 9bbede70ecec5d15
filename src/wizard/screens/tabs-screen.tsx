/**
 * Steps 9 and 11: a row of tabs (the overview, then one per node) and the
 * chosen tab's lines from the scroll position — the picture and warnings, each
 * node's generated files, or each node's plan with its diff.
 */
import { planTabs, reviewTabs, type State } from '../state.js';
import { clip, Lines, type Line } from './lines.js';

function tabBar(titles: readonly string[], current: number, width: number): Line[] {
  const parts = titles.map((t, i) => (i === current ? `[${t}]` : ` ${t} `));
  let bar = parts.join('|');
  if (bar.length >= width) {
    const start = parts.slice(0, current).join('|').length;
    bar = bar.slice(Math.max(0, start - 10));
  }
  return [{ text: clip(bar, width), bold: true }];
}

export function TabsScreen({ state, width, height }: { state: State; width: number; height: number }) {
  if (state.step === 'plan' && !state.diffs) {
    return <Lines lines={state.error ? [{ text: `could not read the nodes: ${state.error}`, color: 'red' }, { text: 'Esc: back to the targets', dim: true }] : [{ text: 'reading what is on each node (nothing is changed)…', dim: true }]} width={width} />;
  }
  const tabs = state.step === 'review' ? reviewTabs(state.model, state.problems) : state.step === 'plan' ? planTabs(state.diffs ?? []) : [];
  const tab = state.step === 'review' || state.step === 'plan' ? state.tab : 0;
  const scroll = state.step === 'review' || state.step === 'plan' ? state.scroll : 0;
  const body = (tabs[tab]?.lines ?? []).slice(scroll, scroll + height - 1).map((text): Line => {
    if (/^error:|✗/.test(text)) return { text, color: 'red' };
    if (/^warning:/.test(text)) return { text, color: 'yellow' };
    if (/^== /.test(text)) return { text, bold: true };
    if (/^\s{2}[+]/.test(text)) return { text, color: 'green' };
    if (/^\s{2}-/.test(text)) return { text, color: 'red' };
    return { text };
  });
  return <Lines lines={[...tabBar(tabs.map((t) => t.title), tab, width), ...body]} width={width} />;
}
