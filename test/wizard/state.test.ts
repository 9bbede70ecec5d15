/**
 * The wizard's reducer, step by step: Enter with the defaults yields the
 * lab's designs, back and forward keep every answer, invalid input stops at
 * the step that owns it with the model's message, and an event that changes
 * nothing returns the same object.
 */
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../src/lab/examples.js';
import type { Mode } from '../../src/core/model.js';
import { initialState, reduce, reviewTabs, type Event, type State } from '../../src/wizard/state.js';
import { answersFromModel, defaultsFor, designOf, get, type AnswerKey } from '../../src/wizard/steps/answers.js';
import { fieldsFor, HELP_CHOICE, type FormStep } from '../../src/wizard/steps/fields.js';
import { ALL_SEEDS, loadYamlModel, toModel } from '../helpers/fixtures.js';

const NEXT: Event = { type: 'next' };
const BACK: Event = { type: 'back' };

function run(s: State, events: Event[]): State {
  return events.reduce(reduce, s);
}

/** Enter until the step is reached (at most 20 times), failing with the problems shown if it stalls. */
function enterUntil(s: State, step: State['step']): State {
  for (let i = 0; i < 20 && s.step !== step; i++) {
    const n = reduce(s, NEXT);
    if (n === s) throw new Error(`stuck at ${s.step}: ${JSON.stringify('problems' in s ? s.problems : [])}`);
    s = n;
  }
  expect(s.step).toBe(step);
  return s;
}

/** Focus the field `key` on the current form step and replace its text. */
function typeInto(s: State, key: AnswerKey, text: string): State {
  const fields = fieldsFor(s.step as FormStep, s.answers);
  const idx = fields.findIndex((f) => f.key === key);
  expect(idx, `${key} on ${s.step}`).toBeGreaterThanOrEqual(0);
  let t = s;
  while ('focus' in t && t.focus < idx) t = reduce(t, { type: 'focus', delta: 1 });
  while ('focus' in t && t.focus > idx) t = reduce(t, { type: 'focus', delta: -1 });
  for (let i = get(t.answers, key).length; i > 0; i--) t = reduce(t, { type: 'erase' });
  return reduce(t, { type: 'type', text });
}

const L7_NAME = { name: 'lvs' };

