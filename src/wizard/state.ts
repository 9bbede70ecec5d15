/**
 * The wizard as a reducer (DESIGN rule 5): `State` is a union keyed by step,
 * `Event` a union of what a person (or an effect) can do, and `reduce` is
 * pure and returns the very same object when an event changes nothing, so
 * Ink skips the render and tests can assert "no-op" with toBe.
 *
 * Effects (discovery, reachability, plan, apply) are requested by flags in
 * the state (`discovering`, `checking`, a plan step without `diffs`, an
 * apply step that has not started) and answered by events; the app runs them.
 */
import type { ApplyEvent, ApplySummary, NodeDiff, Reachability, TargetSpec } from './apply-types.js';
import { MODES, type Installation, type Mode, type PlatformType } from '../core/model.js';
import type { Problem } from '../core/problems.js';
import { renderNodes } from '../core/render/bundle.js';
import { renderDiagram } from '../core/render/diagram.js';
import {
  DEFAULT_ANSWERS,
  designOf,
  get,
  MAX_REAL_SERVERS,
  modeOf,
  suggestTarget,
  switchMode,
  type AnswerKey,
  type Answers,
  type Carried,
} from './steps/answers.js';
import { fieldOfPath, fieldsFor, FORM_STEPS, HELP_CHOICE, isFormStep, STEPS, stepOfProblem, type Field, type FormStep, type StepName } from './steps/fields.js';
import { HELP_QUESTIONS, recommend, refuseMode, type HelpReplies } from './steps/mode-help.js';

export type { ApplyEvent, ApplySummary, NodeDiff, Reachability, TargetSpec } from './apply-types.js';

/** An interface found on the director (`ip -j addr`). */
export interface DiscoveredInterface {
  name: string;
  /** "10.0.0.1/24"; undefined when it has no IPv4 address. */
  address?: string;
}

/** A container found on this machine (LXD, LXC, OpenVZ). */
export interface DiscoveredServer {
  name: string;
  address?: string;
  platform: PlatformType;
  ctid?: number;
}

interface Common {
  answers: Answers;
  /** What an imported design says that no question asks; put back into the model. */
  carried?: Carried;
  /** Replies to "help me choose", kept so a later pick can be refused with a reason. */
  helpReplies: HelpReplies;
  /** Targets are the lab's nodes (`lvs-wizard --lab`). */
  lab: boolean;
  /** The last discovery's one-line result, shown on the step that asked. */
  note?: string;
}

interface FormPart {
  focus: number;
  /** The problems this step owns, shown under their fields after Enter. */
  problems: Problem[];
  discovering?: 'interfaces' | 'servers';
}

/** One member per step; the fields a step needs exist only on it. */
export type State =
  | (Common & FormPart & { step: Exclude<FormStep, 'mode'> })
  | (Common &
      FormPart & {
        step: 'mode';
        /** The cursor rests on "help me choose" (not a mode, so not an answer). */
        onHelp?: boolean;
        /** Asking the questions: index of the current one; HELP_QUESTIONS.length shows the recommendation. */
        helper?: number;
      })
  | (Common & { step: 'review'; model?: Installation; problems: Problem[]; tab: number; scroll: number })
  | (Common & { step: 'targets'; model: Installation; focus: number; checking: boolean; reach?: Reachability[]; checkedFor?: TargetSpec; problems: Problem[] })
  | (Common & { step: 'plan'; model: Installation; targets: TargetSpec; diffs?: NodeDiff[]; error?: string; tab: number; scroll: number })
  | (Common & { step: 'apply'; model: Installation; targets: TargetSpec; log: ApplyEvent[] })
  | (Common & { step: 'done'; model: Installation; targets: TargetSpec; outcome: ApplySummary });

/** What a person does (keys mapped by the app) and what the effects report back. */
export type Event =
  | { type: 'next' }
  | { type: 'back' }
  | { type: 'focus'; delta: 1 | -1 }
  | { type: 'type'; text: string }
  | { type: 'erase' }
  | { type: 'cycle'; delta: 1 | -1 }
  | { type: 'scroll'; delta: number }
  | { type: 'set'; key: AnswerKey; value: string }
  /** Pick a value by name (line prompts, pre-fill): like Left/Right, switching the mode's defaults for layer and mode. */
  | { type: 'choose'; key: AnswerKey; value: string }
  | { type: 'answer'; yes: boolean }
  | { type: 'discover' }
  | { type: 'discovered-interfaces'; interfaces: DiscoveredInterface[] }
  | { type: 'discovered-servers'; servers: DiscoveredServer[] }
  | { type: 'discover-failed'; message: string }
  | { type: 'targets-checked'; targets: TargetSpec; results: Reachability[] }
  | { type: 'planned'; diffs: NodeDiff[] }
  | { type: 'plan-failed'; message: string }
  | { type: 'progress'; event: ApplyEvent }
  | { type: 'applied'; outcome: ApplySummary };

