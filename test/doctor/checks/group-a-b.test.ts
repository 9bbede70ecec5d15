import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckContext, Finding } from '../../../src/doctor/check.js';
import { GROUP_A_B } from '../../../src/doctor/checks/group-a-b.js';
import { check as backupOnly } from '../../../src/doctor/checks/backup-only.js';
import { check as connReuse } from '../../../src/doctor/checks/conn-reuse-mode.js';
import { check as containerModules } from '../../../src/doctor/checks/container-modules.js';
import { check as rpFilter } from '../../../src/doctor/checks/director-rp-filter.js';
import { check as ipForward } from '../../../src/doctor/checks/ip-forward.js';
import { check as ipVsModules } from '../../../src/doctor/checks/ip-vs-modules.js';
import { check as ipvsExpire } from '../../../src/doctor/checks/ipvs-expire-sysctls.js';
import { check as vrrpStrict } from '../../../src/doctor/checks/vrrp-strict-accept.js';
import { packetVerdict } from '../../../src/doctor/firewall-packet.js';
import { parseProcIpVs } from '../../../src/doctor/ab-support.js';
import { RecordedHost, loadRecording } from '../../../src/host/recorded.js';
import type { LabDesign } from '../../../src/lab/topology.js';
import { designContext } from '../ab-context.js';
import { ROOT } from '../../helpers/fixtures.js';

const HOSTS = join(ROOT, 'fixtures', 'hosts');
/** The lab's `--example nat` design (captured with the fixtures): dir1 two-arm NAT to rs1, rs2. */
const natDesign = JSON.parse(readFileSync(join(HOSTS, 'lab-nat-healthy', 'design.json'), 'utf8')) as LabDesign;
const natCtx = designContext(natDesign, 'dir1');
const bare: CheckContext = { node: 'dir1', role: 'director', platform: 'host', modes: [] };

async function runAll(scenario: string, ctx: CheckContext, only?: string[]): Promise<Array<{ id: string } & Finding>> {
  const host = new RecordedHost(await loadRecording(join(HOSTS, scenario), 'dir1'));
  const out: Array<{ id: string } & Finding> = [];
  for (const c of GROUP_A_B) {
    if (!c.appliesTo(ctx) || (only && !only.includes(c.id))) continue;
    for (const f of c.evaluate(await c.detect(host, ctx), ctx)) out.push({ id: c.id, ...f });
  }
  return out;
}

describe('A/B checks on a recorded lab director (real IPVS kernel output)', () => {
  it('a healthy NAT director has no failure', async () => {
    const r = await runAll('lab-nat-healthy', natCtx);
    expect(r.filter((f) => f.status === 'fail' || f.status === 'error')).toEqual([]);
    expect(r.find((f) => f.id === 'forward-policy')?.status).toBe('pass');
    expect(r.find((f) => f.id === 'director-firewall')?.status).toBe('pass');
  });

  it('the broken director: ip_forward 0, forward policy drop with ct state invalid drop, a drop for VIP:80', async () => {
    const r = await runAll('lab-nat-broken', natCtx);
    const fails = r.filter((f) => f.status === 'fail');
    expect([...new Set(fails.map((f) => f.id))].sort()).toEqual(['director-firewall', 'forward-policy', 'ip-forward', 'vs-conntrack']);
    const fwd = fails.find((f) => f.id === 'forward-policy')!;
    expect(fwd.evidence.join('\n')).toContain('inet breakfw breakfwd: policy drop');
    expect(fwd.fix?.commands[0]).toEqual(['nft', 'insert', 'rule', 'inet', 'breakfw', 'breakfwd', 'iifname', 'eth1', 'ip', 'saddr', '10.0.1.11', 'tcp', 'sport', '80', 'accept']);
    const fw = fails.find((f) => f.id === 'director-firewall')!;
    expect(fw.evidence.join('\n')).toMatch(/ip daddr 10\.0\.0\.100 tcp dport 80 counter drop/);
    expect(fails.find((f) => f.id === 'ip-forward')?.fix?.files).toEqual([{ path: '/etc/sysctl.d/60-lvs-toolkit.conf', lines: ['net.ipv4.ip_forward = 1'] }]);
  });

  it('without a design, the live IPVS table tells NAT (Masq) and the VIP', async () => {
    const r = await runAll('lab-nat-broken', bare, ['ip-forward', 'director-firewall', 'forward-policy', 'vs-conntrack']);
    expect(r.find((f) => f.id === 'ip-forward')?.status).toBe('fail');
    expect(r.find((f) => f.id === 'director-firewall')?.status).toBe('fail');
    // Without the design the arm the replies arrive on is unknown: the accept on iifname "eth1" may match, so only a warning.
    const fwd = r.find((f) => f.id === 'forward-policy')!;
    expect(fwd.status).toBe('warn');
    expect(fwd.evidence.join('\n')).toMatch(/not modelled: .*meta iifname eth1.*would accept/);
    expect(r.find((f) => f.id === 'vs-conntrack')?.status).toBe('fail');
  });

  it('a recorded host that lacks what a detect reads fails loudly', async () => {
    const host = new RecordedHost({ format: 'lvs-toolkit/recorded-host/1', node: 'x', host: 'x', runs: [], files: [] });
    await expect(ipForward.detect(host, natCtx)).rejects.toThrow(/nothing recorded/);
  });
});

