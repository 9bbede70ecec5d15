import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { SETUP_SCRIPT_PATH, SYSCTL_PATH, renderRealServerSetup } from '../../../src/core/render/real-server.js';
import { ALL_SEEDS, loadAnswers } from '../../helpers/fixtures.js';
import { expectGoldenTree } from '../../helpers/golden.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { expectShellClean, runRuntimeOnly, setupFile, sysctlIn } from '../../helpers/node-setup.js';

function realServerNames(m: Installation): string[] {
  return [...new Set(m.services.flatMap((s) => s.realServers.map((r) => r.name)))];
}

describe('renderRealServerSetup on the seed fixtures', () => {
  for (const seed of ALL_SEEDS) {
    const m = loadAnswers(seed);
    for (const rs of realServerNames(m)) {
      it(`${seed} ${rs}: golden files, and every script passes sh -n and shellcheck`, () => {
        const setup = renderRealServerSetup(m, rs);
        expectGoldenTree(`nodes/${seed}/${rs}`, setup.files);
        expectShellClean(setup.script);
        for (const f of setup.files.filter((x) => x.validator === 'sh')) expectShellClean(f.content);
        const installed = setupFile(setup, SETUP_SCRIPT_PATH);
        if (installed !== undefined) expect(installed).toBe(setup.script);
      });
    }
  }
});

describe('what each mode puts on a real server', () => {
  it('DR (seed 000): the VIP on lo and arp_ignore/arp_announce on all AND eth0', () => {
    const s = renderRealServerSetup(loadAnswers('seed-000-dr-pair'), 'app1');
    expect(s.script).toContain('ip addr replace 10.0.3.250/32 dev lo');
    const conf = setupFile(s, SYSCTL_PATH)!;
    for (const line of ['net.ipv4.conf.all.arp_ignore = 1', 'net.ipv4.conf.eth0.arp_ignore = 1', 'net.ipv4.conf.all.arp_announce = 2', 'net.ipv4.conf.eth0.arp_announce = 2']) {
      expect(conf).toContain(line);
    }
    expect(s.script).not.toMatch(/^\s*modprobe/m);
  });

  it('TUN in an OpenVZ venet container (seed 002): tunl0 with the VIP, rp_filter 0 on all/tunl0/venet0, no modprobe', () => {
    const s = renderRealServerSetup(loadAnswers('seed-002-tun-openvz'), 'test1');
    expect(s.script).toContain('ip addr replace 192.168.10.100/32 dev tunl0');
    expect(s.script).toContain('ip link set tunl0 up');
    expect(s.script).not.toMatch(/^\s*modprobe/m);
    expect(s.script).toContain('A container cannot load kernel modules');
    expect(s.files.map((f) => f.path)).not.toContain('/etc/modules-load.d/lvs-toolkit.conf');
    const conf = setupFile(s, SYSCTL_PATH)!;
    for (const line of ['net.ipv4.conf.all.rp_filter = 0', 'net.ipv4.conf.tunl0.rp_filter = 0', 'net.ipv4.conf.venet0.rp_filter = 0', 'net.ipv4.conf.venet0.arp_ignore = 1']) {
      expect(conf).toContain(line);
    }
  });

  it('TUN on a plain host loads ipip at boot and now', () => {
    const m = loadAnswers('seed-002-tun-openvz');
    m.services[0]!.realServers[0] = { ...m.services[0]!.realServers[0]!, platform: { type: 'host' }, interface: 'eth0' };
    const s = renderRealServerSetup(m, 'test1');
    expect(setupFile(s, '/etc/modules-load.d/lvs-toolkit.conf')).toContain('\nipip\n');
    expect(s.script).toMatch(/^ {2}modprobe ipip$/m);
  });

  it('NAT (seed 004): only a default route via the natRouter address', () => {
    const s = renderRealServerSetup(loadAnswers('seed-004-nat-fwmark'), 'lvs-03');
    expect(s.script).toContain('ip route replace default via 10.8.8.30 dev eth0');
    expect(s.files.map((f) => f.path)).not.toContain(SYSCTL_PATH);
    expect(s.script).not.toContain('ip addr');
  });

  it('NAT without gateway nor natRouter: the director address in the real server subnet', () => {
    const m = loadAnswers('seed-004-nat-fwmark');
    delete m.natRouter;
    m.services[0]!.realServers = m.services[0]!.realServers.map(({ gateway: _g, ...r }) => r);
    const s = renderRealServerSetup(m, 'lvs-03');
    expect(s.script).toContain('ip route replace default via 10.8.8.31 dev eth0');
  });

  it('L7 (seed 003): nothing LVS-specific, and it says so', () => {
    const s = renderRealServerSetup(loadAnswers('seed-003-nginx-lxd'), 'web1');
    expect(s.script).toContain('Layer 7 services need nothing LVS-specific here');
    expect(s.script).not.toMatch(/ip (addr|route)|set_sysctl /);
  });

  it('an unknown name is a caller bug and says which names exist', () => {
    expect(() => renderRealServerSetup(loadAnswers('seed-000-dr-pair'), 'nope')).toThrow(/known: app1, app2/);
  });
});