/** The first screen: the lab's DR pair as defaults (or pre-filled answers), nothing asked yet. */
export function initialState(opts: { answers?: Answers; carried?: Carried; lab?: boolean } = {}): State {
  return {
    step: 'layer',
    answers: opts.answers ?? DEFAULT_ANSWERS,
    ...(opts.carried ? { carried: opts.carried } : {}),
    helpReplies: {},
    lab: opts.lab ?? false,
    focus: 0,
    problems: [],
  };
}

/** The questions on screen for a state (the targets step asks one per node). */
export function fieldsOf(s: State): Field[] {
  if (isFormStep(s.step)) return fieldsFor(s.step as FormStep, s.answers);
  if (s.step === 'targets') return targetFields(s.model);
  return [];
}

/** One question per node: how to reach it. */
export function targetFields(m: Installation): Field[] {
  return renderNodes(m).map((n) => ({
    key: `target.${n.node}` as AnswerKey,
    label: `${n.node} (${n.role})`,
    kind: 'text' as const,
    help: () => ['local | ssh://root@HOST | lxd:NAME | lxc:NAME | vz:CTID | netns:NAME | lab:NODE'],
  }));
}

/** The targets as typed, one per node of the design (empty when not typed yet). */
export function targetsOf(s: { answers: Answers; model: Installation }): TargetSpec {
  const out: TargetSpec = {};
  for (const n of renderNodes(s.model)) out[n.node] = get(s.answers, `target.${n.node}`).trim();
  return out;
}

/** The lines of a review tab: 0 is the picture and the problems, then one tab per node's files. */
export function reviewTabs(m: Installation | undefined, problems: readonly Problem[]): Array<{ title: string; lines: string[] }> {
  const overview: string[] = [];
  if (m) overview.push(...renderDiagram(m).trimEnd().split('\n'));
  if (problems.length > 0) {
    overview.push('');
    for (const p of problems) {
      const step = stepOfProblem(p);
      overview.push(`${p.severity === 'error' ? 'error' : 'warning'}: ${p.message}${p.path ? ` [${step === 'review' ? p.path : `step: ${step}`}]` : ''}`);
      if (p.hint) overview.push(`  fix: ${p.hint}`);
    }
  } else if (m) overview.push('', 'no warnings');
  const tabs = [{ title: 'overview', lines: overview }];
  if (!m) return tabs;
  for (const n of renderNodes(m)) {
    const lines: string[] = [];
    for (const f of n.files) lines.push(`== ${f.path}  (${f.description})`, ...f.content.trimEnd().split('\n'), '');
    lines.push('== setup.sh (run as root on the node)', ...n.script.trimEnd().split('\n'));
    tabs.push({ title: n.node, lines });
  }
  return tabs;
}

/** The lines of a plan tab: one per node, what will be written (with its diff) and run. */
export function planTabs(diffs: readonly NodeDiff[]): Array<{ title: string; lines: string[] }> {
  return diffs.map((d) => {
    const lines: string[] = [];
    for (const f of d.files) {
      lines.push(`${f.status.padEnd(9)} ${f.path}`);
      if (f.status !== 'unchanged' && f.diff) lines.push(...f.diff.trimEnd().split('\n').map((l) => `  ${l}`));
    }
    if (d.commands.length > 0) lines.push('then run:', ...d.commands.map((c) => `  ${c.join(' ')}`));
    if (lines.length === 0) lines.push('nothing to do');
    return { title: d.node, lines };
  });
}

const same = <T>(a: T, b: T): boolean => JSON.stringify(a) === JSON.stringify(b);

function setAnswer(s: State, key: AnswerKey, value: string): State {
  if (s.answers[key] === value) return s;
  return { ...s, answers: { ...s.answers, [key]: value } };
}

