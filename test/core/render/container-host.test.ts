import { describe, expect, it } from 'vitest';
import { MODULES_PATH, SYSCTL_PATH } from '../../../src/core/render/real-server.js';
import { renderContainerHostSetup } from '../../../src/core/render/container-host.js';
import { ALL_SEEDS, loadAnswers } from '../../helpers/fixtures.js';
import { expectGoldenTree } from '../../helpers/golden.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { expectShellClean, runRuntimeOnly, setupFile, sysctlIn } from '../../helpers/node-setup.js';

describe('renderContainerHostSetup on the seed fixtures', () => {
  for (const seed of ALL_SEEDS) {
    const m = loadAnswers(seed);
    for (const h of m.containerHosts) {
      it(`${seed} ${h.name}: golden files, and every script passes sh -n and shellcheck`, () => {
        const setup = renderContainerHostSetup(m, h.name);
        expectGoldenTree(`nodes/${seed}/${h.name}`, setup.files);
        expectShellClean(setup.script);
        for (const f of setup.files.filter((x) => x.validator === 'sh')) expectShellClean(f.content);
      });
    }
  }
});

describe('what a container host gets', () => {
  it('LXC host of a DR director pair (seed 000): loads ip_vs and ip_vs_rr for its director containers', () => {
    const s = renderContainerHostSetup(loadAnswers('seed-000-dr-pair'), 'lxchost');
    expect(setupFile(s, MODULES_PATH)).toContain('ip_vs\nip_vs_rr\n');
    expect(s.script).toMatch(/^ {2}modprobe ip_vs_rr$/m);
    expect(s.script).toContain('Container lb1 (director, lxc).');
  });

  it('LXC host of a two-arm director: the extra NIC as lxc.net.1 lines, included once from the container config', () => {
    const m = loadAnswers('seed-000-dr-pair');
    m.directors[0]!.interfaces.push({ name: 'eth1', address: '10.0.4.11/24' });
    const s = renderContainerHostSetup(m, 'lxchost');
    const lines = setupFile(s, '/etc/lvs-toolkit/lxc/lb1.conf')!;
    for (const l of ['lxc.net.1.type = veth', 'lxc.net.1.link = lvsbr1', 'lxc.net.1.name = eth1', 'lxc.net.1.flags = up', 'lxc.net.1.ipv4.address = 10.0.4.11/24']) {
      expect(lines).toContain(l);
    }
    expect(lines).not.toContain('lxc.net.0');
    expect(s.script).toContain("grep -qxF 'lxc.include = /etc/lvs-toolkit/lxc/lb1.conf' /var/lib/lxc/lb1/config");
    expect(s.script).toContain('ip link add lvsbr1 type bridge');
    expectShellClean(s.script);
  });

  it('LXD host of an L4 director: linux.kernel_modules on the container', () => {
    const m = loadAnswers('seed-000-dr-pair');
    m.containerHosts = [{ name: 'lxchost', kind: 'lxd', interface: 'eth0' }];
    const s = renderContainerHostSetup(m, 'lxchost');
    expect(s.script).toContain('lxc config set lb1 linux.kernel_modules ip_vs,ip_vs_rr');
    expect(s.script).not.toContain('lxc config set app1');
  });

  it('LXD host with a host port map (seed 003): ip_forward and the DNAT in its firewall, nothing for IPVS', () => {
    const s = renderContainerHostSetup(loadAnswers('seed-003-nginx-lxd'), 'cicada');
    expect(setupFile(s, SYSCTL_PATH)).toContain('net.ipv4.ip_forward = 1');
    expect(setupFile(s, '/etc/lvs-toolkit/firewall.nft')).toContain('iifname "eth0" tcp dport 8000 counter dnat ip to 10.156.178.115:80');
    expect(s.script).not.toContain('linux.kernel_modules');
    expect(s.files.map((f) => f.path)).not.toContain(MODULES_PATH);
  });

  it('OpenVZ host of TUN venet containers (seed 002): ipip, the feature, the VIP as container IP, the route hook', () => {
    const s = renderContainerHostSetup(loadAnswers('seed-002-tun-openvz'), 'node2');
    expect(setupFile(s, MODULES_PATH)).toContain('\nipip\n');
    expect(s.script).toContain('vzctl set 202 --feature ipip:on --save');
    expect(s.script).toContain('vzlist -H -o ip 202 | grep -Fqw 192.168.10.100 || vzctl set 202 --ipadd 192.168.10.100 --save');
    expect(s.script).not.toContain(' 201 ');
    expect(setupFile(s, SYSCTL_PATH)).toContain('net.ipv4.conf.venet0.rp_filter = 0');
    const hook = s.files.find((f) => f.path === '/etc/vz/conf/202.mount');
    expect(hook?.mode).toBe(0o755);
    // The --ipadd (full apply) comes before the route removal, which would otherwise be undone.
    expect(s.script.indexOf('--ipadd')).toBeLessThan(s.script.indexOf('ip route del'));
  });

  it('an unknown name is a caller bug', () => {
    expect(() => renderContainerHostSetup(loadAnswers('seed-002-tun-openvz'), 'node3')).toThrow(/known: node1, node2/);
  });
});

describe('OpenVZ venet route removal, run in a throw-away network namespace', () => {
  const vip = '192.168.10.100';
  const routes = (ns: string) => runIn(ns, ['ip', 'route', 'show', `${vip}/32`, 'dev', 'venet0']).stdout.trim();

  it('the mount hook returns at once and deletes the VIP route when vzctl adds it later', async () => {
    const s = renderContainerHostSetup(loadAnswers('seed-002-tun-openvz'), 'node1');
    const hook = s.files.find((f) => f.path === '/etc/vz/conf/201.mount')!.content;
    await withNetns(['venet0'], async (ns) => {
      const started = Date.now();
      const r = runIn(ns, ['sh', '-c', hook]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      await new Promise((res) => setTimeout(res, 1500));
      runIn(ns, ['ip', 'route', 'add', `${vip}/32`, 'dev', 'venet0', 'scope', 'link']);
      let left = routes(ns);
      for (let i = 0; i < 30 && left !== ''; i++) {
        await new Promise((res) => setTimeout(res, 200));
        left = routes(ns);
      }
      expect(left, 'the route vzctl added should be gone').toBe('');
    });
  });

  it('the host script removes an existing VIP route and turns rp_filter off on venet0, twice without harm', async () => {
    const s = renderContainerHostSetup(loadAnswers('seed-002-tun-openvz'), 'node1');
    await withNetns(['venet0'], (ns) => {
      runIn(ns, ['ip', 'route', 'add', `${vip}/32`, 'dev', 'venet0', 'scope', 'link']);
      runIn(ns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/venet0/rp_filter']);
      for (let pass = 1; pass <= 2; pass++) {
        const r = runRuntimeOnly(ns, s);
        expect(r.exitCode, `pass ${pass}: ${r.stderr}`).toBe(0);
      }
      expect(routes(ns)).toBe('');
      expect(sysctlIn(ns, 'net/ipv4/conf/venet0/rp_filter')).toBe('0');
      expect(sysctlIn(ns, 'net/ipv4/conf/all/rp_filter')).toBe('0');
    });
  });
});
