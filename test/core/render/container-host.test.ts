import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Installation } from '../../../src/core/model.js';
import { normalize } from '../../../src/core/normalize.js';
import { MODULES_PATH, SETUP_SCRIPT_PATH, SYSCTL_PATH } from '../../../src/core/render/real-server.js';
import { renderContainerHostSetup } from '../../../src/core/render/container-host.js';
import type { GeneratedFile, NodeSetup } from '../../../src/core/render/types.js';
import { run, runIn, withNetns } from '../../helpers/netns.js';

const ROOT = join(import.meta.dirname, '../../..');
const SEEDS = ['seed-000-dr-pair', 'seed-000-nginx-pair', 'seed-002-tun-openvz', 'seed-003-nginx-lxd', 'seed-004-nat-fwmark'];

function loadSeed(name: string): Installation {
  const n = normalize(parse(readFileSync(join(ROOT, 'fixtures/answers', `${name}.yaml`), 'utf8')));
  if (!n.ok) throw new Error(`${name}: ${JSON.stringify(n.problems)}`);
  return n.model;
}

function listFiles(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    out = statSync(p).isDirectory() ? [...out, ...listFiles(p).map((x) => `/${e}${x}`)] : [...out, `/${e}`];
  }
  return out;
}

/** fixtures/golden/nodes/<seed>/<node>/<absolute path>; UPDATE_GOLDEN=1 rewrites instead of comparing. */
function checkGolden(seed: string, node: string, files: GeneratedFile[]): void {
  const dir = join(ROOT, 'fixtures/golden/nodes', seed, node);
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(dir, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    return;
  }
  expect(listFiles(dir).sort(), `golden file list of ${seed}/${node}`).toEqual(files.map((f) => f.path).sort());
  for (const f of files) expect(f.content, `${seed}/${node}${f.path}`).toBe(readFileSync(join(dir, f.path), 'utf8'));
}

