/** `--targets` text: YAML or inline, and what is wrong with it against a design, named per node. */
import { describe, expect, it } from 'vitest';
import { checkTargetSpec, designNodes, labTargetSpec, parseTargetsText } from '../../src/wizard/targets-file.js';
import { loadAnswers } from '../helpers/fixtures.js';

const m = loadAnswers('seed-004-nat-fwmark');

describe('parseTargetsText', () => {
  it('reads a YAML mapping and the inline form alike', () => {
    const yaml = parseTargetsText('lvs-01: ssh://root@10.10.1.31\nlvs-02: ssh://root@10.10.1.32:2222\n', 't.yaml');
    const inline = parseTargetsText('lvs-01=ssh://root@10.10.1.31, lvs-02=ssh://root@10.10.1.32:2222', '--targets');
    expect(yaml).toEqual({ ok: true, targets: { 'lvs-01': 'ssh://root@10.10.1.31', 'lvs-02': 'ssh://root@10.10.1.32:2222' } });
    expect(inline).toEqual(yaml);
  });

  it.each([
    ['lvs-01: [a\n', 't.yaml', /^t\.yaml:\d+:\d+: /],
    ['lvs-01: local\nlvs-01: local\n', 't.yaml', /^t\.yaml:2:1: .*unique/i],
    ['- local\n- local\n', 't.yaml', /expected a mapping of node names to target URIs/],
    ['lvs-01:\n  uri: local\n', 't.yaml', /node lvs-01: expected a mapping/],
    ['lvs-01=local,oops', '--targets', /targets item 2 "oops": expected NODE=URI/],
    ['lvs-01=local,lvs-01=lxd:x', '--targets', /node lvs-01 is named twice/],
  ])('%j: says what is wrong', (text, file, msg) => {
    const r = parseTargetsText(text, file);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(msg);
  });
});

describe('checkTargetSpec', () => {
  it('is empty for a spec naming every node with a good URI', () => {
    expect(designNodes(m)).toEqual(['lvs-01', 'lvs-02', 'lvs-03', 'lvs-04']);
    expect(checkTargetSpec(m, Object.fromEntries(designNodes(m).map((n) => [n, `ssh://root@${n}`])))).toEqual([]);
    expect(checkTargetSpec(m, labTargetSpec(m))).toEqual([]);
  });

  it('names the unknown node, each missing node and each bad URI', () => {
    expect(checkTargetSpec(m, { 'lvs-01': 'local', 'lvs-05': 'local', 'lvs-03': 'lxd:1bad', 'lvs-04': 'lab:x_y' })).toEqual([
      { node: 'lvs-05', message: 'lvs-05 is not a node of the design (its nodes: lvs-01, lvs-02, lvs-03, lvs-04)' },
      { node: 'lvs-02', message: 'no target for node lvs-02 (add lvs-02=URI, e.g. lvs-02=ssh://root@ADDRESS)' },
      { node: 'lvs-03', message: expect.stringMatching(/^node lvs-03: bad target "lxd:1bad": expected lxd:NAME/) },
      { node: 'lvs-04', message: expect.stringMatching(/^node lvs-04: bad target "lab:x_y": expected lab:NODE/) },
    ]);
  });
});