describe('running the scripts in a throw-away network namespace', () => {
  it('DR (seed 000 app1): sets the lo VIP and the effective ARP sysctls; applying twice is harmless', async () => {
    const setup = renderRealServerSetup(loadAnswers('seed-000-dr-pair'), 'app1');
    await withNetns(['eth0'], (ns) => {
      for (let pass = 1; pass <= 2; pass++) {
        const r = runRuntimeOnly(ns, setup);
        expect(r.exitCode, `pass ${pass}: ${r.stderr}`).toBe(0);
      }
      const lo = runIn(ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'lo']).stdout;
      expect(lo.match(/10\.0\.3\.250\/32/g)).toHaveLength(1);
      for (const iface of ['all', 'eth0']) {
        expect(sysctlIn(ns, `net/ipv4/conf/${iface}/arp_ignore`)).toBe('1');
        expect(sysctlIn(ns, `net/ipv4/conf/${iface}/arp_announce`)).toBe('2');
      }
      const table = runIn(ns, ['nft', 'list', 'table', 'inet', 'lvs_toolkit']);
      expect(table.exitCode, table.stderr).toBe(0);
      expect(table.stdout.match(/ip daddr 10\.0\.3\.250 tcp dport 80/g)).toHaveLength(1);
    });
  });

  it('NAT (seed 004 lvs-03): the default route goes via the director', async () => {
    const setup = renderRealServerSetup(loadAnswers('seed-004-nat-fwmark'), 'lvs-03');
    await withNetns(['eth0'], (ns) => {
      runIn(ns, ['ip', 'addr', 'add', '10.8.8.33/24', 'dev', 'eth0']);
      for (let pass = 1; pass <= 2; pass++) {
        const r = runRuntimeOnly(ns, setup);
        expect(r.exitCode, `pass ${pass}: ${r.stderr}`).toBe(0);
      }
      // The veth's peer is down here, so the kernel adds `linkdown`.
      expect(runIn(ns, ['ip', 'route', 'show', 'default']).stdout).toMatch(/^default via 10\.8\.8\.30 dev eth0\b/);
    });
  });

  it('TUN (seed 002 test1): without the ipip module the script stops before changing anything, and says why', async () => {
    const setup = renderRealServerSetup(loadAnswers('seed-002-tun-openvz'), 'test1');
    await withNetns(['venet0'], (ns) => {
      // This kernel has no ipip (`ip link add t type ipip` says "Unknown device type"), so tunl0
      // never appears: we can only check that the script refuses cleanly. With ipip, run it fully.
      const probe = runIn(ns, ['ip', 'link', 'add', 'lvstprobe', 'type', 'ipip']);
      const before = sysctlIn(ns, 'net/ipv4/conf/all/rp_filter');
      const r = runRuntimeOnly(ns, setup);
      if (probe.exitCode !== 0) {
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toContain('tunl0 is missing: the ipip module is not loaded (load it on the container host node1');
        expect(sysctlIn(ns, 'net/ipv4/conf/all/rp_filter')).toBe(before);
      } else {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(runIn(ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'tunl0']).stdout).toContain('192.168.10.100/32');
        expect(sysctlIn(ns, 'net/ipv4/conf/tunl0/rp_filter')).toBe('0');
      }
    });
  });

  it('rejects an unknown argument with a usage message', async () => {
    const setup = renderRealServerSetup(loadAnswers('seed-000-dr-pair'), 'app1');
    await withNetns([], (ns) => {
      const r = runIn(ns, ['sh', '-c', setup.script, 'lvs-toolkit-setup', '--bogus']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('usage:');
    });
  });
});


