import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Installation } from '../../../src/core/model.js';
import { normalize } from '../../../src/core/normalize.js';
import { MODULES_PATH, SETUP_SCRIPT_PATH, SYSCTL_PATH } from '../../../src/core/render/real-server.js';
import { renderDirectorSetup } from '../../../src/core/render/director.js';
import { SEND_EXPECT_SCRIPT_PATH } from '../../../src/core/render/check-scripts.js';
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

describe('renderDirectorSetup on the seed fixtures', () => {
  for (const seed of SEEDS) {
    const m = loadSeed(seed);
    for (const d of m.directors) {
      it(`${seed} ${d.name}: golden files, and every script passes sh -n and shellcheck`, () => {
        const setup = renderDirectorSetup(m, d.name);
        checkGolden(seed, d.name, setup.files);
        shellChecks(setup.script);
        for (const f of setup.files.filter((x) => x.validator === 'sh')) shellChecks(f.content);
        expect(file(setup, SETUP_SCRIPT_PATH)).toBe(setup.script);
      });
    }
  }
});

describe('what a director gets', () => {
  it('in an LXC container (seed 000): no modprobe, a note that the host loads ip_vs and ip_vs_rr, no static VIP', () => {
    const s = renderDirectorSetup(loadSeed('seed-000-dr-pair'), 'lb1');
    expect(s.script).not.toMatch(/^\s*modprobe/m);
    expect(s.files.map((f) => f.path)).not.toContain(MODULES_PATH);
    expect(s.script).toContain('the container host lxchost');
    expect(s.script).toContain('loads ip_vs, ip_vs_rr');
    expect(s.script).toContain('# No static VIPs: keepalived VRRP brings the VIPs up on the master.');
    expect(s.script).not.toContain('ip addr replace');
  });

  it('an L7 pair behind a VRRP VIP (seed 000 part 1): ip_nonlocal_bind=1, no IPVS modules', () => {
    const s = renderDirectorSetup(loadSeed('seed-000-nginx-pair'), 'lb2');
    expect(file(s, SYSCTL_PATH)).toContain('net.ipv4.ip_nonlocal_bind = 1');
    expect(s.script).not.toContain('ip_vs');
  });

  it('one L7 balancer whose VIP is its own address (seed 003): no VIP to add, no nonlocal bind', () => {
    const s = renderDirectorSetup(loadSeed('seed-003-nginx-lxd'), 'web4');
    expect(s.script).not.toContain('ip addr replace');
    expect(s.files.map((f) => f.path)).not.toContain(SYSCTL_PATH);
  });

  it('a two-arm NAT router pair (seed 004): ip_vs + ip_vs_wlc, ip_forward, rp_filter guidance, pulse owns the VIPs', () => {
    const s = renderDirectorSetup(loadSeed('seed-004-nat-fwmark'), 'lvs-01');
    expect(file(s, MODULES_PATH)).toContain('ip_vs\nip_vs_wlc\n');
    const conf = file(s, SYSCTL_PATH)!;
    expect(conf).toContain('net.ipv4.ip_forward = 1');
    expect(conf).toContain('Two-arm NAT and rp_filter');
    expect(s.script).toContain('No static VIPs: Piranha pulse/lvs');
    // Piranha has its own send/expect: no MISC_CHECK script.
    expect(s.files.map((f) => f.path)).not.toContain(SEND_EXPECT_SCRIPT_PATH);
  });

  it('with keepalived, a send/expect check brings the checker script', () => {
    const m = loadSeed('seed-002-tun-openvz');
    m.manager = 'keepalived';
    const s = renderDirectorSetup(m, 'lvs');
    const checker = s.files.find((f) => f.path === SEND_EXPECT_SCRIPT_PATH);
    expect(checker?.mode).toBe(0o755);
    expect(checker?.content).toContain('lvs-send-expect.sh HOST PORT TIMEOUT SEND EXPECT');
    // One director, no vrrp, keepalived: the VIP is added statically, on the interface whose subnet holds it.
    expect(s.script).toContain('ip addr replace 192.168.10.100/32 dev eth0');
  });

  it('model.ipvsSysctls become net.ipv4.vs.* settings', () => {
    const m = loadSeed('seed-004-nat-fwmark');
    m.ipvsSysctls = { expireQuiescentTemplate: true, conntrack: true };
    const conf = file(renderDirectorSetup(m, 'lvs-01'), SYSCTL_PATH)!;
    expect(conf).toContain('net.ipv4.vs.expire_quiescent_template = 1');
    expect(conf).toContain('net.ipv4.vs.conntrack = 1');
  });

  it('an unknown name is a caller bug', () => {
    expect(() => renderDirectorSetup(loadSeed('seed-004-nat-fwmark'), 'lvs-09')).toThrow(/known: lvs-01, lvs-02/);
  });
});

/** Seed 004 with one director managed by ipvsadm: nothing else owns the VIP and the gateway. */
function singleNatDirector(): Installation {
  const m = loadSeed('seed-004-nat-fwmark');
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
      expect(sysctl(ns, 'net/ipv4/ip_forward')).toBe('1');
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