describe('evaluate (pure)', () => {
  it('ip-forward: pass, fail, skip without NAT', () => {
    expect(ipForward.evaluate({ ipForward: 1, live: undefined }, natCtx)[0]!.status).toBe('pass');
    expect(ipForward.evaluate({ ipForward: 0, live: undefined }, natCtx)[0]!.status).toBe('fail');
    expect(ipForward.evaluate({ ipForward: 0, live: [] }, { ...bare, modes: ['dr'] })[0]!.status).toBe('skip');
  });

  it('ip-vs-modules: a missing scheduler fails, a loadable one passes, no modinfo skips', () => {
    const base = { procIpVs: true, release: '6.1.0', wanted: ['ip_vs', 'ip_vs_wrr'], loaded: ['ip_vs'], builtin: [] as string[] };
    expect(ipVsModules.evaluate({ ...base, loadable: { ip_vs_wrr: null } }, natCtx)[0]).toMatchObject({ status: 'fail', fix: { commands: [['modprobe', 'ip_vs_wrr']] } });
    expect(ipVsModules.evaluate({ ...base, loadable: { ip_vs_wrr: '/lib/modules/6.1.0/ip_vs_wrr.ko' } }, natCtx)[0]!.status).toBe('pass');
    expect(ipVsModules.evaluate({ ...base, builtin: ['ip_vs_wrr'], loadable: {} }, natCtx)[0]!.status).toBe('pass');
    expect(ipVsModules.evaluate({ ...base, loadable: undefined }, natCtx)[0]!.status).toBe('skip');
    expect(ipVsModules.evaluate({ ...base, procIpVs: false, loaded: [], wanted: ['ip_vs'], loadable: { ip_vs: '/x/ip_vs.ko' } }, natCtx)[0]!.status).toBe('warn');
  });

  it('container-modules: fix names the container host', () => {
    const ctx: CheckContext = { node: 'lb1', role: 'director', platform: 'lxd', modes: ['nat'] };
    const f = containerModules.evaluate({ container: 'lxc', procIpVs: false, wanted: ['ip_vs', 'ip_vs_wlc'], loaded: [] }, ctx)[0]!;
    expect(f.status).toBe('fail');
    expect(f.fix?.why).toContain('lxc config set lb1 linux.kernel_modules ip_vs,ip_vs_wlc');
    expect(containerModules.evaluate({ container: 'lxc', procIpVs: true, wanted: ['ip_vs'], loaded: [] }, ctx)[0]!.status).toBe('pass');
  });

  it('director-rp-filter: the effective value is max(all, iface); drops counted by the kernel warn', () => {
    const o = { all: 1, acceptLocalAll: 0, interfaces: [{ name: 'eth0', rpFilter: 0, acceptLocal: 0 }], rpDrops: 12, localRealServers: [] };
    const f = rpFilter.evaluate(o, natCtx)[0]!;
    expect(f.status).toBe('warn');
    expect(f.evidence[0]).toBe('rp_filter eth0: conf/all = 1, conf/eth0 = 0 → effective 1');
    expect(rpFilter.evaluate({ ...o, rpDrops: 0 }, natCtx)[0]!.status).toBe('pass');
    expect(rpFilter.evaluate({ ...o, all: 0, interfaces: [{ name: 'eth0', rpFilter: 2, acceptLocal: 0 }], localRealServers: ['10.0.0.1'], rpDrops: 0 }, natCtx)[0]!.message).toContain('also a real server');
  });

  it('vrrp-strict-accept: strict without accept fails, with accept passes', () => {
    const conf = (inner: string) => `global_defs {\n  vrrp_strict # strict\n}\nvrrp_instance VI_1 {\n  state MASTER\n${inner}  virtual_ipaddress {\n    10.0.0.100\n  }\n}\n`;
    expect(vrrpStrict.evaluate({ path: '/k', conf: conf('') }, natCtx)[0]!.status).toBe('fail');
    expect(vrrpStrict.evaluate({ path: '/k', conf: conf('  accept\n') }, natCtx)[0]!.status).toBe('pass');
    expect(vrrpStrict.evaluate({ path: '/k', conf: conf('').replace('vrrp_strict', '! vrrp_strict') }, natCtx)[0]!.status).toBe('pass');
    expect(vrrpStrict.evaluate({ path: '/k', conf: undefined }, natCtx)[0]!.status).toBe('skip');
  });

  it('conn-reuse-mode follows the kernel version', () => {
    expect(connReuse.evaluate({ release: '6.1.0-56-amd64', connReuseMode: 1 }, natCtx)[0]!.status).toBe('pass');
    expect(connReuse.evaluate({ release: '5.4.0-100-generic', connReuseMode: 1 }, natCtx)[0]!.status).toBe('warn');
    expect(connReuse.evaluate({ release: '6.1.0', connReuseMode: 0 }, natCtx)[0]).toMatchObject({ status: 'warn', fix: { commands: [['sysctl', '-w', 'net.ipv4.vs.conn_reuse_mode=1']] } });
    expect(connReuse.evaluate({ release: '6.1.0', connReuseMode: undefined }, natCtx)[0]!.status).toBe('skip');
  });

  it('ipvs-expire-sysctls: UDP and persistence from the live table', () => {
    const live = parseProcIpVs('IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\nUDP  0A000064:0035 rr persistent 360\n  -> 0A00010B:0035      Route   1      0          0\n');
    expect(live[0]).toMatchObject({ protocol: 'UDP', address: '10.0.0.100', port: 53, persistent: true, reals: [{ address: '10.0.1.11', forward: 'Route' }] });
    const r = ipvsExpire.evaluate({ expireNodestConn: 0, expireQuiescentTemplate: 0, live }, bare);
    expect(r.map((f) => f.status)).toEqual(['warn', 'warn']);
    expect(ipvsExpire.evaluate({ expireNodestConn: 1, expireQuiescentTemplate: 1, live }, bare)[0]!.status).toBe('pass');
  });

  it('backup-only: a DR pair whose directors serve fails until backup_only = 1', () => {
    const model = structuredClone(natDesign.model);
    model.services[0]!.mode = 'dr';
    model.directors.push({ name: 'dir2', platform: { type: 'host' }, interfaces: [{ name: 'eth0', address: '10.0.0.2/24' }] });
    model.services[0]!.realServers[0]!.address = '10.0.0.2';
    const ctx: CheckContext = { ...natCtx, modes: ['dr'], model };
    expect(backupOnly.evaluate({ backupOnly: 0, live: undefined, localAddrs: [] }, ctx)[0]!.status).toBe('fail');
    expect(backupOnly.evaluate({ backupOnly: 1, live: undefined, localAddrs: [] }, ctx)[0]!.status).toBe('pass');
  });
});

