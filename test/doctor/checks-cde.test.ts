/**
 * Checks of sections C, D, E: `evaluate` on hand-written observations (pass,
 * each way to fail, skip), and `detect` + `evaluate` on what the real DR lab
 * answered (fixtures/hosts/cde-dr-*: healthy; rs1's ARP sysctls zeroed; VRRP
 * dropped on dir2's input; lab-dr-listen-rip: rs2's web server bound to its
 * RIP), recorded with `lvs-doctor --lab --record` and replayed by
 * RecordedHost, which refuses anything unrecorded.
 */
import { describe, expect, it } from 'vitest';
import type { Check, CheckContext, Finding, Role } from '../../src/doctor/check.js';
import { GROUP_C_D_E } from '../../src/doctor/checks/group-c-d-e.js';
import { EXAMPLES } from '../../src/lab/examples.js';
import { labDesign } from '../../src/lab/topology.js';
import type { Installation } from '../../src/core/model.js';
import { scanKeepalived } from '../../src/doctor/cde-support.js';
import { fakeHost, inlineHost } from './fake-host-cde.js';
import { loadYamlModel, toModel } from '../helpers/fixtures.js';

const byId = (id: string): Check<any> => {
  const c = GROUP_C_D_E.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};

const labDr = (() => {
  const d = labDesign(toModel(EXAMPLES.dr));
  if (!d.ok) throw new Error('dr example has no lab design');
  return d.design;
})();

function labCtx(scenario: string, node: string): CheckContext {
  const spec = labDr.nodes.find((n) => n.name === node)!;
  const modes = [...new Set(labDr.model.services.filter((s) => spec.role !== 'real-server' || s.realServers.some((r) => r.name === node)).map((s) => s.mode))];
  const peers = new Map(labDr.nodes.filter((n) => n.name !== node).map((n) => [n.name, { role: n.role as Role, host: fakeHost(scenario, n.name) }]));
  return { node, role: spec.role as Role, platform: 'host', modes, model: labDr.model, peers };
}

async function runRecorded(scenario: string, node: string, id: string): Promise<Finding[]> {
  const c = byId(id);
  const ctx = labCtx(scenario, node);
  expect(c.appliesTo(ctx)).toBe(true);
  return c.evaluate(await c.detect(fakeHost(scenario, node), ctx), ctx);
}

const statuses = (fs: Finding[]) => fs.map((f) => f.status);

describe('the registry of group C/D/E', () => {
  it('has unique kebab-case ids matching the brief, each with a title and sources', () => {
    const ids = GROUP_C_D_E.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of GROUP_C_D_E) {
      expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(c.title.length).toBeGreaterThan(10);
      expect(c.sources.length).toBeGreaterThan(0);
      expect(['C', 'D', 'E']).toContain(c.section);
    }
    expect(ids).toEqual(expect.arrayContaining(['rs-vip', 'rs-arp-sysctls', 'vip-arp-answers', 'rs-tunnel', 'rs-rp-filter', 'rs-nat-route', 'dr-l2-adjacency', 'port-mapping', 'rs-firewall', 'vrrp-firewall', 'vrrp-transport', 'vrrp-vrid', 'vrrp-advert', 'vrrp-split-brain', 'keepalived-config-test', 'ipvs-table-sync', 'openvz-venet-vip', 'openvz-ipip', 'container-host-modules', 'container-nat-route']));
  });
});