/** Enter a form step from anywhere, focus on its first question. */
function toForm(s: State, step: FormStep, problems: Problem[] = []): State {
  const { answers, carried, helpReplies, lab } = s;
  const base = { answers, ...(carried ? { carried } : {}), helpReplies, lab, focus: 0, problems };
  return step === 'mode' ? { ...base, step: 'mode' } : { ...base, step };
}

function common(s: State) {
  return { answers: s.answers, ...(s.carried ? { carried: s.carried } : {}), helpReplies: s.helpReplies, lab: s.lab };
}

function toReview(s: State): State {
  const d = designOf(s.answers, s.carried);
  return { ...common(s), step: 'review', ...(d.model ? { model: d.model } : {}), problems: d.problems, tab: 0, scroll: 0 };
}

function toTargets(s: State, model: Installation): State {
  let answers = s.answers;
  for (const f of targetFields(model)) {
    if (!get(answers, f.key)) answers = { ...answers, [f.key]: suggestTarget(model, f.key.slice('target.'.length), s.lab) };
  }
  return { ...common(s), answers, step: 'targets', model, focus: 0, checking: false, problems: [] };
}

/** The problems a form step owns, from the whole design built from the answers so far. */
export function stepProblems(s: State & { step: FormStep }): Problem[] {
  const d = designOf(s.answers, s.carried);
  const own = d.problems.filter((p) => stepOfProblem(p) === s.step);
  if (s.step === 'mode') {
    const why = refuseMode(modeOf(s.answers), s.helpReplies);
    if (why) own.unshift({ severity: 'error', path: 'services[0].mode', message: why });
  }
  return own;
}

function nextForm(s: State & { step: FormStep }): State {
  if (s.step === 'mode') {
    if (s.helper !== undefined) {
      if (s.helper < HELP_QUESTIONS.length) return s;
      const rec = recommend(s.helpReplies);
      let answers = switchMode(s.answers, rec.mode);
      if (rec.note) answers = { ...answers, transport: 'unicast' };
      return { ...common(s), answers, step: 'mode', focus: 0, problems: [] };
    }
    if (s.onHelp) return { ...s, onHelp: false, helper: 0, helpReplies: {}, problems: [] };
  }
  const problems = stepProblems(s);
  if (problems.some((p) => p.severity === 'error')) return same(problems, s.problems) ? s : { ...s, problems };
  const i = FORM_STEPS.indexOf(s.step);
  const next = FORM_STEPS[i + 1];
  return next ? toForm(s, next) : toReview(s);
}

function focusMove(s: State & { focus: number }, delta: number): State {
  const n = fieldsOf(s).length;
  if (n === 0) return s;
  const focus = Math.max(0, Math.min(n - 1, s.focus + delta));
  return focus === s.focus ? s : ({ ...s, focus } as State);
}

function cycle(s: State & { focus: number }, delta: 1 | -1): State {
  const f = fieldsOf(s)[s.focus];
  if (!f || f.kind !== 'choice' || !f.options) return s;
  const opts = f.options;
  if (s.step === 'mode' && f.key === 'mode') {
    if (s.helper !== undefined) return s;
    const cur = s.onHelp ? opts.indexOf(HELP_CHOICE) : opts.indexOf(modeOf(s.answers));
    const nextIdx = (Math.max(cur, 0) + delta + opts.length) % opts.length;
    const v = opts[nextIdx]!;
    if (v === HELP_CHOICE) return { ...s, onHelp: true, problems: [] };
    return { ...s, onHelp: false, answers: switchMode(s.answers, v as ReturnType<typeof modeOf>), problems: [] };
  }
  const cur = opts.indexOf(get(s.answers, f.key));
  const v = opts[(Math.max(cur, 0) + delta + opts.length) % opts.length]!;
  if (f.key === 'layer') {
    if (v === get(s.answers, 'layer')) return s;
    return { ...s, answers: switchMode(s.answers, v === 'l7' ? 'nginx' : 'dr'), problems: [] } as State;
  }
  return setAnswer(s, f.key, v);
}

function typeText(s: State & { focus: number }, text: string): State {
  const f = fieldsOf(s)[s.focus];
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '');
  if (!f || f.kind !== 'text' || clean === '') return s;
  return setAnswer(s, f.key, get(s.answers, f.key) + clean);
}