describe('firewall-packet: what is modelled', () => {
  const docker = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER-USER - [0:0]', '[5:300] -A FORWARD -j DOCKER-USER', '-A DOCKER-USER -j RETURN', 'COMMIT', ''].join('\n');
  const reply = { protocol: 'tcp' as const, saddr: '10.0.1.11', sport: 80, iif: 'eth1' };
  it('Docker\'s FORWARD DROP drops NAT replies; an accept in DOCKER-USER lets them through', () => {
    expect(packetVerdict({ iptablesSave: docker }, reply, ['forward'])).toMatchObject({ verdict: 'drop', decidedIn: { kind: 'iptables', table: 'filter', chain: 'FORWARD' } });
    const fixed = docker.replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -s 10.0.1.0/24 -i eth1 -p tcp -m tcp --sport 80 -j ACCEPT\n-A DOCKER-USER -j RETURN');
    expect(packetVerdict({ iptablesSave: fixed }, reply, ['forward']).verdict).toBe('accept');
  });
  it('a ct state accept before a policy drop is a doubt, not a certainty', () => {
    const nft = JSON.stringify({
      nftables: [
        { chain: { family: 'inet', table: 'f', name: 'fw', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'drop' } },
        { rule: { family: 'inet', table: 'f', chain: 'fw', handle: 2, expr: [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }] } },
      ],
    });
    const v = packetVerdict({ nftJson: nft }, reply, ['forward']);
    expect(v.verdict).toBe('maybe-drop');
    expect(v.doubts[0]).toContain('ct state { established, related } accept');
    expect(packetVerdict({ nftJson: nft }, { ...reply, ctState: 'established' }, ['forward']).verdict).toBe('accept');
  });
  it('VRRP (protocol 112) is told apart from TCP', () => {
    const ipt = ['*filter', ':INPUT DROP [0:0]', '-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT', '-A INPUT -p vrrp -s 10.0.0.2 -j ACCEPT', 'COMMIT'].join('\n');
    expect(packetVerdict({ iptablesSave: ipt }, { protocol: 'vrrp', saddr: '10.0.0.2', daddr: '224.0.0.18' }, ['input']).verdict).toBe('accept');
    expect(packetVerdict({ iptablesSave: ipt }, { protocol: 'vrrp', saddr: '10.0.0.3', daddr: '224.0.0.18' }, ['input']).verdict).toBe('drop');
  });
});
