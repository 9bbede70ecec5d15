/**
 * The terminal view (DESIGN rule 4): progress while the checks run, then the
 * findings grouped by host with glyphs, colours and the fix text, and one
 * summary line. Loaded only on the TTY path (DESIGN rule 8): bin imports this
 * file dynamically, never the text or JSON paths.
 */
import { Box, render, Text } from 'ink';
import { useEffect, useSyncExternalStore } from 'react';
import type { Result } from './check.js';
import { fixLines, groupByHost, summaryLine } from './report-text.js';
import type { RunnerEvent } from './runner.js';
import { STATUS_ORDER, THEME } from './theme.js';

/** What the view shows: how far the run is, and the findings once it is done. */
export interface ViewState {
  planned: number;
  finished: number;
  /** "check on node" pairs running now, in start order. */
  running: string[];
  results?: readonly Result[];
}

export const INITIAL_VIEW: ViewState = { planned: 0, finished: 0, running: [] };

/** Pure: the next view state after a runner event. */
export function reduceView(state: ViewState, e: RunnerEvent): ViewState {
  switch (e.kind) {
    case 'planned':
      return { ...state, planned: e.jobs.length };
    case 'started':
      return { ...state, running: [...state.running, `${e.id} on ${e.node}`] };
    case 'finished':
      return { ...state, finished: state.finished + 1, running: state.running.filter((r) => r !== `${e.id} on ${e.node}`) };
  }
}

function Progress({ state }: { state: ViewState }) {
  return (
    <Box flexDirection="column">
      <Text>
        Checking… {state.finished}/{state.planned}
      </Text>
      {state.running.slice(0, 8).map((r) => (
        <Text key={r} dimColor>
          {'  '}
          {r}
        </Text>
      ))}
    </Box>
  );
}

function Finding({ r }: { r: Result }) {
  const style = THEME[r.status];
  return (
    <Box flexDirection="column" marginLeft={2}>
      <Text>
        <Text color={style.color}>{style.glyph}</Text> <Text bold>{r.id}</Text>: {r.message}
        {r.subject ? ` [${r.subject}]` : ''}
      </Text>
      {r.evidence.map((e, i) => (
        <Text key={`e${i}`} dimColor>
          {'    | '}
          {e}
        </Text>
      ))}
      {r.fix && r.status !== 'pass'
        ? fixLines(r.fix).map((l, i) => (
            <Text key={`f${i}`} color="cyan">
              {'    '}
              {l}
            </Text>
          ))
        : null}
    </Box>
  );
}

function Report({ results }: { results: readonly Result[] }) {
  const rank = (r: Result) => STATUS_ORDER.indexOf(r.status);
  return (
    <Box flexDirection="column">
      {groupByHost(results).map((g) => (
        <Box key={g.host} flexDirection="column" marginBottom={1}>
          <Text bold>
            {g.host} <Text dimColor>({g.roles.join(', ')})</Text>
          </Text>
          {[...g.results]
            .sort((a, b) => rank(a) - rank(b))
            .map((r, i) => (
              <Finding key={`${r.id}-${i}`} r={r} />
            ))}
        </Box>
      ))}
      <Text bold>{summaryLine(results)}</Text>
    </Box>
  );
}

export function DoctorView({ state }: { state: ViewState }) {
  return state.results ? <Report results={state.results} /> : <Progress state={state} />;
}

/** A tiny external store so runner events (outside React) redraw the view. */
export class ViewStore {
  private state: ViewState = INITIAL_VIEW;
  private readonly listeners = new Set<() => void>();
  get = (): ViewState => this.state;
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  update(fn: (s: ViewState) => ViewState): void {
    this.state = fn(this.state);
    for (const l of this.listeners) l();
  }
}

/** `onReport` fires once the report has been drawn, so the caller unmounts after the last frame, not before. */
export function LiveDoctorView({ store, onReport }: { store: ViewStore; onReport?: () => void }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  useEffect(() => {
    if (state.results) onReport?.();
  }, [state.results, onReport]);
  return <DoctorView state={state} />;
}

/** Run with the live view; the final frame (the report) stays on the terminal. */
export async function runWithInk(run: (onEvent: (e: RunnerEvent) => void) => Promise<readonly Result[]>): Promise<readonly Result[]> {
  const store = new ViewStore();
  let drawn!: () => void;
  const shown = new Promise<void>((resolve) => (drawn = resolve));
  const app = render(<LiveDoctorView store={store} onReport={drawn} />);
  try {
    const results = await run((e) => store.update((s) => reduceView(s, e)));
    store.update((s) => ({ ...s, results }));
    await shown;
    return results;
  } finally {
    app.unmount();
    await app.waitUntilExit().catch(() => undefined);
  }
}
