import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { MODULES_PATH, SETUP_SCRIPT_PATH, SYSCTL_PATH } from '../../../src/core/render/real-server.js';
import { renderDirectorSetup } from '../../../src/core/render/director.js';
import { SEND_EXPECT_SCRIPT_PATH } from '../../../src/core/render/check-scripts.js';
import { ALL_SEEDS, loadAnswers } from '../../helpers/fixtures.js';
import { expectGoldenTree } from '../../helpers/golden.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { expectShellClean, runRuntimeOnly, setupFile, sysctlIn } from '../../helpers/node-setup.js';

describe('renderDirectorSetup on the seed fixtures', () => {
  for (const seed of ALL_SEEDS) {
    const m = loadAnswers(seed);
    for (const d of m.directors) {
      it(`${seed} ${d.name}: golden files, and every script passes sh -n and shellcheck`, () => {
        const setup = renderDirectorSetup(m, d.name);
        expectGoldenTree(`nodes/${seed}/${d.name}`, setup.files);
        expectShellClean(setup.script);
        for (const f of setup.files.filter((x) => x.validator === 'sh')) expectShellClean(f.content);
        expect(setupFile(setup, SETUP_SCRIPT_PATH)).toBe(setup.script);
      });
    }
  }
});

describe('what a director gets', () => {
  it('in an LXC container (seed 000): no modprobe, a note that the host loads ip_vs and ip_vs_rr, no static VIP', () => {
    const s = renderDirectorSetup(loadAnswers('seed-000-dr-pair'), 'lb1');
    expect(s.script).not.toMatch(/^\s*modprobe/m);
    expect(s.files.map((f) => f.path)).not.toContain(MODULES_PATH);
    expect(s.script).toContain('the container host lxchost');
    expect(s.script).toContain('loads ip_vs, ip_vs_rr');
    expect(s.script).toContain('# No static VIPs: keepalived VRRP brings the VIPs up on the master.');
    expect(s.script).not.toContain('ip addr replace');
  });

  it('an L7 pair behind a VRRP VIP (seed 000 part 1): ip_nonlocal_bind=1, no IPVS modules', () => {
    const s = renderDirectorSetup(loadAnswers('seed-000-nginx-pair'), 'lb2');
    expect(setupFile(s, SYSCTL_PATH)).toContain('net.ipv4.ip_nonlocal_bind = 1');
    expect(s.script).not.toContain('ip_vs');
  });

  it('one L7 balancer whose VIP is its own address (seed 003): no VIP to add, no nonlocal bind', () => {
    const s = renderDirectorSetup(loadAnswers('seed-003-nginx-lxd'), 'web4');
    expect(s.script).not.toContain('ip addr replace');
    expect(s.files.map((f) => f.path)).not.toContain(SYSCTL_PATH);
  });

  it('a two-arm NAT router pair (seed 004): ip_vs + ip_vs_wlc, ip_forward, rp_filter guidance, pulse owns the VIPs', () => {
    const s = renderDirectorSetup(loadAnswers('seed-004-nat-fwmark'), 'lvs-01');
    expect(setupFile(s, MODULES_PATH)).toContain('ip_vs\nip_vs_wlc\n');
    const conf = setupFile(s, SYSCTL_PATH)!;
    expect(conf).toContain('net.ipv4.ip_forward = 1');
    expect(conf).toContain('Two-arm NAT and rp_filter');
    expect(s.script).toContain('No static VIPs: Piranha pulse/lvs');
    // Piranha has its own send/expect: no MISC_CHECK script.
    expect(s.files.map((f) => f.path)).not.toContain(SEND_EXPECT_SCRIPT_PATH);
  });

  it('with keepalived, a send/expect check brings the checker script', () => {
    const m = loadAnswers('seed-002-tun-openvz');
    m.manager = 'keepalived';
    const s = renderDirectorSetup(m, 'lvs');
    const checker = s.files.find((f) => f.path === SEND_EXPECT_SCRIPT_PATH);
    expect(checker?.mode).toBe(0o755);
    expect(checker?.content).toContain('lvs-send-expect.sh HOST PORT TIMEOUT SEND EXPECT');
    // One director, no vrrp, keepalived: the VIP is added statically, on the interface whose subnet holds it.
    expect(s.script).toContain('ip addr replace 192.168.10.100/32 dev eth0');
  });

  it('model.ipvsSysctls become net.ipv4.vs.* settings', () => {
    const m = loadAnswers('seed-004-nat-fwmark');
    m.ipvsSysctls = { expireQuiescentTemplate: true, conntrack: true };
    const conf = setupFile(renderDirectorSetup(m, 'lvs-01'), SYSCTL_PATH)!;
    expect(conf).toContain('net.ipv4.vs.expire_quiescent_template = 1');
    expect(conf).toContain('net.ipv4.vs.conntrack = 1');
  });

  it('an unknown name is a caller bug', () => {
    expect(() => renderDirectorSetup(loadAnswers('seed-004-nat-fwmark'), 'lvs-09')).toThrow(/known: lvs-01, lvs-02/);
  });
});

/** Seed 004 with one director managed by ipvsadm: nothing else owns the VIP and the gateway. */
function singleNatDirector(): Installation {
  const m = loadAnswers('seed-004-nat-fwmark');
  m.manager = 'ipvsadm';
  m.directors = [m.directors[0]!];
  delete m.piranha;
  return m;
}

describe('running a director script in a throw-away network namespace', () => {
  it('single NAT director: VIP on eth0, natRouter on eth1, ip_forward=1, twice without harm', async () => {
    const setup = renderDirectorSetup(singleNatDirector(), 'lvs-01');
    await withNetns(['eth0', 'eth1'], (ns) => {
      runIn(ns, ['ip', 'addr', 'add', '10.10.1.31/24', 'dev', 'eth0']);
      runIn(ns, ['ip', 'addr', 'add', '10.8.8.31/24', 'dev', 'eth1']);
      for (let pass = 1; pass <= 2; pass++) {
        const r = runRuntimeOnly(ns, setup);
        expect(r.exitCode, `pass ${pass}: ${r.stderr}`).toBe(0);
      }
      expect(sysctlIn(ns, 'net/ipv4/ip_forward')).toBe('1');
      const eth0 = runIn(ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']).stdout;
      const eth1 = runIn(ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth1']).stdout;
      expect(eth0.match(/10\.10\.1\.30\/32/g)).toHaveLength(1);
      expect(eth1.match(/10\.8\.8\.30\/24/g)).toHaveLength(1);
      const table = runIn(ns, ['nft', 'list', 'chain', 'inet', 'lvs_toolkit', 'fwmark']);
      expect(table.stdout).toContain('meta mark set 0x00000050');
    });
  });

  it('net.ipv4.vs.* missing (no ip_vs in this kernel): the script stops and names the key', async () => {
    const m = singleNatDirector();
    m.ipvsSysctls = { expireQuiescentTemplate: false, conntrack: true };
    const setup = renderDirectorSetup(m, 'lvs-01');
    await withNetns(['eth0', 'eth1'], (ns) => {
      const hasIpvs = runIn(ns, ['test', '-e', '/proc/sys/net/ipv4/vs/conntrack']).exitCode === 0;
      const r = runRuntimeOnly(ns, setup);
      if (hasIpvs) {
        expect(r.exitCode, r.stderr).toBe(0);
      } else {
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toContain('/proc/sys/net/ipv4/vs/conntrack does not exist here');
      }
    });
  });
});
