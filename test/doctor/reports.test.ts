import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/doctor/check.js';
import { DoctorView, INITIAL_VIEW, reduceView } from '../../src/doctor/report-ink.js';
import { renderJson, toJsonReport } from '../../src/doctor/report-json.js';
import { renderText, shellQuote, summaryLine } from '../../src/doctor/report-text.js';

const results: Result[] = [
  { id: 'ip-vs-module', title: 'ip_vs loaded', host: 'dir1', role: 'director', status: 'pass', message: 'ip_vs is loaded', evidence: ['lsmod: ip_vs 184320 0'] },
  {
    id: 'arp-ignore',
    title: 'ARP answers for the VIP',
    host: 'rs1',
    role: 'real-server',
    status: 'fail',
    message: 'arp_ignore is 0 on eth0: rs1 answers ARP for the VIP',
    evidence: ['net.ipv4.conf.all.arp_ignore = 0', 'net.ipv4.conf.eth0.arp_ignore = 0'],
    fix: {
      why: 'only the director may answer ARP for the VIP',
      commands: [['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1']],
      files: [{ path: '/etc/sysctl.d/90-lvs.conf', lines: ['net.ipv4.conf.all.arp_ignore = 1'] }],
    },
  },
  { id: 'rp-filter', title: 'rp_filter', host: 'dir1', role: 'director', status: 'warn', message: 'rp_filter is 1 on eth1', evidence: [] },
  { id: 'ipip', title: 'ipip', host: 'rs1', role: 'real-server', status: 'skip', message: 'not a TUN real server', evidence: [] },
  { id: 'keepalived-t', title: 'keepalived -t', host: 'dir2', role: 'director', status: 'error', message: 'timed out after 20 s reading lab:dir2', evidence: [] },
];

describe('JSON report', () => {
  it('has exactly the documented keys and a summary by status', () => {
    const j = JSON.parse(renderJson(results)) as ReturnType<typeof toJsonReport>;
    expect(Object.keys(j)).toEqual(['checks', 'summary']);
    for (const c of j.checks) expect(Object.keys(c)).toEqual(['id', 'title', 'status', 'host', 'role', 'message', 'evidence', 'fix']);
    expect(j.checks[1]!.fix).toEqual(results[1]!.fix);
    expect(j.checks[0]!.fix).toBeNull();
    expect(j.summary).toEqual({ pass: 1, warn: 1, fail: 1, skip: 1, error: 1 });
  });
});

describe('text report', () => {
  const text = renderText(results);
  it('groups by host in first-seen order, worst first, evidence indented, fix shown', () => {
    expect(text).toBe(
      [
        'dir1 (director)',
        '  WARN  rp-filter: rp_filter is 1 on eth1',
        '  PASS  ip-vs-module: ip_vs is loaded',
        '        | lsmod: ip_vs 184320 0',
        '',
        'rs1 (real-server)',
        '  FAIL  arp-ignore: arp_ignore is 0 on eth0: rs1 answers ARP for the VIP',
        '        | net.ipv4.conf.all.arp_ignore = 0',
        '        | net.ipv4.conf.eth0.arp_ignore = 0',
        '        fix: only the director may answer ARP for the VIP',
        '          $ sysctl -w net.ipv4.conf.all.arp_ignore=1',
        '          add to /etc/sysctl.d/90-lvs.conf:',
        '            net.ipv4.conf.all.arp_ignore = 1',
        '  SKIP  ipip: not a TUN real server',
        '',
        'dir2 (director)',
        '  ERR   keepalived-t: timed out after 20 s reading lab:dir2',
        '',
        '5 checks on 3 hosts: 1 pass, 1 warn, 1 fail, 1 skip, 1 error',
        '',
      ].join('\n'),
    );
  });

  it('summary line leaves out skip and error when there are none', () => {
    expect(summaryLine(results.slice(0, 3))).toBe('3 checks on 2 hosts: 1 pass, 1 warn, 1 fail');
    expect(summaryLine([])).toBe('0 checks on 0 hosts: 0 pass, 0 warn, 0 fail');
  });

  it('quotes argv words a shell would split or expand', () => {
    expect(shellQuote(['ip', 'addr', 'add', '10.0.0.100/32', 'dev', 'lo'])).toBe('ip addr add 10.0.0.100/32 dev lo');
    expect(shellQuote(['sh', '-c', "echo $(id) 'x'"])).toBe(`sh -c 'echo $(id) '\\''x'\\'''`);
    expect(shellQuote([''])).toBe("''");
  });
});

describe('Ink view', () => {
  it('shows progress while checks run, then the report with glyphs and the fix', () => {
    let state = reduceView(INITIAL_VIEW, { kind: 'planned', jobs: [{ id: 'a', node: 'dir1' }, { id: 'b', node: 'rs1' }] });
    state = reduceView(state, { kind: 'started', id: 'a', node: 'dir1' });
    state = reduceView(state, { kind: 'started', id: 'b', node: 'rs1' });
    state = reduceView(state, { kind: 'finished', id: 'a', node: 'dir1', results: [] });
    const app = render(createElement(DoctorView, { state }));
    expect(app.lastFrame()).toBe('Checking… 1/2\n  b on rs1');
    app.rerender(createElement(DoctorView, { state: { ...state, results } }));
    // Colours are the theme's business; the words and glyphs are what is read.
    const frame = app.lastFrame()!.replace(/\x1b\[[0-9;]*m/g, '');
    expect(frame).toContain('dir1 (director)\n  ! rp-filter: rp_filter is 1 on eth1\n  ✓ ip-vs-module: ip_vs is loaded');
    expect(frame).toContain('  ✗ arp-ignore: arp_ignore is 0 on eth0: rs1 answers ARP for the VIP');
    expect(frame).toContain('      fix: only the director may answer ARP for the VIP\n        $ sysctl -w net.ipv4.conf.all.arp_ignore=1\n        add to /etc/sysctl.d/90-lvs.conf:');
    expect(frame).toContain('  – ipip: not a TUN real server');
    expect(frame).toContain('  ? keepalived-t: timed out');
    expect(frame.trimEnd().split('\n').at(-1)).toBe('5 checks on 3 hosts: 1 pass, 1 warn, 1 fail, 1 skip, 1 error');
    app.unmount();
  });
});
