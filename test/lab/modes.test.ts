/**
 * NAT, DR and TUN on a real IPVS kernel, from the model through the renderers
 * and the apply engine: 20 requests from `client` reach every real server,
 * none fails, the director counts the connections, and for DR and TUN the
 * director sends no reply packets (OutPkts 0). Then the seeds' systems.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ipvsStats, LabCli } from './helpers.js';

const LAB_TEST_MS = 300_000;

const cases: Array<{ example: string; director: string; backends: string[]; repliesBypass: boolean }> = [
  { example: 'nat', director: 'dir1', backends: ['rs1', 'rs2'], repliesBypass: false },
  { example: 'dr', director: 'dir1', backends: ['rs1', 'rs2'], repliesBypass: true },
  { example: 'tun', director: 'dir1', backends: ['rs1', 'rs2'], repliesBypass: true },
];

describe.sequential('the three forwarding modes', () => {
  for (const c of cases) {
    it(`${c.example}: every real server answers, none fails${c.repliesBypass ? ', replies bypass the director' : ''}`, () => {
      const lab = new LabCli(c.example);
      try {
        lab.ok(['up', '--example', c.example]);
        const t = lab.traffic(20);
        expect(t.vips).toHaveLength(1);
        const v = t.vips[0]!;
        expect(v.failed).toBe(0);
        expect(Object.keys(v.byBackend).sort()).toEqual(c.backends);
        expect(Object.values(v.byBackend).reduce((a, b) => a + b, 0)).toBe(20);
        // The --stats totals come from the IPVS rate estimator, which folds the per-CPU counters
        // in every 2 s: read again until they have caught up with the requests just made.
        let stats = ipvsStats(lab.exec(c.director, ['ipvsadm', '-Ln', '--stats']).stdout);
        for (let i = 0; i < 6 && (stats.find((r) => r.kind === 'service')?.conns ?? 0) < 20; i++) {
          lab.exec(c.director, ['sleep', '1']);
          stats = ipvsStats(lab.exec(c.director, ['ipvsadm', '-Ln', '--stats']).stdout);
        }
        const svc = stats.find((r) => r.kind === 'service')!;
        expect(svc.conns).toBeGreaterThanOrEqual(20);
        if (c.repliesBypass) expect(stats.every((r) => r.outPkts === 0)).toBe(true);
        else expect(svc.outPkts).toBeGreaterThan(0);
      } finally {
        lab.down();
      }
    }, LAB_TEST_MS);
  }
});

describe.sequential('without keepalived', () => {
  it('a NAT design managed by ipvsadm-restore (rules file, static VIP) balances too', () => {
    const lab = new LabCli('ipvsadm');
    const dir = mkdtempSync(join(tmpdir(), 'lvs-ipvsadm-'));
    try {
      const f = join(dir, 'answers.yaml');
      writeFileSync(
        f,
        [
          'manager: ipvsadm',
          'directors: [{ name: dir1, interfaces: [{ name: eth0, address: 10.0.0.1/24 }, { name: eth1, address: 10.0.1.1/24 }] }]',
          'services:',
          '  - name: web',
          '    vip: 10.0.0.100',
          '    ports: [8080]',
          '    scheduler: wrr',
          '    mode: nat',
          '    healthCheck: { type: none }',
          '    realServers: [{ name: rs1, address: 10.0.1.11, port: 80, weight: 3 }, { name: rs2, address: 10.0.1.12, port: 80, weight: 1 }]',
          '',
        ].join('\n'),
      );
      lab.ok(['up', f]);
      expect(lab.exec('dir1', ['cat', '/etc/ipvsadm.rules']).stdout).toMatch(/-A -t 10\.0\.0\.100:8080 -s wrr/);
      expect(lab.exec('dir1', ['pgrep', '-x', 'keepalived']).code).not.toBe(0);
      const v = lab.traffic(16).vips[0]!;
      expect(v.failed).toBe(0);
      // NAT maps 8080 on the VIP to 80 on the real servers; wrr 3:1.
      expect(v.byBackend).toEqual({ rs1: 12, rs2: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      lab.down();
    }
  }, LAB_TEST_MS);
});

describe.sequential("the seeds' systems come up and serve", () => {
  const seeds: Array<{ example: string; director: string; backends: string[] }> = [
    { example: 'seed-000', director: 'lb1', backends: ['app1', 'app2'] },
    { example: 'seed-002', director: 'lvs', backends: ['test1', 'test2'] },
    { example: 'seed-003', director: 'web4', backends: ['web1', 'web2', 'web3'] },
    { example: 'seed-004', director: 'lvs-01', backends: ['lvs-03', 'lvs-04'] },
  ];
  for (const s of seeds) {
    it(`${s.example}`, () => {
      const lab = new LabCli(s.example);
      try {
        lab.ok(['up', '--example', s.example]);
        const t = lab.traffic(12);
        for (const v of t.vips) {
          expect(v.failed, `${v.vip}`).toBe(0);
          // Persistent services (seed 000: 50 s, seed 004: 30 s) keep one client on one server.
          for (const b of Object.keys(v.byBackend)) expect(s.backends).toContain(b);
        }
        if (s.example === 'seed-003') {
          expect(Object.keys(t.vips[0]!.byBackend).sort()).toEqual(s.backends);
          expect(t.vips[0]!.vip).toBe('192.0.2.1:8000');
        }
        if (s.example === 'seed-004') expect(t.vips.map((v) => v.vip).sort()).toEqual(['10.10.1.30:443', '10.10.1.30:80']);
      } finally {
        lab.down();
      }
    }, LAB_TEST_MS);
  }
});
