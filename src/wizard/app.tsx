/**
 * The Ink wizard: keys become events, the reducer decides, the screens draw
 * (DESIGN rule 5). The few things that touch the world — discovery,
 * reachability, the plan, the apply — are `WizardEffects` the caller passes
 * in, started when the state asks for them, so the same app runs against a
 * lab, real servers, or whatever a test hands it. Loaded only on the TTY path
 * (DESIGN rule 8).
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useReducer, useRef, useState } from 'react';
import type { Installation } from '../core/model.js';
import { fieldsOf, initialState, reduce, stepNumber, type ApplyEvent, type ApplySummary, type DiscoveredInterface, type DiscoveredServer, type Event, type NodeDiff, type Reachability, type State, type TargetSpec } from './state.js';
import { STEP_TITLES, STEPS, isFormStep } from './steps/fields.js';
import { FormScreen } from './screens/form-screen.js';
import { clip } from './screens/lines.js';
import { RunScreen } from './screens/run-screen.js';
import { TabsScreen } from './screens/tabs-screen.js';

export interface WizardEffects {
  discoverInterfaces(): Promise<DiscoveredInterface[]>;
  discoverServers(): Promise<DiscoveredServer[]>;
  checkTargets(model: Installation, targets: TargetSpec): Promise<Reachability[]>;
  planApply(model: Installation, targets: TargetSpec): Promise<NodeDiff[]>;
  applyDesign(model: Installation, targets: TargetSpec, opts: { onEvent: (e: ApplyEvent) => void }): Promise<ApplySummary>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Starts what the state asks for, once per request, and feeds the answer back as an event. */
function useEffects(state: State, dispatch: (e: Event) => void, fx: WizardEffects): void {
  const discovering = 'discovering' in state ? state.discovering : undefined;
  useEffect(() => {
    if (!discovering) return;
    const job = discovering === 'interfaces' ? fx.discoverInterfaces().then((interfaces) => dispatch({ type: 'discovered-interfaces', interfaces })) : fx.discoverServers().then((servers) => dispatch({ type: 'discovered-servers', servers }));
    job.catch((e: unknown) => dispatch({ type: 'discover-failed', message: message(e) }));
  }, [discovering]);

  const checking = state.step === 'targets' && state.checking;
  useEffect(() => {
    if (state.step !== 'targets' || !state.checking) return;
    const targets = Object.fromEntries(fieldsOf(state).map((f) => [f.key.slice('target.'.length), (state.answers[f.key] ?? '').trim()]));
    fx.checkTargets(state.model, targets).then(
      (results) => dispatch({ type: 'targets-checked', targets, results }),
      (e: unknown) => dispatch({ type: 'targets-checked', targets, results: Object.entries(targets).map(([node, uri]) => ({ node, uri, ok: false, detail: message(e) })) }),
    );
  }, [checking]);

  const planning = state.step === 'plan' && !state.diffs && !state.error ? state : undefined;
  useEffect(() => {
    if (!planning || planning.step !== 'plan') return;
    fx.planApply(planning.model, planning.targets).then(
      (diffs) => dispatch({ type: 'planned', diffs }),
      (e: unknown) => dispatch({ type: 'plan-failed', message: message(e) }),
    );
  }, [planning !== undefined]);

  const applying = state.step === 'apply' ? state : undefined;
  const started = useRef(false);
  useEffect(() => {
    if (!applying || applying.step !== 'apply' || started.current) return;
    started.current = true;
    fx.applyDesign(applying.model, applying.targets, { onEvent: (event) => dispatch({ type: 'progress', event }) }).then(
      (outcome) => dispatch({ type: 'applied', outcome }),
      (e: unknown) => dispatch({ type: 'applied', outcome: { ok: false, stamp: '', changed: [], failure: { node: '-', step: 'apply', message: message(e) }, doctor: [], undo: 'lvs-wizard rollback' } }),
    );
  }, [applying !== undefined]);
}

