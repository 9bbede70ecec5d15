import { describe, expect, it } from 'vitest';
import { normalize } from '../../src/core/normalize.js';
import { validate } from '../../src/core/validate.js';
import type { Problem } from '../../src/core/problems.js';
import { answersNames, loadAnswers, loadAnswersRaw } from '../helpers/fixtures.js';

function problemsOf(mutate: (a: any) => void, base = 'seed-000-dr-pair'): Problem[] {
  const raw = structuredClone(loadAnswersRaw(base)) as any;
  mutate(raw);
  const n = normalize(raw);
  if (!n.ok) return n.problems;
  return validate(n.model);
}

function find(problems: Problem[], path: string, re: RegExp): Problem | undefined {
  return problems.find((p) => p.path === path && re.test(p.message));
}

describe('validate: the seeds', () => {
  it('accepts every seed except for the warnings their designs deserve', () => {
    const errors = answersNames().flatMap((n) => validate(loadAnswers(n)).filter((p) => p.severity === 'error').map((p) => `${n}: ${p.path}: ${p.message}`));
    expect(errors).toEqual([]);
  });

  it('seed 004 (persistent fwmark NAT): the kernel keeps the client port, so real servers must listen on 80 and 443', () => {
    const p = validate(loadAnswers('seed-004-nat-fwmark'));
    expect(find(p, 'services[0].realServers', /keeps the client's port \(80, 443\)/)).toBeDefined();
    expect(p.some((x) => /rewrites every bundled port/.test(x.message))).toBe(false);
  });

  it('a non-persistent fwmark NAT service rewrites every bundled port to the real server port', () => {
    const p = problemsOf((a) => delete a.services[0].persistence, 'seed-004-nat-fwmark');
    expect(find(p, 'services[0].realServers[0].port', /connections to 443 reach lvs-03 on port 80/)).toBeDefined();
  });

  it('warns about seed 002 OpenVZ venet TUN prerequisites', () => {
    const p = validate(loadAnswers('seed-002-tun-openvz'));
    expect(find(p, 'services[0].realServers[0].platform', /ipip feature/)).toBeDefined();
  });
});

describe('validate: every documented design mistake, reported at once', () => {
  const cases: Array<[string, (a: any) => void, string, RegExp]> = [
    ['DR with a real-server port other than the VIP port', (a) => (a.services[0].realServers[0].port = 8080), 'services[0].realServers[0].port', /cannot change the port/],
    ['TUN with a real-server port other than the VIP port', (a) => { a.services[0].mode = 'tun'; a.services[0].realServers[1].port = 81; }, 'services[0].realServers[1].port', /cannot change the port/],
    ['DR real server outside the director subnet', (a) => (a.services[0].realServers[1].address = '10.0.4.20'), 'services[0].realServers[1].address', /not on any of lb1's subnets/],
    ['duplicate VIP:port', (a) => a.services.push({ ...structuredClone(a.services[0]), name: 'web2' }), 'services[1].ports[0]', /also served by web/],
    ['duplicate real server', (a) => a.services[0].realServers.push({ ...a.services[0].realServers[0], name: 'app1' }), 'services[0].realServers[2]', /listed twice/],
    ['VIP equal to a DIP', (a) => (a.services[0].vip = '10.0.3.11'), 'services[0].vip', /director's own address/],
    ['VIP equal to a RIP', (a) => (a.services[0].realServers[0].address = '10.0.3.250'), 'services[0].realServers[0].address', /is the VIP/],
    ['VRID out of range', (a) => (a.vrrp.instances[0].vrid = 256), 'vrrp.instances[0].vrid', /outside 1\.\.255/],
    ['VRID shared on one segment', (a) => a.vrrp.instances.push({ ...a.vrrp.instances[0], name: 'VI_2' }), 'vrrp.instances[1].vrid', /used by another instance on eth0/],
    ['master priority not above backup', (a) => (a.directors[1].priority = 100), 'directors[1].priority', /not above the backup/],
    ['sub-second advert with VRRP v2', (a) => (a.vrrp.advertInt = 0.5), 'vrrp.advertInt', /silently rounds/],
    ['UDP persistence without expire_quiescent_template', (a) => (a.services[0].protocol = 'udp'), 'services[0].persistence', /expire_quiescent_template/],
    ['multicast VRRP on OpenVZ venet', (a) => { a.containerHosts.push({ name: 'vz', kind: 'openvz' }); a.directors[0].platform = { type: 'openvz-venet', host: 'vz', ctid: 101 }; }, 'directors[0].platform', /no multicast/],
    ['several ports without a firewall mark', (a) => (a.services[0].ports = [80, 443]), 'services[0].ports', /without a firewall mark/],
    ['DR to an OpenVZ venet real server', (a) => { a.containerHosts.push({ name: 'vz', kind: 'openvz' }); a.services[0].realServers[0].platform = { type: 'openvz-venet', host: 'vz', ctid: 101 }; }, 'services[0].realServers[0].platform', /venet has none/],
    ['container host that does not exist', (a) => (a.services[0].realServers[0].platform.host = 'nohost'), 'services[0].realServers[0].platform.host', /no container host named nohost/],
    ['a pair without VRRP', (a) => delete a.vrrp, 'vrrp', /two directors but no VRRP/],
    ['persistence netmask not contiguous', (a) => (a.services[0].persistence.netmask = '255.0.255.0'), 'services[0].persistence.netmask', /not a contiguous netmask/],
  ];
  for (const [name, mutate, path, re] of cases) {
    it(name, () => {
      const p = problemsOf(mutate);
      expect(find(p, path, re), JSON.stringify(p, null, 1)).toBeDefined();
    });
  }

  it('NAT real server whose gateway is not the director NAT address', () => {
    const p = problemsOf((a) => (a.services[0].realServers[0].gateway = '10.8.8.1'), 'seed-004-nat-fwmark');
    expect(find(p, 'services[0].realServers[0].gateway', /replies bypass the director/)).toBeDefined();
  });

  it('a NAT pair without a floating gateway', () => {
    const p = problemsOf((a) => delete a.natRouter, 'seed-004-nat-fwmark');
    expect(find(p, 'natRouter', /floating gateway/)).toBeDefined();
  });

  it('out-of-range weights, ports and unknown keys are structural errors with their path', () => {
    const p = problemsOf((a) => {
      a.services[0].realServers[0].weight = 70000;
      a.services[0].ports = [0];
      a.services[0].realServers[1].colour = 'blue';
    });
    expect(p.map((x) => x.path)).toEqual(
      expect.arrayContaining(['services[0].realServers[0].weight', 'services[0].ports[0]', 'services[0].realServers[1]']),
    );
    expect(p.find((x) => x.path === 'services[0].realServers[1]')?.message).toMatch(/unknown key "colour"/);
  });

  it('reports several problems at once', () => {
    const p = problemsOf((a) => {
      a.services[0].realServers[0].port = 8080;
      a.vrrp.advertInt = 0.5;
      a.directors[1].priority = 200;
    });
    expect(p.filter((x) => x.severity === 'error').length).toBeGreaterThanOrEqual(3);
  });
});