function erase(s: State & { focus: number }): State {
  const f = fieldsOf(s)[s.focus];
  if (!f || f.kind !== 'text') return s;
  const v = get(s.answers, f.key);
  return v === '' ? s : setAnswer(s, f.key, v.slice(0, -1));
}

function applyDiscoveredInterfaces(s: State, found: DiscoveredInterface[]): State {
  if (s.step !== 'directors') return s;
  const usable = found.filter((f) => f.name !== 'lo' && f.address);
  const note = found.length === 0 ? 'no interfaces found' : `found: ${found.map((f) => `${f.name}${f.address ? ` ${f.address}` : ''}`).join(', ')}`;
  const first = usable[0];
  const answers = first ? { ...s.answers, 'd.0.iface': first.name, 'd.0.address': first.address! } : s.answers;
  return { ...s, answers, note, discovering: undefined } as State;
}

function applyDiscoveredServers(s: State, found: DiscoveredServer[]): State {
  if (s.step !== 'real-servers') return s;
  if (found.length === 0) return { ...s, note: 'no containers found (lxc list, lxc-ls, vzlist)', discovering: undefined } as State;
  const a: Partial<Record<AnswerKey, string>> = { ...s.answers };
  const list = found.slice(0, MAX_REAL_SERVERS);
  a.rsCount = String(list.length);
  a.rsPlatform = list[0]!.platform;
  list.forEach((c, i) => {
    a[`rs.${i}.name`] = c.name;
    a[`rs.${i}.address`] = c.address ?? '';
    if (c.ctid !== undefined) a[`rs.${i}.ctid`] = String(c.ctid);
  });
  const note = `found ${found.length} container(s): ${found.map((c) => `${c.name}${c.address ? ` ${c.address}` : ' (no address)'}`).join(', ')}`;
  return { ...s, answers: a, note, discovering: undefined } as State;
}

/** The wizard's only way to change: pure, and the same object back when nothing changes. */
export function reduce(s: State, e: Event): State {
  switch (e.type) {
    case 'set':
      return setAnswer(s, e.key, e.value);
    case 'choose':
      if (e.key === 'mode' && (MODES as readonly string[]).includes(e.value)) {
        return e.value === get(s.answers, 'mode') ? s : { ...s, answers: switchMode(s.answers, e.value as Mode) };
      }
      if (e.key === 'layer' && (e.value === 'l4' || e.value === 'l7')) {
        return e.value === get(s.answers, 'layer') ? s : { ...s, answers: switchMode(s.answers, e.value === 'l7' ? 'nginx' : 'dr') };
      }
      return setAnswer(s, e.key, e.value);
    case 'next':
      return onNext(s);
    case 'back':
      return onBack(s);
    case 'focus':
      if (isFormStep(s.step) || s.step === 'targets') {
        if (s.step === 'mode' && s.helper !== undefined) return s;
        return focusMove(s as State & { focus: number }, e.delta);
      }
      return s;
    case 'type':
      if (s.step === 'mode' && s.helper !== undefined) return s;
      return isFormStep(s.step) || s.step === 'targets' ? typeText(s as State & { focus: number }, e.text) : s;
    case 'erase':
      return isFormStep(s.step) || s.step === 'targets' ? erase(s as State & { focus: number }) : s;
    case 'cycle':
      if (isFormStep(s.step)) return cycle(s as State & { focus: number }, e.delta);
      if (s.step === 'review') {
        const n = reviewTabs(s.model, s.problems).length;
        const tab = Math.max(0, Math.min(n - 1, s.tab + e.delta));
        return tab === s.tab ? s : { ...s, tab, scroll: 0 };
      }
      if (s.step === 'plan' && s.diffs) {
        const tab = Math.max(0, Math.min(s.diffs.length - 1, s.tab + e.delta));
        return tab === s.tab ? s : { ...s, tab, scroll: 0 };
      }
      return s;
    case 'scroll': {
      if (s.step !== 'review' && s.step !== 'plan') return s;
      const tabs = s.step === 'review' ? reviewTabs(s.model, s.problems) : planTabs(s.diffs ?? []);
      const max = Math.max(0, (tabs[s.tab]?.lines.length ?? 0) - 1);
      const scroll = Math.max(0, Math.min(max, s.scroll + e.delta));
      return scroll === s.scroll ? s : { ...s, scroll };
    }
    case 'answer': {
      if (s.step !== 'mode' || s.helper === undefined || s.helper >= HELP_QUESTIONS.length) return s;
      const q = HELP_QUESTIONS[s.helper]!;
      return { ...s, helpReplies: { ...s.helpReplies, [q.id]: e.yes }, helper: s.helper + 1 };
    }
    case 'discover':
      if (s.step === 'directors' && !s.discovering) return { ...s, discovering: 'interfaces' };
      if (s.step === 'real-servers' && !s.discovering) return { ...s, discovering: 'servers' };
      return s;
    case 'discovered-interfaces':
      return applyDiscoveredInterfaces(s, e.interfaces);
    case 'discovered-servers':
      return applyDiscoveredServers(s, e.servers);
    case 'discover-failed':
      if ((s.step === 'directors' || s.step === 'real-servers') && s.discovering) return { ...s, discovering: undefined, note: `discovery failed: ${e.message}` } as State;
      return s;
    case 'targets-checked':
      if (s.step !== 'targets' || !s.checking) return s;
      return { ...s, checking: false, reach: e.results, checkedFor: e.targets };
    case 'planned':
      if (s.step !== 'plan' || s.diffs) return s;
      return { ...s, diffs: e.diffs, tab: 0, scroll: 0 };
    case 'plan-failed':
      if (s.step !== 'plan' || s.diffs) return s;
      return { ...s, error: e.message };
    case 'progress':
      if (s.step !== 'apply') return s;
      return { ...s, log: [...s.log, e.event] };
    case 'applied':
      if (s.step !== 'apply') return s;
      return { ...common(s), step: 'done', model: s.model, targets: s.targets, outcome: e.outcome };
  }
}