function footer(s: State): string {
  switch (s.step) {
    case 'review':
      return '←→ tab  ↑↓ PgUp PgDn scroll  Enter: targets  Esc: back';
    case 'targets':
      return '↑↓ node  type the target  Enter: check, then plan  Esc: back';
    case 'plan':
      return s.diffs ? '←→ node  ↑↓ scroll  Enter: apply  Esc: back' : 'Esc: back';
    case 'apply':
      return 'applying… (Ctrl+C leaves it to finish or roll back)';
    case 'done':
      return 'Enter or q: quit';
    case 'mode':
      if (s.helper !== undefined) return 'y / n  Enter  Esc: back';
      return '↑↓ field  ←→ choose  Enter: next  Esc/b: back';
    case 'directors':
    case 'real-servers':
      return '↑↓ field  ←→ choose  Enter: next  Esc: back  Ctrl+D: discover';
    default:
      return '↑↓ field  ←→ choose  Enter: next  Esc/b: back';
  }
}

export interface WizardAppProps {
  initial?: State;
  effects: WizardEffects;
  /** Told every new state, so the caller has the answers however the wizard ends (done, Ctrl+C). */
  onState?: (s: State) => void;
  /** Fixed terminal size (tests); default: the terminal's, following resizes. */
  columns?: number;
  rows?: number;
}

export function WizardApp({ initial, effects, onState, columns, rows }: WizardAppProps) {
  const [state, dispatch] = useReducer(reduce, initial ?? initialState());
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [measured, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const size = { columns: columns ?? measured.columns, rows: rows ?? measured.rows };
  // Keys are read against the state of the frame on screen: Ink re-subscribes the
  // input handler only after React's passive effects run, so a key typed right
  // after a frame appears would otherwise meet the previous frame's closure.
  const current = useRef(state);
  current.current = state;
  useEffect(() => {
    const onResize = () => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  useEffects(state, dispatch, effects);
  useEffect(() => {
    onState?.(state);
  }, [state]);
  const height = Math.max(6, size.rows - 3);

  useInput((input, key) => {
    const state = current.current;
    // An Enter typed before Ink switched the terminal to raw mode was turned into "\n" by the
    // tty's line discipline (ICRNL, termios(3)); it is still an Enter.
    const enter = key.return || input === '\n' || input === '\r';
    if (state.step === 'done') {
      if (enter || input === 'q') exit();
      return;
    }
    if (key.escape) return dispatch({ type: 'back' });
    if (enter) return dispatch({ type: 'next' });
    const tabbed = state.step === 'review' || state.step === 'plan';
    if (key.upArrow || key.downArrow) {
      const delta = key.upArrow ? -1 : 1;
      return dispatch(tabbed ? { type: 'scroll', delta } : { type: 'focus', delta });
    }
    if (key.pageUp || key.pageDown) return dispatch({ type: 'scroll', delta: (key.pageUp ? -1 : 1) * (height - 2) });
    if (key.tab) return dispatch({ type: 'focus', delta: key.shift ? -1 : 1 });
    if (key.leftArrow || key.rightArrow) return dispatch({ type: 'cycle', delta: key.leftArrow ? -1 : 1 });
    if (key.backspace || key.delete) return dispatch({ type: 'erase' });
    // Several Backspaces that arrive in one read (a paste, a fast key repeat) come as one string.
    if (/^[\u007f\b]+$/.test(input)) {
      for (let i = 0; i < input.length; i++) dispatch({ type: 'erase' });
      return;
    }
    if (key.ctrl && input === 'd') return dispatch({ type: 'discover' });
    if (key.ctrl || key.meta || !input) return;
    if (state.step === 'mode' && state.helper !== undefined) {
      if (input === 'y' || input === 'n') dispatch({ type: 'answer', yes: input === 'y' });
      return;
    }
    const field = fieldsOf(state)['focus' in state ? state.focus : 0];
    if (input === 'b' && field?.kind !== 'text') return dispatch({ type: 'back' });
    dispatch({ type: 'type', text: input });
  });

  const width = size.columns;
  const title = `lvs-wizard · step ${stepNumber(state.step)} of ${STEPS.length}: ${STEP_TITLES[state.step]}`;
  const body =
    isFormStep(state.step) || state.step === 'targets' ? (
      <FormScreen state={state} width={width} height={height} />
    ) : state.step === 'review' || state.step === 'plan' ? (
      <TabsScreen state={state} width={width} height={height} />
    ) : (
      <RunScreen state={state} width={width} height={height} />
    );
  return (
    <Box flexDirection="column" height={size.rows - 1}>
      <Text bold color="cyan">
        {clip(title, width)}
      </Text>
      <Box flexDirection="column" flexGrow={1}>
        {body}
      </Box>
      <Text dimColor>{clip(footer(state), width)}</Text>
    </Box>
  );
}