describe('Enter through every step with the defaults', () => {
  const cases: Array<[Mode, keyof typeof EXAMPLES]> = [
    ['dr', 'dr'],
    ['nat', 'nat'],
    ['tun', 'tun'],
    ['nginx', 'l7'],
  ];
  for (const [mode, example] of cases) {
    it(`${mode}: yields the lab's ${example} design, with no error`, () => {
      const s = enterUntil(initialState({ answers: defaultsFor(mode) }), 'review');
      if (s.step !== 'review') throw new Error('not at review');
      expect(s.problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(s.model).toEqual(toModel({ ...EXAMPLES[example], ...L7_NAME }));
    });
  }
  it('the first screen starts on the DR pair (the lab default)', () => {
    const s = enterUntil(initialState(), 'review');
    if (s.step !== 'review') throw new Error('not at review');
    expect(s.model).toEqual(toModel({ ...EXAMPLES.dr, ...L7_NAME }));
  });
});

describe('back and forward keep every answer', () => {
  it('a VIP typed at the service step survives going back to the start and forward again', () => {
    let s = enterUntil(initialState(), 'service');
    s = typeInto(s, 'vip', '10.0.0.200');
    s = run(s, [NEXT, BACK, BACK, BACK, BACK, BACK]);
    expect(s.step).toBe('layer');
    s = enterUntil(s, 'service');
    expect(get(s.answers, 'vip')).toBe('10.0.0.200');
  });
  it('switching DR -> NAT moves the untouched defaults to the inner network and keeps what was typed', () => {
    let s = enterUntil(initialState(), 'service');
    s = typeInto(s, 'vip', '10.0.0.77');
    s = run(s, [BACK, BACK]);
    expect(s.step).toBe('mode');
    s = reduce(s, { type: 'cycle', delta: -1 });
    expect(get(s.answers, 'mode')).toBe('nat');
    expect(get(s.answers, 'vip')).toBe('10.0.0.77');
    expect(get(s.answers, 'rs.0.address')).toBe('10.0.1.11');
    expect(get(s.answers, 'd.0.innerIface')).toBe('eth1');
  });
  it('back at the first step, at apply and at done changes nothing', () => {
    const s = initialState();
    expect(reduce(s, BACK)).toBe(s);
  });
});

describe('invalid input stops at the step that owns it, with the model\'s words', () => {
  const cases: Array<{ what: string; step: FormStep; edits: Array<[AnswerKey, string]>; field: string; message: RegExp }> = [
    { what: 'a bad VIP', step: 'service', edits: [['vip', '10.0.0']], field: 'services[0].vip', message: /IPv4 address/ },
    { what: 'a port out of range', step: 'service', edits: [['ports', '70000']], field: 'services[0].ports[0]', message: /1\.\.65535/ },
    { what: 'a port that is not a number', step: 'service', edits: [['ports', '80, http']], field: 'services[0].ports', message: /"http" is not a number/ },
    { what: 'two ports without a mark', step: 'service', edits: [['ports', '80, 443']], field: 'services[0].ports', message: /without a firewall mark/ },
    { what: 'a master below its backup', step: 'directors', edits: [['d.0.priority', '90']], field: 'directors[1].priority', message: /not above the backup/ },
    { what: 'a VRID out of range', step: 'directors', edits: [['vrid', '300']], field: 'vrrp.instances[0].vrid', message: /outside 1\.\.255/ },
    { what: 'a VRRP password too long', step: 'directors', edits: [['authPass', 'muchtoolong']], field: 'vrrp.auth.password', message: /at most 8/ },
    { what: 'a duplicate RIP', step: 'real-servers', edits: [['rs.1.address', '10.0.0.11'], ['rs.1.name', 'rs1']], field: 'services[0].realServers[1]', message: /listed twice/ },
    { what: 'a DR server behind a router', step: 'real-servers', edits: [['rs.1.address', '10.9.9.12']], field: 'services[0].realServers[1].address', message: /share an L2 segment/ },
    { what: 'a weight out of range', step: 'real-servers', edits: [['rs.0.weight', '70000']], field: 'services[0].realServers[0].weight', message: /0\.\.65535/ },
    { what: 'a persistence that is not a number', step: 'scheduler', edits: [['persistence', '5m']], field: 'services[0].persistence.timeout', message: /not a whole number/ },
    { what: 'an HTTP path without /', step: 'health', edits: [['check', 'http'], ['checkPath', 'index.html']], field: 'services[0].healthCheck.path', message: /starts with \// },
  ];
  for (const c of cases) {
    it(`${c.step}: ${c.what}`, () => {
      let s = enterUntil(initialState(), c.step);
      for (const [k, v] of c.edits) s = reduce(s, { type: 'set', key: k, value: v });
      const after = reduce(s, NEXT);
      expect(after.step).toBe(c.step);
      if (!('problems' in after)) throw new Error('no problems');
      const p = after.problems.find((x) => x.path === c.field);
      expect(p?.message, JSON.stringify(after.problems)).toMatch(c.message);
      expect(reduce(after, NEXT), 'Enter again with the same error is a no-op').toBe(after);
    });
  }
  it('platform: DR to OpenVZ venet containers is refused with the reason and the fix', () => {
    let s = enterUntil(initialState(), 'platform');
    s = run(s, [
      { type: 'set', key: 'rsPlatform', value: 'openvz-venet' },
      { type: 'set', key: 'rsHost', value: 'node1' },
    ]);
    const after = reduce(s, NEXT);
    expect(after.step).toBe('platform');
    const p = 'problems' in after ? after.problems.find((x) => /venet/.test(x.message)) : undefined;
    expect(p?.message).toMatch(/DR rewrites only the destination MAC/);
    expect(p?.hint).toMatch(/TUN/);
  });
});

describe('help me choose', () => {
  function ask(replies: boolean[]): State {
    let s = enterUntil(initialState(), 'mode');
    s = run(s, [{ type: 'cycle', delta: 1 }, { type: 'cycle', delta: 1 }]);
    expect(s.step === 'mode' && s.onHelp, `cursor on "${HELP_CHOICE}"`).toBe(true);
    s = reduce(s, NEXT);
    expect(s.step === 'mode' && s.helper).toBe(0);
    for (const yes of replies) s = reduce(s, { type: 'answer', yes });
    return s;
  }
  const table: Array<{ replies: boolean[]; mode: Mode; why: RegExp }> = [
    { replies: [true, false, false, false], mode: 'dr', why: /L2/ },
    { replies: [false, false, true, false], mode: 'tun', why: /IP-in-IP/ },
    { replies: [false, true, false, true], mode: 'nat', why: /cloud/ },
    { replies: [false, false, false, false], mode: 'nginx', why: /layer 7/ },
  ];
  for (const t of table) {
    it(`${t.replies.map((r) => (r ? 'y' : 'n')).join('')} -> ${t.mode}`, async () => {
      const { recommend } = await import('../../src/wizard/steps/mode-help.js');
      let s = ask(t.replies);
      expect(s.step === 'mode' && s.helper).toBe(4);
      expect(recommend(s.helpReplies).why).toMatch(t.why);
      expect(reduce(s, { type: 'answer', yes: true }), 'no fifth question').toBe(s);
      s = reduce(s, NEXT);
      expect(s.step).toBe('mode');
      expect(get(s.answers, 'mode')).toBe(t.mode);
      expect(get(s.answers, 'layer')).toBe(t.mode === 'nginx' ? 'l7' : 'l4');
    });
  }
  it('a cloud answer turns the pair to unicast VRRP', () => {
    let s = ask([false, true, false, true]);
    s = reduce(s, { type: 'set', key: 'transport', value: 'multicast' });
    s = reduce(s, NEXT);
    expect(get(s.answers, 'transport')).toBe('unicast');
  });
  it('picking DR after saying the servers are behind a router is refused', () => {
    let s = ask([false, false, true, false]);
    s = run(s, [NEXT, { type: 'cycle', delta: -1 }]);
    expect(get(s.answers, 'mode')).toBe('dr');
    const after = reduce(s, NEXT);
    expect(after.step).toBe('mode');
    expect('problems' in after && after.problems[0]?.message).toMatch(/cannot cross a router/);
  });
  it('Esc while asking goes back to the choice, keeping the cursor on "help me choose"', () => {
    const s = reduce(ask([true]), BACK);
    expect(s.step === 'mode' && s.onHelp && s.helper === undefined).toBe(true);
  });
});

describe('no-op events return the same state', () => {
  const at = (step: State['step']) => enterUntil(initialState(), step);
  const cases: Array<[string, () => State, Event]> = [
    ['type on a choice field', () => at('layer'), { type: 'type', text: 'x' }],
    ['cycle on a text field', () => reduce(at('service'), { type: 'focus', delta: 1 }), { type: 'cycle', delta: 1 }],
    ['erase an empty field', () => reduce(at('service'), { type: 'set', key: 'serviceName', value: '' }), { type: 'erase' }],
    ['focus above the first field', () => at('service'), { type: 'focus', delta: -1 }],
    ['focus below the last field', () => at('layer'), { type: 'focus', delta: 1 }],
    ['answer outside "help me choose"', () => at('mode'), { type: 'answer', yes: true }],
    ['scroll on a form', () => at('service'), { type: 'scroll', delta: 1 }],
    ['discover on the service step', () => at('service'), { type: 'discover' }],
    ['targets checked while not checking', () => at('review'), { type: 'targets-checked', targets: {}, results: [] }],
    ['a plan arriving outside the plan step', () => at('review'), { type: 'planned', diffs: [] }],
    ['apply progress outside apply', () => at('review'), { type: 'progress', event: { kind: 'node-start', node: 'dir1' } }],
    ['set to the same value', () => at('service'), { type: 'set', key: 'vip', value: '10.0.0.100' }],
    ['tab left on the first review tab', () => at('review'), { type: 'cycle', delta: -1 }],
    ['control characters typed', () => at('service'), { type: 'type', text: '\u001b\u0007' }],
  ];
  for (const [what, make, e] of cases) {
    it(what, () => {
      const s = make();
      expect(reduce(s, e)).toBe(s);
    });
  }
});

describe('review', () => {
  it('shows the picture first, then one tab per node with its files', () => {
    let s = at('review');
    expect(s.step).toBe('review');
    if (s.step !== 'review') return;
    const tabs = reviewTabs(s.model, s.problems);
    expect(tabs.map((t) => t.title)).toEqual(['overview', 'dir1', 'dir2', 'rs1', 'rs2']);
    expect(tabs[0]!.lines.join('\n')).toMatch(/replies: real server -> client directly/);
    s = reduce(s, { type: 'cycle', delta: 1 });
    expect(s.step === 'review' && s.tab).toBe(1);
    expect(tabs[1]!.lines.join('\n')).toMatch(/== \/etc\/keepalived\/keepalived.conf/);
    s = reduce(s, { type: 'scroll', delta: 3 });
    expect(s.step === 'review' && s.scroll).toBe(3);
  });
  it('an error anywhere stops Enter at the review', () => {
    const s = reduce(reduce(at('review'), BACK), { type: 'set', key: 'vip', value: '10.0.0.1' });
    const r = reduce(s, NEXT);
    expect(r.step).toBe('review');
    expect(r.step === 'review' && r.problems.find((p) => p.severity === 'error')?.message).toMatch(/director's own address/);
    expect(reduceTabs(r)[0]!.lines.join('\n')).toMatch(/\[step: service\]/);
    expect(reduce(r, NEXT)).toBe(r);
  });
});

function reduceTabs(s: State) {
  return s.step === 'review' ? reviewTabs(s.model, s.problems) : [];
}

function at(step: State['step'], lab = true): State {
  return enterUntil(initialState({ lab }), step);
}

describe('targets, plan, apply, done', () => {
  it('lab targets are lab:NODE; Enter checks, Enter again with all reachable plans', () => {
    let s = at('targets');
    expect(get(s.answers, 'target.dir1')).toBe('lab:dir1');
    s = reduce(s, NEXT);
    expect(s.step === 'targets' && s.checking).toBe(true);
    expect(reduce(s, NEXT), 'Enter while checking').toBe(s);
    if (s.step !== 'targets') return;
    const targets = { dir1: 'lab:dir1', dir2: 'lab:dir2', rs1: 'lab:rs1', rs2: 'lab:rs2' };
    s = reduce(s, { type: 'targets-checked', targets, results: Object.entries(targets).map(([node, uri]) => ({ node, uri, ok: true, detail: 'ok' })) });
    s = reduce(s, NEXT);
    expect(s.step).toBe('plan');
    expect(s.step === 'plan' && s.targets).toEqual(targets);
    expect(reduce(s, NEXT), 'no confirm before the plan arrives').toBe(s);
    s = reduce(s, { type: 'planned', diffs: [{ node: 'dir1', files: [{ path: '/etc/keepalived/keepalived.conf', status: 'new', diff: '+x' }], commands: [['systemctl', 'reload', 'keepalived']] }] });
    s = reduce(s, NEXT);
    expect(s.step).toBe('apply');
    s = reduce(s, { type: 'progress', event: { kind: 'node-start', node: 'dir1' } });
    expect(s.step === 'apply' && s.log).toHaveLength(1);
    expect(reduce(s, BACK)).toBe(s);
    s = reduce(s, { type: 'applied', outcome: { ok: true, stamp: 't', changed: [], doctor: [], undo: 'lvs-wizard rollback' } });
    expect(s.step).toBe('done');
  });
  it('an unreachable node keeps the wizard on targets; editing it and Enter checks again', () => {
    let s = reduce(at('targets', false), NEXT);
    if (s.step !== 'targets') throw new Error('not at targets');
    const targets = { dir1: 'ssh://root@10.0.0.1', dir2: 'ssh://root@10.0.0.2', rs1: 'ssh://root@10.0.0.11', rs2: 'ssh://root@10.0.0.12' };
    expect(get(s.answers, 'target.rs2')).toBe(targets.rs2);
    s = reduce(s, { type: 'targets-checked', targets, results: Object.entries(targets).map(([node, uri]) => ({ node, uri, ok: node !== 'rs2', detail: 'x' })) });
    s = reduce(s, NEXT);
    expect(s.step === 'targets' && s.checking).toBe(true);
  });
  it('an empty target is named', () => {
    let s = at('targets');
    s = reduce(s, { type: 'set', key: 'target.rs1', value: '' });
    s = reduce(s, NEXT);
    expect(s.step === 'targets' && s.problems[0]?.message).toMatch(/how to reach rs1/);
  });
});

describe('discovery', () => {
  it('interfaces found on the director fill the first director', () => {
    let s = reduce(at('directors'), { type: 'discover' });
    expect(s.step === 'directors' && s.discovering).toBe('interfaces');
    s = reduce(s, { type: 'discovered-interfaces', interfaces: [{ name: 'lo', address: '127.0.0.1/8' }, { name: 'ens3', address: '192.168.5.10/24' }] });
    expect(get(s.answers, 'd.0.iface')).toBe('ens3');
    expect(get(s.answers, 'd.0.address')).toBe('192.168.5.10/24');
    expect(s.note).toMatch(/ens3 192\.168\.5\.10\/24/);
  });
  it('containers found become the real servers', () => {
    let s = reduce(at('real-servers'), { type: 'discover' });
    s = reduce(s, { type: 'discovered-servers', servers: [{ name: 'web1', address: '10.0.0.31', platform: 'lxd' }, { name: 'web2', address: '10.0.0.32', platform: 'lxd' }, { name: 'web3', platform: 'lxd' }] });
    expect(get(s.answers, 'rsCount')).toBe('3');
    expect(get(s.answers, 'rs.2.name')).toBe('web3');
    expect(get(s.answers, 'rsPlatform')).toBe('lxd');
    expect(s.note).toMatch(/web3 \(no address\)/);
  });
});

describe('--answers pre-fill', () => {
  it('a farm of 20 real servers keeps all 20 (16 in the form, 4 carried)', () => {
    const m = toModel({
      ...EXAMPLES.tun,
      services: [{ ...EXAMPLES.tun.services[0]!, realServers: Array.from({ length: 20 }, (_, i) => ({ name: `rs${i + 1}`, address: `10.0.0.${11 + i}` })) }],
    });
    const { answers, carried } = answersFromModel(m);
    expect(get(answers, 'rsCount')).toBe('16');
    expect(designOf(answers, carried).model).toEqual(m);
  });
  for (const seed of ALL_SEEDS) {
    it(`${seed}: answers from the model give the same model back`, () => {
      const m = loadYamlModel(`fixtures/answers/${seed}.yaml`);
      const { answers, carried } = answersFromModel(m);
      expect(designOf(answers, carried).model).toEqual(m);
    });
  }
});