function shellChecks(text: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'lvst-sh-'));
  try {
    const file = join(dir, 'script.sh');
    writeFileSync(file, text);
    const syntax = run(['sh', '-n', file]);
    expect(syntax.exitCode, syntax.stderr).toBe(0);
    const lint = run(['shellcheck', '-s', 'sh', file]);
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function file(setup: NodeSetup, path: string): string | undefined {
  return setup.files.find((f) => f.path === path)?.content;
}

/** Writes the setup's files under a temp root and runs its script in `ns` with --runtime-only. */
function runRuntimeOnly(ns: string, setup: NodeSetup): { exitCode: number; stderr: string } {
  const root = mkdtempSync(join(tmpdir(), 'lvst-root-'));
  try {
    for (const f of setup.files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    return runIn(ns, ['env', `LVS_TOOLKIT_ROOT=${root}`, 'sh', join(root, SETUP_SCRIPT_PATH), '--runtime-only']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const sysctl = (ns: string, path: string) => runIn(ns, ['cat', `/proc/sys/${path}`]).stdout.trim();

describe('renderContainerHostSetup on the seed fixtures', () => {
  for (const seed of SEEDS) {
    const m = loadSeed(seed);
    for (const h of m.containerHosts) {
      it(`${seed} ${h.name}: golden files, and every script passes sh -n and shellcheck`, () => {
        const setup = renderContainerHostSetup(m, h.name);
        checkGolden(seed, h.name, setup.files);
        shellChecks(setup.script);
        for (const f of setup.files.filter((x) => x.validator === 'sh')) shellChecks(f.content);
      });
    }
  }
});

describe('what a container host gets', () => {
  it('LXC host of a DR director pair (seed 000): loads ip_vs and ip_vs_rr for its director containers', () => {
    const s = renderContainerHostSetup(loadSeed('seed-000-dr-pair'), 'lxchost');
    expect(file(s, MODULES_PATH)).toContain('ip_vs\nip_vs_rr\n');
    expect(s.script).toMatch(/^ {2}modprobe ip_vs_rr$/m);
    expect(s.script).toContain('Container lb1 (director, lxc).');
  });

  it('LXC host of a two-arm director: the extra NIC as lxc.net.1 lines, included once from the container config', () => {
    const m = loadSeed('seed-000-dr-pair');
    m.directors[0]!.interfaces.push({ name: 'eth1', address: '10.0.4.11/24' });
    const s = renderContainerHostSetup(m, 'lxchost');
    const lines = file(s, '/etc/lvs-toolkit/lxc/lb1.conf')!;
    for (const l of ['lxc.net.1.type = veth', 'lxc.net.1.link = lvsbr1', 'lxc.net.1.name = eth1', 'lxc.net.1.flags = up', 'lxc.net.1.ipv4.address = 10.0.4.11/24']) {
      expect(lines).toContain(l);
    }
    expect(lines).not.toContain('lxc.net.0');
    expect(s.script).toContain("grep -qxF 'lxc.include = /etc/lvs-toolkit/lxc/lb1.conf' /var/lib/lxc/lb1/config");
    expect(s.script).toContain('ip link add lvsbr1 type bridge');
    shellChecks(s.script);
  });

  it('LXD host of an L4 director: linux.kernel_modules on the container', () => {
    const m = loadSeed('seed-000-dr-pair');
    m.containerHosts = [{ name: 'lxchost', kind: 'lxd', interface: 'eth0' }];
    const s = renderContainerHostSetup(m, 'lxchost');
    expect(s.script).toContain('lxc config set lb1 linux.kernel_modules ip_vs,ip_vs_rr');
    expect(s.script).not.toContain('lxc config set app1');
  });

  it('LXD host with a host port map (seed 003): ip_forward and the DNAT in its firewall, nothing for IPVS', () => {
    const s = renderContainerHostSetup(loadSeed('seed-003-nginx-lxd'), 'cicada');
    expect(file(s, SYSCTL_PATH)).toContain('net.ipv4.ip_forward = 1');
    expect(file(s, '/etc/lvs-toolkit/firewall.nft')).toContain('iifname "eth0" tcp dport 8000 counter dnat ip to 10.156.178.115:80');
    expect(s.script).not.toContain('linux.kernel_modules');
    expect(s.files.map((f) => f.path)).not.toContain(MODULES_PATH);
  });

  it('OpenVZ host of TUN venet containers (seed 002): ipip, the feature, the VIP as container IP, the route hook', () => {
    const s = renderContainerHostSetup(loadSeed('seed-002-tun-openvz'), 'node2');
    expect(file(s, MODULES_PATH)).toContain('\nipip\n');
    expect(s.script).toContain('vzctl set 202 --feature ipip:on --save');
    expect(s.script).toContain('vzlist -H -o ip 202 | grep -Fqw 192.168.10.100 || vzctl set 202 --ipadd 192.168.10.100 --save');
    expect(s.script).not.toContain(' 201 ');
    expect(file(s, SYSCTL_PATH)).toContain('net.ipv4.conf.venet0.rp_filter = 0');
    const hook = s.files.find((f) => f.path === '/etc/vz/conf/202.mount');
    expect(hook?.mode).toBe(0o755);
    // The --ipadd (full apply) comes before the route removal, which would otherwise be undone.
    expect(s.script.indexOf('--ipadd')).toBeLessThan(s.script.indexOf('ip route del'));
  });

  it('an unknown name is a caller bug', () => {
    expect(() => renderContainerHostSetup(loadSeed('seed-002-tun-openvz'), 'node3')).toThrow(/known: node1, node2/);
  });
});

describe('OpenVZ venet route removal, run in a throw-away network namespace', () => {
  const vip = '192.168.10.100';
  const routes = (ns: string) => runIn(ns, ['ip', 'route', 'show', `${vip}/32`, 'dev', 'venet0']).stdout.trim();

  it('the mount hook returns at once and deletes the VIP route when vzctl adds it later', async () => {
    const s = renderContainerHostSetup(loadSeed('seed-002-tun-openvz'), 'node1');
    const hook = s.files.find((f) => f.path === '/etc/vz/conf/201.mount')!.content;
    await withNetns(['venet0'], async (ns) => {
      const started = Date.now();
      const r = runIn(ns, ['sh', '-c', hook]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(Date.now() - started).toBeLessThan(1000);
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
    const s = renderContainerHostSetup(loadSeed('seed-002-tun-openvz'), 'node1');
    await withNetns(['venet0'], (ns) => {
      runIn(ns, ['ip', 'route', 'add', `${vip}/32`, 'dev', 'venet0', 'scope', 'link']);
      runIn(ns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/venet0/rp_filter']);
      for (let pass = 1; pass <= 2; pass++) {
        const r = runRuntimeOnly(ns, s);
        expect(r.exitCode, `pass ${pass}: ${r.stderr}`).toBe(0);
      }
      expect(routes(ns)).toBe('');
      expect(sysctl(ns, 'net/ipv4/conf/venet0/rp_filter')).toBe('0');
      expect(sysctl(ns, 'net/ipv4/conf/all/rp_filter')).toBe('0');
    });
  });
});
