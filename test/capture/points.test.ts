/**
 * Finding the capture points (pure): from the lab examples' designs, from a
 * design file's model, from this director's `ipvsadm -Sn` and `ip -j addr`,
 * and `--at` on top. What the user sees is the list of NODE:IFACE points and
 * their roles on the path; what correlate needs is the spec.
 */
import { describe, expect, it } from 'vitest';
import { applyAt, parseAt, parseVipArg, planFromDesign, planFromIpvs, planFromLab, PointsError } from '../../src/capture/points.js';
import type { Installation } from '../../src/core/model.js';
import { normalize } from '../../src/core/normalize.js';
import { LocalHost } from '../../src/host/local.js';
import { EXAMPLES } from '../../src/lab/examples.js';
import { labDesign } from '../../src/lab/topology.js';

const local = new LocalHost();
const model = (name: keyof typeof EXAMPLES): Installation => {
  const n = normalize(EXAMPLES[name]);
  if (!n.ok) throw new Error(JSON.stringify(n));
  return n.model;
};
const lab = (name: keyof typeof EXAMPLES) => {
  const d = labDesign(model(name));
  if (!d.ok) throw new Error(JSON.stringify(d.problems));
  return d.design;
};
const rows = (p: { placed: Array<{ point: { name: string; role: string; host: string; backend?: string } }> }) => p.placed.map((x) => `${x.point.name} ${x.point.role} ${x.point.host}${x.point.backend ? ` ${x.point.backend}` : ''}`);

describe('planFromLab', () => {
  it('NAT: client, both director arms, each real server; the director is the real servers gateway', () => {
    const plan = planFromLab(lab('nat'), { vip: '10.0.0.100', port: 80 }, { vipHolders: ['dir1'], macs: new Map() }, () => local);
    expect(rows(plan)).toEqual(['client:eth0 client lab:client', 'dir1:eth0 director-in lab:dir1', 'dir1:eth1 director-out lab:dir1', 'rs1:eth0 rs-in lab:rs1 rs1', 'rs2:eth0 rs-in lab:rs2 rs2']);
    expect(plan.spec).toMatchObject({ vip: '10.0.0.100', port: 80, proto: 'tcp', mode: 'nat', directorRip: '10.0.1.1' });
    expect(plan.spec.backends).toEqual([
      { name: 'rs1', rip: '10.0.1.11', port: 80 },
      { name: 'rs2', rip: '10.0.1.12', port: 80 },
    ]);
  });

  it('DR pair: only the director holding the VIP, one arm; the real servers MACs for the rewrite', () => {
    const plan = planFromLab(lab('dr'), { vip: '10.0.0.100' }, { vipHolders: ['dir2'], macs: new Map([['rs1', '02:00:00:00:00:11']]) }, () => local);
    expect(rows(plan)).toEqual(['client:eth0 client lab:client', 'dir2:eth0 director-in lab:dir2', 'rs1:eth0 rs-in lab:rs1 rs1', 'rs2:eth0 rs-in lab:rs2 rs2']);
    expect(plan.spec.port).toBe(80);
    expect(plan.spec.backends[0]).toEqual({ name: 'rs1', rip: '10.0.0.11', port: 80, mac: '02:00:00:00:00:11' });
    expect(plan.notes).toEqual(['dir2 holds the VIP (VRRP master): captured there']);
  });

  it('TUN: each real server eth0 and tunl0', () => {
    const plan = planFromLab(lab('tun'), { vip: '10.0.0.100', port: 80 }, { vipHolders: ['dir1'], macs: new Map() }, () => local);
    expect(rows(plan).filter((r) => r.startsWith('rs1'))).toEqual(['rs1:eth0 rs-in lab:rs1 rs1', 'rs1:tunl0 rs-tunl0 lab:rs1 rs1']);
  });

  it('a VIP the lab does not run, and a layer-7 service: said, not guessed', () => {
    expect(() => planFromLab(lab('nat'), { vip: '10.0.0.99' }, { vipHolders: [], macs: new Map() }, () => local)).toThrow('the lab has no service 10.0.0.99 (it runs 10.0.0.100:80)');
    expect(() => planFromLab(lab('l7'), { vip: '10.0.0.1' }, { vipHolders: [], macs: new Map() }, () => local)).toThrow(/layer-7 service \(nginx\)/);
  });
});

