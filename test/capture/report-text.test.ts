/** The plain-text report: what a user reads in a log when stdout is not a terminal. */
import { describe, expect, it } from 'vitest';
import { renderTraceText } from '../../src/capture/report-text.js';
import type { TraceReport } from '../../src/capture/types.js';

const report: TraceReport = {
  flows: [
    {
      client: '10.0.0.254:40000',
      vip: '10.0.0.100:80',
      backend: 'rs2',
      hops: [
        { point: 'client:eth0', seen: true, time: 1000.0 },
        { point: 'dir1:eth0', seen: true, time: 1000.4 },
        { point: 'rs2:eth0', seen: true, time: 1001.25 },
      ],
      verdict: { ok: true, stoppedAfter: null, stoppedBefore: null, cause: null, check: null },
    },
    {
      client: '10.0.0.254:40002',
      vip: '10.0.0.100:80',
      backend: 'rs1',
      hops: [
        { point: 'client:eth0', seen: true, time: 2000 },
        { point: 'rs1:eth0', seen: true, time: 2000.5 },
        { point: 'rs1:tunl0', seen: false, time: null },
      ],
      verdict: { ok: false, stoppedAfter: 'rs1:eth0', stoppedBefore: 'rs1:tunl0', cause: 'ipip is not loaded', check: 'rs-tunnel' },
    },
  ],
  points: [
    { name: 'client:eth0', host: 'lab:client', iface: 'eth0', received: 12, dropped: 0 },
    { name: 'rs1:eth0', host: 'file', iface: 'eth0', received: 4, dropped: null },
  ],
  notes: [{ cause: '2 MACs answer ARP for the VIP', check: 'vip-arp-answers', evidence: 'aa, bb' }],
};

describe('renderTraceText', () => {
  it('one line per connection with its verdict and ladder, the points, the notes, a summary', () => {
    expect(renderTraceText(report)).toBe(
      [
        'OK      10.0.0.254:40000 → 10.0.0.100:80 via rs2',
        '        client:eth0 ✓ +0.0ms → dir1:eth0 ✓ +0.4ms → rs2:eth0 ✓ +1.3ms',
        'STOPPED 10.0.0.254:40002 → 10.0.0.100:80 via rs1: after rs1:eth0, before rs1:tunl0: ipip is not loaded [lvs-doctor rs-tunnel]',
        '        client:eth0 ✓ +0.0ms → rs1:eth0 ✓ +0.5ms → rs1:tunl0 ✗',
        'points:',
        '  client:eth0 (lab:client eth0): received 12, dropped 0',
        '  rs1:eth0 (file eth0): received 4, dropped unknown',
        'note: 2 MACs answer ARP for the VIP [lvs-doctor vip-arp-answers]',
        '  | aa, bb',
        '2 connections: 1 completed, 1 stopped',
        '',
      ].join('\n'),
    );
  });

  it('says when no connection was seen', () => {
    expect(renderTraceText({ flows: [], points: [] })).toBe('points:\nno connection to the VIP was seen\n');
  });
});