function onNext(s: State): State {
  switch (s.step) {
    case 'layer':
    case 'mode':
    case 'platform':
    case 'service':
    case 'directors':
    case 'real-servers':
    case 'scheduler':
    case 'health':
      return nextForm(s);
    case 'review':
      if (!s.model || s.problems.some((p) => p.severity === 'error')) return s;
      return toTargets(s, s.model);
    case 'targets': {
      if (s.checking) return s;
      const targets = targetsOf(s);
      const empty = Object.entries(targets).filter(([, uri]) => uri === '');
      if (empty.length > 0) {
        const problems = empty.map(([node]): Problem => ({ severity: 'error', path: `target.${node}`, message: `how to reach ${node}? (e.g. ssh://root@ADDRESS)` }));
        return same(problems, s.problems) ? s : { ...s, problems };
      }
      if (s.reach && s.checkedFor && same(s.checkedFor, targets) && s.reach.every((r) => r.ok)) {
        return { ...common(s), step: 'plan', model: s.model, targets, tab: 0, scroll: 0 };
      }
      const { reach: _r, checkedFor: _c, ...rest } = s;
      return { ...rest, checking: true, problems: [] };
    }
    case 'plan':
      if (!s.diffs) return s;
      return { ...common(s), step: 'apply', model: s.model, targets: s.targets, log: [] };
    case 'apply':
    case 'done':
      return s;
  }
}

function onBack(s: State): State {
  switch (s.step) {
    case 'layer':
      return s;
    case 'mode':
      if (s.helper !== undefined) return { ...common(s), step: 'mode', focus: 0, problems: [], onHelp: true };
      return toForm(s, 'layer');
    case 'platform':
    case 'service':
    case 'directors':
    case 'real-servers':
    case 'scheduler':
    case 'health':
      return toForm(s, FORM_STEPS[FORM_STEPS.indexOf(s.step) - 1]!);
    case 'review':
      return toForm(s, 'health');
    case 'targets':
      if (s.checking) return s;
      return toReview(s);
    case 'plan':
      return toTargets(s, s.model);
    case 'apply':
    case 'done':
      return s;
  }
}

/** 1-based position of a step, for "step 4 of 13". */
export function stepNumber(step: StepName): number {
  return STEPS.indexOf(step) + 1;
}

/** The field a problem belongs to on the current step (for showing it under the field). */
export function problemsByField(problems: readonly Problem[]): Map<string, Problem[]> {
  const out = new Map<string, Problem[]>();
  for (const p of problems) {
    const k = p.path.startsWith('target.') ? p.path : (fieldOfPath(p.path) ?? '');
    out.set(k, [...(out.get(k) ?? []), p]);
  }
  return out;
}
