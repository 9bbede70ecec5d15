import { describe, expect, it } from 'vitest';
import { classifyMachine, keepalivedDeclaresServices, parseProcIpvs, platformFrom, realServerVips, type MachineObservation } from '../../src/doctor/roles.js';
import { describeUri, labTargets, machineTargets, modesFor } from '../../src/doctor/targets.js';
import { LocalHost } from '../../src/host/local.js';
import { labDesign } from '../../src/lab/topology.js';
import { toModel } from '../helpers/fixtures.js';
import { EXAMPLES } from '../../src/lab/examples.js';

const PROC_IPVS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A000064:0050 wlc
  -> 0A00000C:0050      Route   1      0          0
  -> 0A00000B:0050      Route   1      0          0
FWM  00000001 rr
  -> C0A80A0B:0000      Masq    1      0          0
`;

const addr = (links: Array<[string, Array<[string, number]>]>) =>
  JSON.stringify(links.map(([ifname, a]) => ({ ifname, addr_info: a.map(([local, prefixlen]) => ({ family: 'inet', local, prefixlen })) })));

const bare: MachineObservation = { procVz: false, procVzVersion: false, devLxd: false };

describe('role detection (pure)', () => {
  it('reads services and forwarding methods from /proc/net/ip_vs', () => {
    expect(parseProcIpvs(PROC_IPVS)).toEqual({ services: 2, modes: ['dr', 'nat'] });
    expect(parseProcIpvs('IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n')).toEqual({ services: 0, modes: [] });
  });

  it('sees virtual_server in keepalived.conf, not in a comment', () => {
    expect(keepalivedDeclaresServices('virtual_server 10.0.0.100 80 {\n  lb_kind DR\n}\n')).toEqual({ services: true, modes: ['dr'] });
    expect(keepalivedDeclaresServices('# virtual_server 10.0.0.100 80 {\n! lb_kind NAT\nvrrp_instance VI_1 {\n}\n')).toEqual({ services: false, modes: [] });
  });

  it('finds a real server VIP: /32 on lo or tunl0, not loopback, not an address of another interface', () => {
    const json = addr([
      ['lo', [['127.0.0.1', 8], ['10.0.0.100', 32], ['10.0.0.1', 32]]],
      ['eth0', [['10.0.0.1', 24]]],
      ['tunl0', [['10.0.0.101', 32]]],
    ]);
    expect(realServerVips(json)).toEqual([
      { vip: '10.0.0.100', iface: 'lo' },
      { vip: '10.0.0.101', iface: 'tunl0' },
    ]);
    expect(realServerVips('not json')).toEqual([]);
  });

  it('classifies a machine in every role it shows, or none', () => {
    expect(classifyMachine({ ...bare, addrJson: addr([['lo', [['127.0.0.1', 8]]], ['eth0', [['192.168.1.5', 24]]]]) }).roles).toEqual([]);
    const all = classifyMachine({
      ...bare,
      ipvs: PROC_IPVS,
      addrJson: addr([['lo', [['10.0.0.100', 32]]]]),
      lxdJson: JSON.stringify([{ name: 'web1', status: 'Running' }]),
      lxcLs: 'db1\n',
      vzlistJson: JSON.stringify([{ ctid: 101 }]),
    });
    expect(all.roles.map((r) => [r.role, r.modes])).toEqual([
      ['director', ['dr', 'nat']],
      ['real-server', ['dr']],
      ['container-host', []],
    ]);
    expect(all.roles[2]!.why).toBe('containers: lxd:web1, lxc:db1, vz:101');
    expect(classifyMachine({ ...bare, keepalivedConf: 'virtual_server 1.2.3.4 80 {\n lb_kind TUN\n}\n' }).roles).toEqual([
      { role: 'director', modes: ['tun'], why: '/etc/keepalived/keepalived.conf declares virtual_server' },
    ]);
  });

  it('tells the platform from systemd-detect-virt, /proc/1/environ and /proc/vz', () => {
    expect(platformFrom({ ...bare, detectVirt: 'none\n' }).platform).toBe('host');
    expect(platformFrom({ ...bare, detectVirt: 'lxc\n' }).platform).toBe('lxc');
    expect(platformFrom({ ...bare, detectVirt: 'lxc\n', devLxd: true }).platform).toBe('lxd');
    expect(platformFrom({ ...bare, initEnviron: 'PATH=/bin\0container=lxc\0' }).platform).toBe('lxc');
    expect(platformFrom({ ...bare, procVz: true, addrJson: addr([['venet0', [['10.0.0.5', 32]]]]) }).platform).toBe('openvz-venet');
    expect(platformFrom({ ...bare, detectVirt: 'openvz' }).platform).toBe('openvz-veth');
    // The OpenVZ host node itself has /proc/vz/version: it is a host.
    expect(platformFrom({ ...bare, procVz: true, procVzVersion: true }).platform).toBe('host');
    expect(platformFrom({ ...bare, detectVirt: 'docker' })).toMatchObject({ platform: 'host', why: expect.stringMatching(/not a platform the toolkit models/) });
  });
});

describe('targets', () => {
  it('--lab: every lab node with its role and the modes of its services', () => {
    const d = labDesign(toModel(EXAMPLES.dr));
    if (!d.ok) throw new Error(JSON.stringify(d.problems));
    const t = labTargets(d.design, (n) => ({ ...new LocalHost(), describe: () => `lab:${n}` }) as never);
    expect(t.map((x) => [x.node, x.role])).toEqual(d.design.nodes.map((n) => [n.name, n.role]));
    for (const x of t) expect(x.modes, x.node).toEqual(x.role === 'container-host' ? [] : ['dr']);
    expect(t.every((x) => x.model === d.design.model)).toBe(true);
  });

  it('modes per role: a director takes L4 services, a real server only its own', () => {
    const m = toModel(EXAMPLES.nat);
    const rs = m.services[0]!.realServers[0]!.name;
    expect(modesFor(m, m.directors[0]!.name, 'director')).toEqual(['nat']);
    expect(modesFor(m, rs, 'real-server')).toEqual(['nat']);
    expect(modesFor(m, 'stranger', 'real-server')).toEqual([]);
  });

  it('names nodes after the URI and knows the container platforms', () => {
    expect(describeUri('ssh://root@10.0.0.11:2222')).toEqual({ node: '10.0.0.11', platform: 'host' });
    expect(describeUri('lxd:web1')).toEqual({ node: 'web1', platform: 'lxd' });
    expect(describeUri('lxc:db')).toEqual({ node: 'db', platform: 'lxc' });
    expect(describeUri('vz:101')).toEqual({ node: 'ct101', platform: 'openvz-venet' });
    expect(describeUri('netns:rs1')).toEqual({ node: 'rs1', platform: 'host' });
  });

  it('a machine with no role is checked as a client', () => {
    const h = new LocalHost();
    expect(machineTargets('box', h, { roles: [], platform: 'host', platformWhy: '' }).map((t) => t.role)).toEqual(['client']);
  });
});