describe('planFromIpvs (a director, no design)', () => {
  const ipvsSave = '-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.1.11:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.1.12:80 -m -w 1\n';
  const addrJson = JSON.stringify([
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifname: 'eth0', address: '02:00:00:00:00:01', addr_info: [{ family: 'inet', local: '10.0.0.1', prefixlen: 24 }, { family: 'inet', local: '10.0.0.100', prefixlen: 32 }] },
    { ifname: 'eth1', address: '02:00:00:00:01:01', addr_info: [{ family: 'inet', local: '10.0.1.1', prefixlen: 24 }] },
  ]);

  it('ingress holds the VIP subnet, egress the real servers; NAT gateway is the egress address', () => {
    const plan = planFromIpvs({ vip: '10.0.0.100', port: 80 }, { ipvsSave, addrJson, hostname: 'lb' });
    expect(rows(plan)).toEqual(['lb:eth0 director-in local', 'lb:eth1 director-out local']);
    expect(plan.spec).toMatchObject({ mode: 'nat', directorRip: '10.0.1.1' });
    expect(plan.notes[1]).toMatch(/real servers are not captured/);
  });

  it('with --ssh each real server is reached at ssh://root@RIP', () => {
    const plan = planFromIpvs({ vip: '10.0.0.100', port: 80 }, { ipvsSave, addrJson, hostname: 'lb' }, (rip) => ({ host: local, uri: `ssh://root@${rip}` }));
    const names = plan.spec.backends.map((b) => b.name);
    expect(plan.spec.backends.map((b) => b.rip)).toEqual(['10.0.1.11', '10.0.1.12']);
    expect(rows(plan).slice(2)).toEqual([`${names[0]}:eth0 rs-in ssh://root@10.0.1.11 ${names[0]}`, `${names[1]}:eth0 rs-in ssh://root@10.0.1.12 ${names[1]}`]);
  });

  it('no service for that VIP: what the table has', () => {
    expect(() => planFromIpvs({ vip: '10.0.0.7' }, { ipvsSave, addrJson, hostname: 'lb' })).toThrow('no IPVS service for 10.0.0.7 on this machine (ipvsadm -Sn has 10.0.0.100:80)');
    expect(() => planFromIpvs({ vip: '10.0.0.7' }, { ipvsSave: '', addrJson, hostname: 'lb' })).toThrow(PointsError);
  });
});

describe('planFromDesign, --at, arguments', () => {
  it('this machine is the director holding one of its addresses', () => {
    const plan = planFromDesign(model('dr'), { vip: '10.0.0.100', port: 80 }, { localAddresses: ['10.0.0.2'], hostname: 'x' });
    expect(rows(plan)).toEqual(['dir2:eth0 director-in local']);
  });

  it('--at overrides a point host, adds one with a role read from the node or given', () => {
    const plan = planFromDesign(model('tun'), { vip: '10.0.0.100', port: 80 }, { localAddresses: [], hostname: 'x' });
    const at = ['ssh://root@10.0.0.11:tunl0', 'netns:cl:eth0=client', 'local:eth0'].map((s) => ({ ...parseAt(s), host: local }));
    expect(rows(applyAt(plan, at, 'dir1'))).toEqual(['dir1:eth0 director-in local', 'rs1:tunl0 rs-tunl0 ssh://root@10.0.0.11 rs1', 'cl:eth0 client netns:cl']);
  });

  it('parses VIP[:PORT] and HOST:IFACE[=ROLE] strictly', () => {
    expect(parseVipArg('10.0.0.100:8080')).toEqual({ vip: '10.0.0.100', port: 8080 });
    expect(() => parseVipArg('10.0.0.100:0')).toThrow('ports are 1..65535');
    expect(parseAt('lab:rs1:tunl0')).toEqual({ uri: 'lab:rs1', iface: 'tunl0' });
    expect(parseAt('ssh://root@[fe80::1]:22:eth0=rs-in')).toEqual({ uri: 'ssh://root@[fe80::1]:22', iface: 'eth0', role: 'rs-in' });
    expect(() => parseAt('eth0')).toThrow(/expected HOST:IFACE/);
  });
});
