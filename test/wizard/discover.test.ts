/**
 * Discovery: the director's interfaces from the real `ip -j addr` of a
 * throw-away namespace, and containers from what LXD, LXC and OpenVZ print
 * (their documented output shapes), read through a Host.
 */
import { describe, expect, it } from 'vitest';
import type { Host, RunResult } from '../../src/host/types.js';
import { discoverInterfaces, discoverServers, interfacesFromIpJson, serversFromLxcLs, serversFromLxdJson, serversFromVzlist } from '../../src/wizard/discover.js';
import { runIn, withNetns } from '../helpers/netns.js';

const LXD_JSON = JSON.stringify([
  {
    name: 'web1',
    status: 'Running',
    state: {
      network: {
        eth0: { addresses: [{ family: 'inet', address: '10.156.178.162', netmask: '24', scope: 'global' }, { family: 'inet6', address: 'fe80::1', netmask: '64', scope: 'link' }] },
        lo: { addresses: [{ family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' }] },
      },
    },
  },
  { name: 'web2', status: 'Stopped', state: null },
]);

const LXC_LS = `NAME   STATE   AUTOSTART GROUPS IPV4                  IPV6 UNPRIVILEGED
app1   RUNNING 1         -      10.0.3.10             -    false
app2   RUNNING 0         -      10.0.3.20, 10.0.3.21  -    false
build  STOPPED 0         -      -                     -    false
`;

const VZLIST = JSON.stringify([
  { ctid: 201, hostname: 'test1.example.org', ip: ['192.168.10.21'], status: 'running' },
  { ctid: 202, hostname: 'test2', ip: [], status: 'running' },
]);

describe('parsers', () => {
  it('LXD: names with the first global IPv4 of a non-lo device; a stopped container has none', () => {
    expect(serversFromLxdJson(LXD_JSON)).toEqual([
      { name: 'web1', platform: 'lxd', address: '10.156.178.162' },
      { name: 'web2', platform: 'lxd' },
    ]);
  });
  it('LXC: the IPV4 column cut at the header, first address of a list, "-" as none', () => {
    expect(serversFromLxcLs(LXC_LS)).toEqual([
      { name: 'app1', platform: 'lxc', address: '10.0.3.10' },
      { name: 'app2', platform: 'lxc', address: '10.0.3.20' },
      { name: 'build', platform: 'lxc' },
    ]);
  });
  it('OpenVZ: venet when vzlist lists addresses, veth otherwise; the short host name', () => {
    expect(serversFromVzlist(VZLIST)).toEqual([
      { name: 'test1', platform: 'openvz-venet', address: '192.168.10.21', ctid: 201 },
      { name: 'test2', platform: 'openvz-veth', ctid: 202 },
    ]);
  });
  it('unreadable output is "none found", never a throw', () => {
    expect(interfacesFromIpJson('not json')).toEqual([]);
    expect(serversFromLxdJson('{')).toEqual([]);
    expect(serversFromLxcLs('garbage')).toEqual([]);
    expect(serversFromVzlist('')).toEqual([]);
  });
});

/** A Host that runs commands in a namespace, and knows no container manager (exit 127, as a shell says). */
function nsHost(ns: string): Host {
  return {
    run: async (argv): Promise<RunResult> => {
      if (argv[0] !== 'ip') return { stdout: '', stderr: `${argv[0]}: not found`, exitCode: 127 };
      const r = runIn(ns, [...argv]);
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
    },
    readFile: async () => undefined,
    writeFile: async () => undefined,
    stream: () => {
      throw new Error('not used');
    },
    describe: () => `netns:${ns}`,
  };
}

describe('through a Host', () => {
  it('the interfaces of a namespace with eth0 10.0.0.1/24, from the real ip -j addr', async () => {
    await withNetns(['eth0'], async (ns) => {
      runIn(ns, ['ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
      const found = await discoverInterfaces(nsHost(ns));
      expect(found).toContainEqual({ name: 'eth0', address: '10.0.0.1/24' });
      expect(found.find((f) => f.name === 'lo')).toBeDefined();
      expect(await discoverServers(nsHost(ns))).toEqual([]);
    });
  });
});