describe('recorded DR lab (fixtures/hosts/cde-dr-*)', () => {
  it('a healthy DR pair passes every check that applies, on every node', async () => {
    for (const n of labDr.nodes) {
      const ctx = labCtx('cde-dr-healthy', n.name);
      for (const c of GROUP_C_D_E.filter((x) => x.appliesTo(ctx))) {
        const fs = c.evaluate(await c.detect(fakeHost('cde-dr-healthy', n.name), ctx), ctx);
        for (const f of fs) expect(['pass', 'skip'], `${n.name} ${c.id}: ${f.message}`).toContain(f.status);
      }
    }
    const arp = await runRecorded('cde-dr-healthy', 'dir1', 'vip-arp-answers');
    expect(arp[0]).toMatchObject({ status: 'pass' });
    expect(arp[0]!.message).toContain('(dir1 eth0)');
  });

  it('rs1 with arp_ignore/arp_announce 0: the sysctls fail on rs1 and the client hears two MACs, one of them rs1', async () => {
    const sys = await runRecorded('cde-dr-arp-leak', 'rs1', 'rs-arp-sysctls');
    expect(statuses(sys)).toEqual(['fail']);
    expect(sys[0]!.evidence.join('\n')).toContain('net.ipv4.conf.all.arp_ignore = 0, net.ipv4.conf.eth0.arp_ignore = 0 → effective 0');
    expect(sys[0]!.fix!.files[0]).toEqual({ path: '/etc/sysctl.d/60-lvs-toolkit.conf', lines: ['net.ipv4.conf.all.arp_ignore = 1', 'net.ipv4.conf.eth0.arp_ignore = 1', 'net.ipv4.conf.all.arp_announce = 2', 'net.ipv4.conf.eth0.arp_announce = 2'] });
    expect(sys[0]!.fix!.commands[0]).toEqual(['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1']);
    expect(statuses(await runRecorded('cde-dr-arp-leak', 'rs2', 'rs-arp-sysctls'))).toEqual(['pass']);
    const arp = await runRecorded('cde-dr-arp-leak', 'dir1', 'vip-arp-answers');
    expect(arp[0]).toMatchObject({ status: 'fail', subject: 'rs1' });
    expect(arp[0]!.message).toMatch(/^2 MACs answer ARP for 10\.0\.0\.100/);
    expect(arp[0]!.evidence.join('\n')).toContain('client$ arping -c 2 -w 3 -I eth0 10.0.0.100');
  });

  it('VRRP dropped on dir2: the split brain is reported on dir2 (the BACKUP) and dir2’s firewall is the cause', async () => {
    expect(statuses(await runRecorded('cde-dr-split-brain', 'dir2', 'vrrp-split-brain'))).toEqual(['fail']);
    expect(statuses(await runRecorded('cde-dr-split-brain', 'dir1', 'vrrp-split-brain'))).toEqual(['skip']);
    const fw = await runRecorded('cde-dr-split-brain', 'dir2', 'vrrp-firewall');
    expect(fw[0]).toMatchObject({ status: 'fail' });
    expect(fw[0]!.evidence.join('\n')).toContain('inet cde_break input: ip protocol vrrp drop');
    expect(fw[0]!.fix!.commands[0]!.slice(0, 6)).toEqual(['nft', 'insert', 'rule', 'inet', 'cde_break', 'input']);
    expect(statuses(await runRecorded('cde-dr-split-brain', 'dir1', 'vrrp-firewall'))).toEqual(['pass']);
  });
});

const drModel = labDr.model;
const rsCtx = (modes: CheckContext['modes'], model: Installation = drModel, node = 'rs1', platform: CheckContext['platform'] = 'host'): CheckContext => ({ node, role: 'real-server', platform, modes, model });
const dirCtx = (model: Installation = drModel, node = 'dir1'): CheckContext => ({ node, role: 'director', platform: 'host', modes: ['dr'], model });
const ifs = (...xs: Array<[string, string, number]>) => {
  const m = new Map<string, { ifname: string; flags: string[]; addrs: Array<{ local: string; prefixlen: number }> }>();
  for (const [ifname, local, prefixlen] of xs) {
    const e = m.get(ifname) ?? { ifname, flags: ['UP'], addrs: [] };
    e.addrs.push({ local, prefixlen });
    m.set(ifname, e);
  }
  return [...m.values()];
};

