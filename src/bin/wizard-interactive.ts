/**
 * `lvs-wizard` without a subcommand: the Ink TUI on a terminal; line prompts
 * when only the keyboard is a terminal or answers are piped in; with
 * `--answers FILE --yes` an apply without questions; and in CI (or with
 * nothing to read) a message naming the flags, exit 2. Ink and React are
 * imported only on the TUI path (DESIGN rule 8).
 */
import { fstatSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatProblem, hasErrors } from '../core/problems.js';
import { renderAnswers } from '../core/render/answers.js';
import type { Lab } from '../lab/backend.js';
import type { WizardEffects } from '../wizard/app.js';
import { initialState, type State } from '../wizard/state.js';
import { designOf } from '../wizard/steps/answers.js';
import { parseArgv, UserError } from './common.js';

// What the first frame does not need loads when first used: the apply engine
// and the doctor at the targets step, execa with the first discovery, the
// importers only for --answers.
const applyRun = () => import('../wizard/apply-run.js');
const discovery = async () => {
  const [{ LocalHost }, d] = await Promise.all([import('../host/local.js'), import('../wizard/discover.js')]);
  return { local: new LocalHost(), ...d };
};

function effects(lab?: Lab): WizardEffects {
  return {
    discoverInterfaces: async () => {
      const d = await discovery();
      return d.discoverInterfaces(d.local);
    },
    discoverServers: async () => {
      const d = await discovery();
      return d.discoverServers(d.local);
    },
    checkTargets: async (m, t) => (await applyRun()).checkTargets(m, t),
    planApply: async (m, t) => (await applyRun()).planApply(m, t),
    applyDesign: async (m, t, o) => {
      const run = await applyRun();
      if (!lab) return run.applyDesign(m, t, o);
      const [{ labDesign }, { loadLabDesign }, { labApplyHooks, otherShape, OTHER_SHAPE_HINT, sameShape }] = await Promise.all([import('../lab/topology.js'), import('../lab/up.js'), import('./wizard-apply.js')]);
      const wanted = labDesign(m);
      const running = loadLabDesign(lab.stateDir);
      if (!running || !wanted.ok || !sameShape(running, wanted.design)) {
        throw new Error(`${running ? otherShape(running) : 'the running lab has no design on record'}: nothing was applied; ${OTHER_SHAPE_HINT}`);
      }
      const hooks = labApplyHooks(lab, running, wanted.design);
      const outcome = await run.applyDesign(m, t, { ...o, trace: hooks.trace });
      if (outcome.ok) hooks.onApplied();
      return outcome;
    },
  };
}

/**
 * `lab:NODE` targets resolve only while a command holds the running lab
 * (host/targets.ts setLabHosts). Without one, the targets step says so for
 * each node; `lvs-lab up` or `lvs-wizard apply FILE --lab` starts one.
 */
async function attachRunningLab(): Promise<{ lab: Lab; detach: () => Promise<void> } | undefined> {
  const [{ attachLab }, { setLabHosts }] = await Promise.all([import('../lab/backend.js'), import('../host/targets.js')]);
  const lab = attachLab();
  if (!lab) return undefined;
  setLabHosts((node) => lab.node(node));
  return {
    lab,
    detach: async () => {
      setLabHosts(undefined);
      await lab.detach();
    },
  };
}

const USAGE = 'usage: lvs-wizard [--answers FILE] [--save FILE] [--lab] [--yes --targets TARGETS]';

function save(path: string | undefined, s: State): void {
  if (!path) return;
  const model = 'model' in s && s.model ? s.model : designOf(s.answers, s.carried).model;
  if (!model) {
    process.stderr.write(`lvs-wizard: the answers do not make a design yet; nothing saved to ${path}\n`);
    return;
  }
  writeFileSync(path, renderAnswers(model, 'saved by lvs-wizard'));
  process.stderr.write(`lvs-wizard: answers saved to ${path}\n`);
}

/** Can lines be read from stdin without a terminal? A pipe or a file with content; not /dev/null, not CI. */
function stdinReadable(): boolean {
  if (process.env.CI) return false;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || (st.isFile() && st.size > 0) || st.isSocket();
  } catch {
    return false;
  }
}

