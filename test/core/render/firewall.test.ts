import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { renderDirectorSetup } from '../../../src/core/render/director.js';
import { renderNftables } from '../../../src/core/render/firewall-nft.js';
import { renderIptables } from '../../../src/core/render/firewall-iptables.js';
import { ALL_SEEDS, loadAnswers } from '../../helpers/fixtures.js';
import { run, runIn, withNetns } from '../../helpers/netns.js';
import { runRuntimeOnly } from '../../helpers/node-setup.js';
import { withTempFile } from '../../helpers/validators.js';

function allNodes(m: Installation): string[] {
  return [...new Set([...m.directors.map((d) => d.name), ...m.services.flatMap((s) => s.realServers.map((r) => r.name)), ...m.containerHosts.map((h) => h.name)])];
}

function validate(ns: string, argv: string[], text: string): void {
  const r = withTempFile('rules', text, (f) => runIn(ns, [...argv, f]));
  expect(r.exitCode, `${argv.join(' ')}:\n${r.stderr}\n${text}`).toBe(0);
}

describe('every seed node: nft -c and iptables-restore --test accept the rules (inside a throw-away netns)', () => {
  for (const seed of ALL_SEEDS) {
    const m = loadAnswers(seed);
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
    const m = loadAnswers('seed-004-nat-fwmark');
    const nft = renderNftables(m, 'lvs-01');
    expect(nft).toContain('type filter hook prerouting priority mangle;');
    expect(nft).toContain('ip daddr 10.10.1.30 tcp dport { 80, 443 } counter meta mark set 80');
    expect(renderIptables(m, 'lvs-01')).toMatch(/^-A LVS-TOOLKIT-FWMARK -p tcp -d 10\.10\.1\.30\/32 -m multiport --dports 80,443 .*-j MARK --set-mark 80$/m);
  });

  it('NAT director (seed 004): forwards the real servers replies from the inside arm', () => {
    const nft = renderNftables(loadAnswers('seed-004-nat-fwmark'), 'lvs-02');
    expect(nft).toContain('iifname "eth1" ip saddr 10.8.8.33 tcp sport 80 counter accept');
    expect(nft).toContain('iifname "eth1" ip saddr 10.8.8.34 tcp sport 80 counter accept');
  });

  it('VRRP pair (seed 000): protocol 112 from the peer only, on the instance interface', () => {
    const m = loadAnswers('seed-000-dr-pair');
    expect(renderNftables(m, 'lb1')).toContain('iifname "eth0" ip saddr 10.0.3.12 ip protocol 112 counter accept');
    expect(renderNftables(m, 'lb2')).toContain('iifname "eth0" ip saddr 10.0.3.11 ip protocol 112 counter accept');
    expect(renderIptables(m, 'lb2')).toContain('-A LVS-TOOLKIT-INPUT -i eth0 -p 112 -s 10.0.3.11/32');
  });

  it('TUN real server (seed 002): the VIP port and IP-in-IP from the director', () => {
    const nft = renderNftables(loadAnswers('seed-002-tun-openvz'), 'test2');
    expect(nft).toContain('ip daddr 192.168.10.100 tcp dport 80 counter accept');
    expect(nft).toContain('ip saddr 192.168.10.5 ip protocol 4 counter accept');
  });

  it('container host port map (seed 003): DNAT 8000 to the balancer, from outside and from the host itself', () => {
    const m = loadAnswers('seed-003-nginx-lxd');
    const nft = renderNftables(m, 'cicada');
    expect(nft).toContain('iifname "eth0" tcp dport 8000 counter dnat ip to 10.156.178.115:80');
    expect(nft).toContain('fib daddr type local tcp dport 8000 counter dnat ip to 10.156.178.115:80');
    expect(nft).toContain('ip daddr 10.156.178.115 tcp dport 80 counter accept');
    const ipt = renderIptables(m, 'cicada');
    expect(ipt).toContain('-A LVS-TOOLKIT-PORTMAP -i eth0 -p tcp --dport 8000 -m comment');
    expect(ipt).toContain('-j DNAT --to-destination 10.156.178.115:80');
  });

  it('a node with no role still gets a valid, empty table', () => {
    const nft = renderNftables(loadAnswers('seed-000-dr-pair'), 'nobody');
    expect(nft).toContain('# nobody plays no role that needs a rule.');
    expect(nft).not.toContain('chain');
  });
});

describe('applying the rules in a throw-away netns', () => {
  it('nft: applying twice leaves one table with one copy of each rule; the rest of the ruleset survives', async () => {
    const m = loadAnswers('seed-004-nat-fwmark');
    await withNetns([], (ns) => {
      runIn(ns, ['nft', 'add', 'table', 'inet', 'admin_own']);
      withTempFile('r.nft', renderNftables(m, 'lvs-01'), (rules) => {
        for (let pass = 1; pass <= 2; pass++) {
          const r = runIn(ns, ['nft', '-f', rules]);
          expect(r.exitCode, r.stderr).toBe(0);
        }
      });
      const all = runIn(ns, ['nft', 'list', 'ruleset']).stdout;
      expect(all).toContain('table inet admin_own');
      expect(all.match(/meta mark set 0x00000050/g)).toHaveLength(1);
    });
  });

  it('iptables: the setup script restores our chains and jumps to them exactly once, however often it runs', async () => {
    const m = loadAnswers('seed-004-nat-fwmark');
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
    const m = loadAnswers('seed-004-nat-fwmark');
    const client = `lvst-client-${process.pid}`;
    await withNetns(['eth0'], (ns) => {
      expect(run(['ip', 'netns', 'add', client]).exitCode).toBe(0);
      try {
        run(['ip', '-n', ns, 'link', 'set', 'p0', 'netns', client]);
        runIn(client, ['ip', 'addr', 'add', '10.10.1.99/24', 'dev', 'p0']);
        runIn(client, ['ip', 'link', 'set', 'p0', 'up']);
        runIn(ns, ['ip', 'addr', 'add', '10.10.1.31/24', 'dev', 'eth0']);
        runIn(ns, ['ip', 'addr', 'add', '10.10.1.30/32', 'dev', 'eth0']);
        const r = withTempFile('r.nft', renderNftables(m, 'lvs-01'), (rules) => runIn(ns, ['nft', '-f', rules]));
        expect(r.exitCode, r.stderr).toBe(0);
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