describe('rs-listening (recorded: fixtures/hosts/lab-dr-listen-rip, rs2 restarted as `busybox httpd -p 10.0.0.12:80`)', () => {
  const c = byId('rs-listening');
  it('rs2 bound to its RIP only fails; rs1 on 0.0.0.0 passes', async () => {
    const [bad] = await runRecorded('lab-dr-listen-rip', 'rs2', 'rs-listening');
    expect(bad!.status).toBe('fail');
    expect(bad!.message).toContain('listens only on 10.0.0.12');
    expect(bad!.evidence).toContain('tcp/80 listening on: 10.0.0.12');
    expect(statuses(await runRecorded('lab-dr-listen-rip', 'rs1', 'rs-listening'))).toEqual(['pass']);
  });
  it('parses ss: wildcard, v6, device-bound, udp', async () => {
    const { parseSsListening } = await import('../../src/doctor/checks/rs-listening.js');
    const text = 'LISTEN 0      4096         0.0.0.0:80        0.0.0.0:*\nLISTEN 0 511 *:443 *:*\nLISTEN 0 5 127.0.0.53%lo:53 0.0.0.0:*\nLISTEN 0 128 [::]:22 [::]:*\nLISTEN 0 128 [::ffff:10.0.0.100]:8080 [::]:*\n';
    expect(parseSsListening(text, 'tcp')).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 80 },
      { protocol: 'tcp', address: '*', port: 443 },
      { protocol: 'tcp', address: '127.0.0.53', device: 'lo', port: 53 },
      { protocol: 'tcp', address: '::', port: 22 },
      { protocol: 'tcp', address: '::ffff:10.0.0.100', port: 8080 },
    ]);
  });
  const sock = (address: string, port = 80, protocol: 'tcp' | 'udp' = 'tcp') => ({ protocol, address, port });
  it.each([
    ['DR on 0.0.0.0', ['dr'], [sock('0.0.0.0')], 'pass'],
    ['DR on the VIP', ['dr'], [sock('10.0.0.100')], 'pass'],
    ['DR dual-stack *', ['dr'], [sock('*')], 'pass'],
    ['DR on the RIP only', ['dr'], [sock('10.0.0.11')], 'fail'],
    ['DR nothing on the port', ['dr'], [sock('0.0.0.0', 8080)], 'fail'],
    ['DR udp socket does not serve tcp', ['dr'], [sock('0.0.0.0', 80, 'udp')], 'fail'],
  ] as const)('%s → %s', (_n, modes, sockets, status) => {
    const [f] = c.evaluate({ sockets: [...sockets], read: [] }, rsCtx([...modes]));
    expect(f!.status).toBe(status);
    if (status === 'fail') {
      expect(f!.fix!.commands).toEqual([]);
      expect(f!.fix!.why).toContain('0.0.0.0:80');
    }
  });
  it('NAT: the RIP is right; ss missing or no design is a skip', () => {
    const nat = toModel({ ...EXAMPLES.nat });
    const rip = nat.services[0]!.realServers[0]!;
    const port = rip.port || nat.services[0]!.ports[0]!;
    expect(c.evaluate({ sockets: [sock(rip.address, port)], read: [] }, rsCtx(['nat'], nat, rip.name))[0]!.status).toBe('pass');
    expect(c.evaluate({ sockets: [sock(nat.services[0]!.vip, port)], read: [] }, rsCtx(['nat'], nat, rip.name))[0]!.status).toBe('fail');
    expect(c.evaluate({ read: ['ss: exit 127'] }, rsCtx(['dr']))[0]!.status).toBe('skip');
    expect(c.evaluate({ sockets: [], read: [] }, { ...rsCtx(['dr']), model: undefined })[0]!.status).toBe('skip');
  });
});