export async function runWizard(argv: string[]): Promise<number> {
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // Start reading Ink, React and the screens at once: most of their cost is file I/O, which
  // overlaps with parsing the arguments and loading --answers. React's development build
  // checks every render twice over; a user's terminal wants the production one.
  if (tty) process.env.NODE_ENV ??= 'production';
  const ui = tty ? Promise.all([import('ink'), import('react'), import('../wizard/app.js')]) : undefined;
  ui?.catch(() => undefined);
  const { values } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        options: {
          answers: { type: 'string' },
          save: { type: 'string' },
          lab: { type: 'boolean', default: false },
          yes: { type: 'boolean', short: 'y', default: false },
          targets: { type: 'string' },
        },
      }),
    USAGE,
  );
  let start = initialState({ lab: values.lab });
  if (values.answers) {
    const [{ loadDesign }, { answersFromModel }] = await Promise.all([import('./io.js'), import('../wizard/steps/answers.js')]);
    const prefill = loadDesign(values.answers, { consequence: 'the wizard did not start' });
    for (const p of prefill.warnings) process.stderr.write(`${formatProblem(p)}\n`);
    start = initialState({ ...answersFromModel(prefill.model), lab: values.lab });
  }

  if (values.yes && values.answers && !tty) {
    // No questions to ask: exactly `lvs-wizard apply FILE (--targets T | --lab) --yes`.
    if (!values.targets && !values.lab) throw new UserError('--yes needs --targets TARGETS (or --lab) to know where to apply', `lvs-wizard --answers ${values.answers} --yes --targets lb1=ssh://root@10.0.0.2,…`);
    const { runApply } = await import('./wizard-apply.js');
    return runApply([values.answers, ...(values.targets ? ['--targets', values.targets] : ['--lab']), '--yes']);
  }
  if (!tty && values.lab) {
    // Without a terminal, --lab keeps its question-free meaning: the design applied in a lab.
    const { runWizardLab } = await import('./wizard-lab.js');
    return runWizardLab(argv.filter((a, i) => a !== '--save' && argv[i - 1] !== '--save'));
  }
  if (ui) {
    const [{ render }, { createElement }, { WizardApp }] = await ui;
    let last: State = start;
    const attached = values.lab ? await attachRunningLab() : undefined;
    try {
      const app = render(createElement(WizardApp, { initial: start, effects: effects(attached?.lab), onState: (s: State) => (last = s) }), { exitOnCtrlC: true });
      await app.waitUntilExit();
    } finally {
      await attached?.detach();
    }
    save(values.save, last);
    return last.step === 'done' && !last.outcome.ok ? 1 : 0;
  }
  const keyboard = Boolean(process.stdin.isTTY);
  if (!keyboard && !stdinReadable()) {
    throw new UserError(
      'no terminal and nothing to read the answers from',
      'lvs-wizard --answers FILE --yes --targets TARGETS (apply a design), lvs-wizard --answers FILE --save OUT (no apply), lvs-wizard --lab (the default design in a lab), or run it in a terminal',
    );
  }
  const { keyboardAsk, pipedAsk, promptWizard } = await import('../wizard/prompts.js');
  const ask = keyboard ? keyboardAsk(process.stderr) : pipedAsk(process.stdin, process.stderr);
  const r = await promptWizard(ask, (l) => process.stderr.write(`${l}\n`), start);
  if (!r.ok) throw new UserError(`stopped: ${r.reason}`, 'give every answer (an empty line keeps the default), or use --answers FILE');
  const s = r.state;
  const model = s.step === 'review' ? s.model : undefined;
  const problems = s.step === 'review' ? s.problems : [];
  if (model) process.stdout.write(`${(await import('../core/render/diagram.js')).renderDiagram(model)}\n`);
  for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
  save(values.save, s);
  if (!model || hasErrors(problems)) return 1;
  process.stdout.write(`next: lvs-wizard apply ${values.save ?? 'FILE'} --targets TARGETS (or --lab)\n`);
  return 0;
}
