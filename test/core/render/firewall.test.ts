import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Installation } from '../../../src/core/model.js';
import { normalize } from '../../../src/core/normalize.js';
import { SETUP_SCRIPT_PATH } from '../../../src/core/render/real-server.js';
import { renderDirectorSetup } from '../../../src/core/render/director.js';
import { renderNftables } from '../../../src/core/render/firewall-nft.js';
import { renderIptables } from '../../../src/core/render/firewall-iptables.js';
import type { NodeSetup } from '../../../src/core/render/types.js';
import { run, runIn, withNetns } from '../../helpers/netns.js';

const ROOT = join(import.meta.dirname, '../../..');
const SEEDS = ['seed-000-dr-pair', 'seed-000-nginx-pair', 'seed-002-tun-openvz', 'seed-003-nginx-lxd', 'seed-004-nat-fwmark'];

function loadSeed(name: string): Installation {
  const n = normalize(parse(readFileSync(join(ROOT, 'fixtures/answers', `${name}.yaml`), 'utf8')));
  if (!n.ok) throw new Error(`${name}: ${JSON.stringify(n.problems)}`);
  return n.model;
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

function allNodes(m: Installation): string[] {
  return [...new Set([...m.directors.map((d) => d.name), ...m.services.flatMap((s) => s.realServers.map((r) => r.name)), ...m.containerHosts.map((h) => h.name)])];
}

function validate(ns: string, argv: string[], text: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'lvst-fw-'));
  try {
    const f = join(dir, 'rules');
    writeFileSync(f, text);
    const r = runIn(ns, [...argv, f]);
    expect(r.exitCode, `${argv.join(' ')}:\n${r.stderr}\n${text}`).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('every seed node: nft -c and iptables-restore --test accept the rules (inside a throw-away netns)', () => {
  for (const seed of SEEDS) {
    const m = loadSeed(seed);
    it(`${seed}: ${allNodes(m).join(', ')} and a node with no role`, async () => {
      await withNetns([], (ns) => {
        for (const node of [...allNodes(m), 'nobody']) {
          validate(ns, ['nft', '-c', '-f'], renderNftables(m, node));
          validate(ns, ['iptables-restore', '--test', '--noflush'], renderIptables(m, node));
        }
      });
    });
  }
});

describe('role-aware rules', () => {
  it('fwmark service (seed 004): tcp to 10.10.1.30 ports 80,443 marked 80 before IPVS sees it', () => {
    const m = loadSeed('seed-004-nat-fwmark');
    const nft = renderNftables(m, 'lvs-01');
    expect(nft).toContain('type filter hook prerouting priority mangle;');
    expect(nft).toContain('ip daddr 10.10.1.30 tcp dport { 80, 443 } counter meta mark set 80');
    expect(renderIptables(m, 'lvs-01')).toMatch(/^-A LVS-TOOLKIT-FWMARK -p tcp -d 10\.10\.1\.30\/32 -m multiport --dports 80,443 .*-j MARK --set-mark 80$/m);
  });

  it('NAT director (seed 004): forwards the real servers replies from the inside arm', () => {
    const nft = renderNftables(loadSeed('seed-004-nat-fwmark'), 'lvs-02');
    expect(nft).toContain('iifname "eth1" ip saddr 10.8.8.33 tcp sport 80 counter accept');
    expect(nft).toContain('iifname "eth1" ip saddr 10.8.8.34 tcp sport 80 counter accept');
  });

  it('VRRP pair (seed 000): protocol 112 from the peer only, on the instance interface', () => {
    const m = loadSeed('seed-000-dr-pair');
    expect(renderNftables(m, 'lb1')).toContain('iifname "eth0" ip saddr 10.0.3.12 ip protocol 112 counter accept');
    expect(renderNftables(m, 'lb2')).toContain('iifname "eth0" ip saddr 10.0.3.11 ip protocol 112 counter accept');
    expect(renderIptables(m, 'lb2')).toContain('-A LVS-TOOLKIT-INPUT -i eth0 -p 112 -s 10.0.3.11/32');
  });

  it('TUN real server (seed 002): the VIP port and IP-in-IP from the director', () => {
    const nft = renderNftables(loadSeed('seed-002-tun-openvz'), 'test2');
    expect(nft).toContain('ip daddr 192.168.10.100 tcp dport 80 counter accept');
    expect(nft).toContain('ip saddr 192.168.10.5 ip protocol 4 counter accept');
  });

  it('container host port map (seed 003): DNAT 8000 to the balancer, from outside and from the host itself', () => {
    const m = loadSeed('seed-003-nginx-lxd');
    const nft = renderNftables(m, 'cicada');
    expect(nft).toContain('iifname "eth0" tcp dport 8000 counter dnat ip to 10.156.178.115:80');
    expect(nft).toContain('fib daddr type local tcp dport 8000 counter dnat ip to 10.156.178.115:80');
    expect(nft).toContain('ip daddr 10.156.178.115 tcp dport 80 counter accept');
    const ipt = renderIptables(m, 'cicada');
    expect(ipt).toContain('-A LVS-TOOLKIT-PORTMAP -i eth0 -p tcp --dport 8000 -m comment');
    expect(ipt).toContain('-j DNAT --to-destination 10.156.178.115:80');
  });

  it('a node with no role still gets a valid, empty table', () => {
    const nft = renderNftables(loadSeed('seed-000-dr-pair'), 'nobody');
    expect(nft).toContain('# nobody plays no role that needs a rule.');
    expect(nft).not.toContain('chain');
  });
});

describe('applying the rules in a throw-away netns', () => {
  it('nft: applying twice leaves one table with one copy of each rule; the rest of the ruleset survives', async () => {
    const m = loadSeed('seed-004-nat-fwmark');
    await withNetns([], (ns) => {
      runIn(ns, ['nft', 'add', 'table', 'inet', 'admin_own']);
      const dir = mkdtempSync(join(tmpdir(), 'lvst-fw-'));
      try {
        writeFileSync(join(dir, 'r.nft'), renderNftables(m, 'lvs-01'));
        for (let pass = 1; pass <= 2; pass++) {
          const r = runIn(ns, ['nft', '-f', join(dir, 'r.nft')]);
          expect(r.exitCode, r.stderr).toBe(0);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const all = runIn(ns, ['nft', 'list', 'ruleset']).stdout;
      expect(all).toContain('table inet admin_own');
      expect(all.match(/meta mark set 0x00000050/g)).toHaveLength(1);
    });
  });

  it('iptables: the setup script restores our chains and jumps to them exactly once, however often it runs', async () => {
    const m = loadSeed('seed-004-nat-fwmark');
    m.firewall = 'iptables';
    const setup = renderDirectorSetup(m, 'lvs-01');
    await withNetns(['eth0', 'eth1'], (ns) => {
      for (let pass = 1; pass <= 3; pass++) {
        const r = runRuntimeOnly(ns, setup);
        expect(r.exitCode, `pass ${pass}: ${r.stderr}`).toBe(0);
      }
      const mangle = runIn(ns, ['iptables-save', '-t', 'mangle']).stdout;
      expect(mangle.match(/^-A PREROUTING -j LVS-TOOLKIT-FWMARK$/gm)).toHaveLength(1);
      expect(mangle.match(/--set-xmark 0x50\/0xffffffff/g)).toHaveLength(1);
      const filter = runIn(ns, ['iptables-save', '-t', 'filter']).stdout;
      expect(filter.match(/^-A INPUT -j LVS-TOOLKIT-INPUT$/gm)).toHaveLength(1);
      expect(filter.match(/^-A FORWARD -j LVS-TOOLKIT-FORWARD$/gm)).toHaveLength(1);
    });
  });

  it('nft: a real TCP SYN to 10.10.1.30:443 from a client namespace gets fwmark 80 (rule counter moves)', async () => {
    const m = loadSeed('seed-004-nat-fwmark');
    const client = `lvst-client-${process.pid}`;
    await withNetns(['eth0'], (ns) => {
      expect(run(['ip', 'netns', 'add', client]).exitCode).toBe(0);
      try {
        run(['ip', '-n', ns, 'link', 'set', 'p0', 'netns', client]);
        runIn(client, ['ip', 'addr', 'add', '10.10.1.99/24', 'dev', 'p0']);
        runIn(client, ['ip', 'link', 'set', 'p0', 'up']);
        runIn(ns, ['ip', 'addr', 'add', '10.10.1.31/24', 'dev', 'eth0']);
        runIn(ns, ['ip', 'addr', 'add', '10.10.1.30/32', 'dev', 'eth0']);
        const dir = mkdtempSync(join(tmpdir(), 'lvst-fw-'));
        try {
          writeFileSync(join(dir, 'r.nft'), renderNftables(m, 'lvs-01'));
          const r = runIn(ns, ['nft', '-f', join(dir, 'r.nft')]);
          expect(r.exitCode, r.stderr).toBe(0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        runIn(client, ['timeout', '3', 'bash', '-c', 'exec 3<>/dev/tcp/10.10.1.30/443']);
        const chain = runIn(ns, ['nft', 'list', 'chain', 'inet', 'lvs_toolkit', 'fwmark']).stdout;
        const packets = Number(/counter packets (\d+)/.exec(chain)?.[1] ?? '0');
        expect(packets, chain).toBeGreaterThan(0);
        const notMarked = runIn(ns, ['nft', 'list', 'chain', 'inet', 'lvs_toolkit', 'input']).stdout;
        expect(Number(/10\.10\.1\.30 tcp dport \{ 80, 443 \} counter packets (\d+)/.exec(notMarked)?.[1] ?? '0')).toBeGreaterThan(0);
      } finally {
        run(['ip', 'netns', 'del', client]);
      }
    });
  });
});