describe('rs-vip', () => {
  const c = byId('rs-vip');
  it.each([
    ['/32 on lo', ifs(['lo', '127.0.0.1', 8], ['lo', '10.0.0.100', 32], ['eth0', '10.0.0.11', 24]), 'pass', undefined],
    ['missing', ifs(['lo', '127.0.0.1', 8], ['eth0', '10.0.0.11', 24]), 'fail', [['ip', 'addr', 'replace', '10.0.0.100/32', 'dev', 'lo']]],
    ['/24 on lo (seed 000 wrote `ip addr add VIP dev lo` — that is /32; a /24 swallows the subnet)', ifs(['lo', '10.0.0.100', 24], ['eth0', '10.0.0.11', 24]), 'fail', [['ip', 'addr', 'del', '10.0.0.100/24', 'dev', 'lo'], ['ip', 'addr', 'replace', '10.0.0.100/32', 'dev', 'lo']]],
    ['on eth0', ifs(['eth0', '10.0.0.11', 24], ['eth0', '10.0.0.100', 32]), 'fail', [['ip', 'addr', 'del', '10.0.0.100/32', 'dev', 'eth0'], ['ip', 'addr', 'replace', '10.0.0.100/32', 'dev', 'lo']]],
  ])('%s', (_n, ifaces, status, commands) => {
    const [f] = c.evaluate({ ifaces }, rsCtx(['dr']));
    expect(f!.status).toBe(status);
    if (commands) expect(f!.fix!.commands).toEqual(commands);
  });
  it('skips when ip is missing or no design names the node', () => {
    expect(c.evaluate({}, rsCtx(['dr']))[0]!.status).toBe('skip');
    expect(c.evaluate({ ifaces: [] }, { ...rsCtx(['dr']), model: undefined })[0]!.status).toBe('skip');
  });
  it('TUN: the VIP belongs on tunl0; without tunl0 it defers to rs-tunnel', () => {
    const tun = toModel({ ...EXAMPLES.tun });
    expect(c.evaluate({ ifaces: ifs(['tunl0', '10.0.0.100', 32]) }, rsCtx(['tun'], tun))[0]!.status).toBe('pass');
    expect(c.evaluate({ ifaces: ifs(['lo', '10.0.0.100', 32]) }, rsCtx(['tun'], tun))[0]!.message).toContain('see rs-tunnel');
  });
  it('TUN: tunl0 exists but lost the VIP (ip -4 addr does not list it) → fail, the VIP goes back on tunl0', () => {
    const tun = toModel({ ...EXAMPLES.tun });
    const [f] = c.evaluate({ ifaces: ifs(['lo', '127.0.0.1', 8], ['eth0', '10.0.0.11', 24]), tunl0Exists: true }, rsCtx(['tun'], tun));
    expect(f!.status).toBe('fail');
    expect(f!.fix!.commands).toEqual([['ip', 'addr', 'replace', '10.0.0.100/32', 'dev', 'tunl0']]);
  });
  it('TUN detect asks `ip link` about tunl0 when `ip -4 addr` does not show it', async () => {
    const tun = toModel({ ...EXAMPLES.tun });
    const host = inlineHost('rs1', {
      'ip -j -4 addr show': { stdout: JSON.stringify([{ ifname: 'lo', flags: ['UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] }]) },
      'ip -j link show tunl0': { stdout: JSON.stringify([{ ifname: 'tunl0', flags: ['NOARP', 'UP'] }]) },
    }, {});
    const ctx = rsCtx(['tun'], tun);
    expect(await c.detect(host, ctx)).toMatchObject({ tunl0Exists: true });
    expect(c.evaluate(await c.detect(host, ctx), ctx)[0]!.status).toBe('fail');
  });
});

describe('rs-arp-sysctls: the effective value is max(all, iface)', () => {
  const c = byId('rs-arp-sysctls');
  it.each([
    [{ arpIgnore: 1, arpAnnounce: 2 }, { arpIgnore: 0, arpAnnounce: 0 }, 'pass'],
    [{ arpIgnore: 0, arpAnnounce: 0 }, { arpIgnore: 1, arpAnnounce: 2 }, 'pass'],
    [{ arpIgnore: 0, arpAnnounce: 2 }, { arpIgnore: 0, arpAnnounce: 2 }, 'fail'],
    [{ arpIgnore: 1, arpAnnounce: 1 }, { arpIgnore: 1, arpAnnounce: 1 }, 'fail'],
    [{}, {}, 'skip'],
  ])('all %j, eth0 %j → %s', (all, dev, status) => {
    expect(c.evaluate({ iface: 'eth0', ifaceFrom: 'test', all, dev }, rsCtx(['dr']))[0]!.status).toBe(status);
  });
});

describe('rs-rp-filter', () => {
  const c = byId('rs-rp-filter');
  it('passes loose or off, fails strict on either, sets only what is strict', () => {
    expect(c.evaluate({ ingress: 'eth0', all: 0, ifaces: { tunl0: 0, eth0: 2 } }, rsCtx(['tun']))[0]!.status).toBe('pass');
    const f = c.evaluate({ ingress: 'eth0', all: 1, ifaces: { tunl0: 0, eth0: 0 } }, rsCtx(['tun']))[0]!;
    expect(f.status).toBe('fail');
    expect(f.fix!.files[0]!.lines).toEqual(['net.ipv4.conf.all.rp_filter = 0']);
    const g = c.evaluate({ ingress: 'eth0', all: 0, ifaces: { tunl0: 1, eth0: 0 } }, rsCtx(['tun']))[0]!;
    expect(g.fix!.commands).toEqual([['sysctl', '-w', 'net.ipv4.conf.tunl0.rp_filter=0']]);
    expect(c.evaluate({ ingress: 'eth0', all: 0, ifaces: { tunl0: undefined, eth0: 0 } }, rsCtx(['tun']))[0]!.status).toBe('skip');
  });
});

describe('rs-tunnel', () => {
  const c = byId('rs-tunnel');
  it('absent, down, up; a container is told to ask its host', () => {
    expect(c.evaluate({ tunl0: { present: false, error: 'Device "tunl0" does not exist.' }, ipipLoaded: false }, rsCtx(['tun']))[0]!.fix!.commands[0]).toEqual(['modprobe', 'ipip']);
    expect(c.evaluate({ tunl0: { present: true, flags: ['NOARP'] }, ipipLoaded: true }, rsCtx(['tun']))[0]!.fix!.commands).toEqual([['ip', 'link', 'set', 'tunl0', 'up']]);
    expect(c.evaluate({ tunl0: { present: true, flags: ['NOARP', 'UP', 'LOWER_UP'] }, ipipLoaded: true }, rsCtx(['tun']))[0]!.status).toBe('pass');
    const seed2 = loadYamlModel('fixtures/answers/seed-002-tun-openvz.yaml');
    const f = c.evaluate({ tunl0: { present: false, error: 'x' } }, rsCtx(['tun'], seed2, 'test1', 'openvz-venet'))[0]!;
    expect(f.fix!.commands).toEqual([]);
    // The fix belongs to the container's host: it is named, and nothing is written in the container.
    expect(f.fix!.files).toEqual([]);
    expect(f.fix!.why).toMatch(/on the container host node1 run modprobe ipip/);
    expect(c.evaluate({ tunl0: undefined }, rsCtx(['tun']))[0]!.status).toBe('skip');
  });
});

describe('rs-nat-route / container-nat-route (seed 004: gateway 10.8.8.30)', () => {
  const seed4 = loadYamlModel('fixtures/answers/seed-004-nat-fwmark.yaml');
  const rs = seed4.services[0]!.realServers[0]!.name;
  it('via the NAT router passes; via the bridge, or on-link, fails with the route fix', () => {
    const c = byId('rs-nat-route');
    const ok = { client: '198.51.100.1', clientFrom: 'x', route: { dst: '198.51.100.1', gateway: '10.8.8.30', dev: 'eth1' } };
    expect(c.evaluate(ok, rsCtx(['nat'], seed4, rs))[0]!.status).toBe('pass');
    const bad = c.evaluate({ ...ok, route: { dst: '198.51.100.1', gateway: '10.8.8.1', dev: 'eth1' } }, rsCtx(['nat'], seed4, rs))[0]!;
    expect(bad.status).toBe('fail');
    expect(bad.fix!.commands[0]).toEqual(['ip', 'route', 'replace', 'default', 'via', '10.8.8.30', 'dev', seed4.services[0]!.realServers[0]!.interface]);
    const lxd = byId('container-nat-route').evaluate({ ...ok, route: { dst: '198.51.100.1', gateway: '10.8.8.1', dev: 'eth0' } }, rsCtx(['nat'], seed4, rs, 'lxd'))[0]!;
    expect(lxd.message).toContain('lxdbr0');
    expect(byId('rs-nat-route').appliesTo(rsCtx(['nat'], seed4, rs, 'lxd'))).toBe(false);
    expect(byId('container-nat-route').appliesTo(rsCtx(['nat'], seed4, rs, 'lxd'))).toBe(true);
  });
});

describe('director-side checks', () => {
  it('dr-l2-adjacency fails a real server behind a router', () => {
    const c = byId('dr-l2-adjacency');
    const fs = c.evaluate({ routes: [{ rs: 'rs1', address: '10.0.0.11', route: { dst: '10.0.0.11', dev: 'eth0' } }, { rs: 'rs2', address: '10.0.0.12', route: { dst: '10.0.0.12', gateway: '10.0.0.254', dev: 'eth0' } }] }, dirCtx());
    expect(statuses(fs)).toEqual(['pass', 'fail']);
    expect(fs[1]!.subject).toBe('rs2');
  });
  it('port-mapping: in the design and in the live table', () => {
    const c = byId('port-mapping');
    expect(c.evaluate({ table: '' }, dirCtx())[0]!.status).toBe('pass');
    const m = structuredClone(drModel);
    m.services[0]!.realServers[0]!.port = 8080;
    expect(c.evaluate({}, dirCtx(m))[0]!.status).toBe('fail');
    const live = 'TCP  10.0.0.100:80 rr\n  -> 10.0.0.11:8080                 Route   1      0          0\n';
    expect(c.evaluate({ table: live }, dirCtx())[0]!.evidence).toEqual(['ipvsadm -Ln: 10.0.0.100:80 -> 10.0.0.11:8080 Route']);
  });
  it('ipvs-table-sync: alive but missing, dead but weighted', () => {
    const c = byId('ipvs-table-sync');
    const table = 'TCP  10.0.0.100:80 rr\n  -> 10.0.0.12:80                 Route   1      0          0\n';
    const f = c.evaluate({ table, probes: [{ service: 'web', rs: 'rs1', address: '10.0.0.11', port: 80, alive: true }, { service: 'web', rs: 'rs2', address: '10.0.0.12', port: 80, alive: false }] }, dirCtx())[0]!;
    expect(f.status).toBe('fail');
    expect(f.message).toContain('rs1 answers but is not in the table; rs2 does not answer but still takes traffic');
    // Without systemd (the lab, most containers) keepalived is signalled through its pid file, never systemctl.
    expect(f.fix!.commands[0]).toEqual(['ipvsadm', '-a', '-t', '10.0.0.100:80', '-r', '10.0.0.11:80', '-g', '-w', '1']);
    expect(f.fix!.commands[1]![0]).toBe('sh');
    expect(f.fix!.commands[1]!.join(' ')).toContain('kill -HUP "$(cat /run/keepalived.pid)"');
    expect(f.fix!.commands.flat()).not.toContain('systemctl');
    const sd = c.evaluate({ table, probes: [{ service: 'web', rs: 'rs2', address: '10.0.0.12', port: 80, alive: false }], serviceManager: 'systemd' }, dirCtx())[0]!;
    expect(sd.fix!.commands).toEqual([['systemctl', 'reload-or-restart', 'keepalived']]);
  });
  it('the service manager: systemd only when systemctl answers for a running manager', async () => {
    const { detectServiceManager } = await import('../../src/doctor/cde-support.js');
    expect(await detectServiceManager(inlineHost('a', { 'systemctl is-system-running': { stdout: 'degraded\n', exitCode: 1 } }, {}))).toBe('systemd');
    expect(await detectServiceManager(inlineHost('b', { 'systemctl is-system-running': { stdout: 'offline\n', exitCode: 1 } }, {}))).toBe('direct');
    expect(await detectServiceManager(inlineHost('c', { 'systemctl is-system-running': { stderr: 'systemctl: not found', exitCode: 127 } }, {}))).toBe('direct');
  });
  it('keepalived-config-test: 0 passes, 5 fails with its messages, script security gets its own fix, 143 warns', () => {
    const c = byId('keepalived-config-test');
    expect(c.evaluate({ present: true, result: { exitCode: 0, stderr: '' } }, dirCtx())[0]!.status).toBe('pass');
    const bad = c.evaluate({ present: true, result: { exitCode: 5, stderr: '(/etc/keepalived/keepalived.conf: Line 30) Unknown keyword \'lb_algoo\'\n' } }, dirCtx())[0]!;
    expect(bad.status).toBe('fail');
    expect(bad.evidence).toContain("(/etc/keepalived/keepalived.conf: Line 30) Unknown keyword 'lb_algoo'");
    const sec = c.evaluate({ present: true, result: { exitCode: 5, stderr: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.\n' } }, dirCtx())[0]!;
    expect(sec.fix!.why).toContain('enable_script_security');
    // A config error is a person's edit: the finding writes nothing and runs nothing (--fix does not claim it).
    expect(sec.fix!.commands).toEqual([]);
    expect(bad.fix!.files).toEqual([]);
    expect(bad.fix!.commands).toEqual([]);
    expect(c.evaluate({ present: true, result: { exitCode: 143, stderr: 'Terminated' } }, dirCtx())[0]!.status).toBe('warn');
    expect(c.evaluate({ present: false }, dirCtx())[0]!.status).toBe('skip');
  });
});

const conf = (body: string) => scanKeepalived(body);
describe('VRRP config checks', () => {
  it('vrrp-advert: 0.5 with v2 fails, with v3 (global or per instance) passes', () => {
    const c = byId('vrrp-advert');
    expect(c.evaluate({ conf: conf('vrrp_instance A {\n interface eth0\n virtual_router_id 5\n advert_int 0.5\n}\n') }, dirCtx())[0]!.status).toBe('fail');
    expect(c.evaluate({ conf: conf('global_defs {\n vrrp_version 3\n}\nvrrp_instance A {\n advert_int 0.5\n}\n') }, dirCtx())[0]!.status).toBe('pass');
    expect(c.evaluate({ conf: conf('vrrp_instance A {\n advert_int 0.1\n version 3\n}\n') }, dirCtx())[0]!.status).toBe('pass');
  });
  it('vrrp-transport: multicast on AWS fails, and the fix names the peer', () => {
    const c = byId('vrrp-transport');
    const mc = conf('vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n}\n');
    const f = c.evaluate({ conf: mc, dmi: 'Amazon EC2 t3.micro', venet: false }, dirCtx())[0]!;
    expect(f.status).toBe('fail');
    expect(f.fix!.files[0]!.lines).toContain('    10.0.0.2');
    expect(c.evaluate({ conf: mc, dmi: 'QEMU Standard PC', venet: false }, dirCtx())[0]!.status).toBe('pass');
    const wrongPeer = conf('vrrp_instance VI_1 {\n unicast_peer {\n 10.0.0.9\n }\n}\n');
    expect(c.evaluate({ conf: wrongPeer, venet: false }, dirCtx())[0]!.status).toBe('fail');
  });
  it('vrrp-vrid: duplicates in the config, and a foreign router with our VRID on the wire', () => {
    const c = byId('vrrp-vrid');
    const dup = conf('vrrp_instance A {\n interface eth0\n virtual_router_id 51\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 51\n}\n');
    expect(c.evaluate({ conf: dup, wire: [] }, dirCtx())[0]!.status).toBe('fail');
    const one = conf('vrrp_instance A {\n interface eth0\n virtual_router_id 51\n}\n');
    const wire = [{ iface: 'eth0', adverts: [{ src: '10.0.0.1', vrid: 51 }, { src: '10.0.0.77', vrid: 51 }] }];
    const f = c.evaluate({ conf: one, wire }, dirCtx())[0]!;
    expect(f.status).toBe('fail');
    expect(f.message).toContain('10.0.0.77');
  });
});

/** nft -j list ruleset for hand-written tables: chains are [family, table, name, hook?, policy?], rules [family, table, chain, expr[]]. */
const nftJson = (chains: Array<[string, string, string, string?, string?]>, rules: Array<[string, string, string, unknown[]]>) =>
  JSON.stringify({
    nftables: [
      ...chains.map(([family, table, name, hook, policy]) => ({ chain: { family, table, name, ...(hook ? { type: 'filter', hook, prio: 0, policy: policy ?? 'accept' } : {}) } })),
      ...rules.map(([family, table, chain, expr], i) => ({ rule: { family, table, chain, handle: i + 2, expr } })),
    ],
  });
const dport = (proto: string, port: number) => ({ match: { op: '==', left: { payload: { protocol: proto, field: 'dport' } }, right: port } });
const daddr = (a: string) => ({ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: a } });
const protoIs = (p: string) => ({ match: { op: '==', left: { payload: { protocol: 'ip', field: 'protocol' } }, right: p } });
const fw = (nft: string) => ({ firewall: { rules: { nftJson: nft }, notes: [] } });

describe('rs-firewall / vrrp-firewall: one reading of the ruleset (firewall-packet.ts), the accept goes where the drop is', () => {
  const rsFw = byId('rs-firewall');
  const vrrpFw = byId('vrrp-firewall');
  it('a policy drop with only ssh allowed fails; the fix inserts into that chain, and its file line is an nft command', () => {
    const nft = nftJson([['inet', 'f', 'input', 'input', 'drop']], [['inet', 'f', 'input', [dport('tcp', 22), { accept: null }]]]);
    const [f] = rsFw.evaluate(fw(nft), rsCtx(['dr']));
    expect(f!.status).toBe('fail');
    expect(f!.fix!.commands).toEqual([['nft', 'insert', 'rule', 'inet', 'f', 'input', 'ip', 'daddr', '10.0.0.100', 'tcp', 'dport', '80', 'accept']]);
    expect(f!.fix!.files).toEqual([{ path: '/etc/lvs-toolkit/doctor-fixes.nft', lines: ['insert rule inet f input ip daddr 10.0.0.100 tcp dport 80 accept'] }]);
    const open = nftJson([['inet', 'f', 'input', 'input', 'drop']], [['inet', 'f', 'input', [dport('tcp', 80), { accept: null }]]]);
    expect(rsFw.evaluate(fw(open), rsCtx(['dr']))[0]!.status).toBe('pass');
  });
  it('an accept in one base chain does not save the packet from a drop in another on the same hook', () => {
    const nft = nftJson(
      [['inet', 'lvs_toolkit', 'input', 'input'], ['inet', 'breakrs', 'in', 'input']],
      [['inet', 'lvs_toolkit', 'input', [daddr('10.0.0.100'), dport('tcp', 80), { accept: null }]], ['inet', 'breakrs', 'in', [daddr('10.0.0.100'), dport('tcp', 80), { drop: null }]]],
    );
    const [f] = rsFw.evaluate(fw(nft), rsCtx(['dr']));
    expect(f!.status).toBe('fail');
    expect(f!.fix!.commands[0]!.slice(0, 6)).toEqual(['nft', 'insert', 'rule', 'inet', 'breakrs', 'in']);
  });
  it('NAT: the packet is judged to the RIP; iptables-save rules get an iptables -I fix', () => {
    const nat = toModel({ ...EXAMPLES.nat });
    const save = ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp -m tcp --dport 80 -j DROP', 'COMMIT', ''].join('\n');
    const [f] = rsFw.evaluate({ firewall: { rules: { iptablesSave: save }, notes: [] } }, rsCtx(['nat'], nat));
    expect(f!.status).toBe('fail');
    expect(f!.fix!.commands[0]).toEqual(['iptables', '-t', 'filter', '-I', 'INPUT', '-d', nat.services[0]!.realServers[0]!.address, '-p', 'tcp', '--dport', '80', '-j', 'ACCEPT']);
  });
  it('a drop behind a mark match is a doubt (warn), never a certain failure; nothing readable is a skip', () => {
    const nft = nftJson([['inet', 'f', 'input', 'input']], [['inet', 'f', 'input', [{ match: { op: '==', left: { meta: { key: 'mark' } }, right: 1 } }, { drop: null }]]]);
    expect(rsFw.evaluate(fw(nft), rsCtx(['dr']))[0]!.status).toBe('warn');
    expect(rsFw.evaluate({ firewall: { rules: {}, notes: ['nft: not installed'] } }, rsCtx(['dr']))[0]!.status).toBe('skip');
  });
  it('vrrp-firewall: protocol 112 dropped in its own table fails, the fix inserts into that table’s chain', () => {
    const nft = nftJson([['inet', 'breakvrrp', 'in', 'input']], [['inet', 'breakvrrp', 'in', [protoIs('vrrp'), { drop: null }]]]);
    const [f] = vrrpFw.evaluate(fw(nft), dirCtx(drModel, 'dir2'));
    expect(f!.status).toBe('fail');
    expect(f!.fix!.commands[0]!.slice(0, 6)).toEqual(['nft', 'insert', 'rule', 'inet', 'breakvrrp', 'in']);
    expect(f!.fix!.commands[0]!.slice(-4)).toEqual(['ip', 'protocol', 'vrrp', 'accept']);
    const tcpOnly = nftJson([['inet', 'f', 'in', 'input']], [['inet', 'f', 'in', [dport('tcp', 22), { drop: null }]]]);
    expect(vrrpFw.evaluate(fw(tcpOnly), dirCtx(drModel, 'dir2'))[0]!.status).toBe('pass');
  });
});

describe('container hosts (inline outputs: OpenVZ cannot run here)', () => {
  const seed2 = loadYamlModel('fixtures/answers/seed-002-tun-openvz.yaml');
  const hostCtx: CheckContext = { node: 'node1', role: 'container-host', platform: 'host', modes: ['tun'], model: seed2 };
  it('openvz-venet-vip: the seed-002 state (VIP added by --ipadd, route not yet deleted) fails; after the route is gone it passes', async () => {
    const c = byId('openvz-venet-vip');
    const host = inlineHost(
      'node1',
      { 'ip route show dev venet0': { stdout: '192.168.10.21 scope link \n192.168.10.100 scope link \n' }, 'ip neigh show proxy': { stdout: '192.168.10.21 dev eth0 proxy\n192.168.10.100 dev eth0 proxy\n' } },
      { '/etc/vz/conf/201.conf': 'IP_ADDRESS="192.168.10.21 192.168.10.100"\nFEATURES="ipip:on"\n' },
    );
    const f = c.evaluate(await c.detect(host, hostCtx), hostCtx)[0]!;
    expect(f.status).toBe('fail');
    expect(f.fix!.commands).toEqual([['ip', 'route', 'del', '192.168.10.100/32', 'dev', 'venet0'], ['ip', 'neigh', 'del', 'proxy', '192.168.10.100', 'dev', 'eth0']]);
    expect(f.fix!.files[0]!.path).toBe('/etc/vz/conf/201.mount');
    expect(c.evaluate({ venetRoutes: '192.168.10.21 scope link\n', proxy: '', ipAddress: { 201: '192.168.10.21 192.168.10.100' } }, hostCtx)[0]!.status).toBe('pass');
    expect(c.evaluate({ venetRoutes: '', proxy: '', ipAddress: { 201: '192.168.10.21' } }, hostCtx)[0]!.fix!.commands[0]).toEqual(['vzctl', 'set', '201', '--ipadd', '192.168.10.100', '--save']);
  });
  it('openvz-ipip reads FEATURES', async () => {
    const c = byId('openvz-ipip');
    const off = inlineHost('node1', {}, { '/etc/vz/conf/201.conf': 'IP_ADDRESS="192.168.10.21"\n' });
    const f = c.evaluate(await c.detect(off, hostCtx), hostCtx)[0]!;
    expect(f.status).toBe('fail');
    expect(f.fix!.commands[0]).toEqual(['vzctl', 'set', '201', '--feature', 'ipip:on', '--save']);
    const on = inlineHost('node1', {}, { '/etc/vz/conf/201.conf': 'FEATURES="ipip:on"\n' });
    expect(c.evaluate(await c.detect(on, hostCtx), hostCtx)[0]!.status).toBe('pass');
  });
  it('container-host-modules: ipip missing on the host of a TUN container', async () => {
    const c = byId('container-host-modules');
    const host = inlineHost('node1', { 'uname -r': { stdout: '2.6.32-042stab\n' } }, { '/proc/modules': 'vznetdev 1 0 - Live 0x0\n', '/lib/modules/2.6.32-042stab/modules.builtin': null });
    const f = c.evaluate(await c.detect(host, hostCtx), hostCtx)[0]!;
    expect(f.status).toBe('fail');
    expect(f.fix).toMatchObject({ commands: [['modprobe', 'ipip']], files: [{ path: '/etc/modules-load.d/lvs-toolkit.conf', lines: ['ipip'] }] });
  });
  it('the fake host refuses an unrecorded command', async () => {
    await expect(inlineHost('x', {}, {}).run(['ip', 'link'])).rejects.toThrow(/unrecorded command/);
  });
});
