/**
 * The lab's engine room against the real thing: the Debian kernel booted
 * under qemu, commands through the guest agent, nodes as namespaces inside
 * the VM, and an IPVS NAT service balancing two real servers. Builds the
 * image first when the cache has none (about a minute, root needed).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/backend.js';
import { LabError } from '../../src/lab/errors.js';
import { ensureImage, type LabImage } from '../../src/lab/image.js';
import { drain } from '../../src/lab/spawner.js';
import { startVm } from '../../src/lab/vm.js';
import type { LabNodeHost } from '../../src/lab/vm-host.js';

let image: LabImage;
let lab: Lab;
let stateDir: string;
let qemuPid: number;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  image = await ensureImage({ onProgress: (l) => console.log(l) });
  stateDir = mkdtempSync(join(tmpdir(), 'lvs-lab-test-'));
  const t0 = performance.now();
  lab = await startLab({ backend: 'qemu', image, stateDir });
  qemuPid = lab.vm!.state.pid;
  console.log(`image ${image.cached ? 'cached' : 'built'} in ${(image.elapsedMs / 1000).toFixed(2)} s; VM ready in ${((performance.now() - t0) / 1000).toFixed(2)} s (${lab.vm!.state.accel})`);
}, 900_000);

afterAll(async () => {
  await lab?.down();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('lab VM', () => {
  it('reuses the cached image without building', async () => {
    const again = await ensureImage({ kernel: image.kernel, onProgress: () => undefined });
    expect(again.cached).toBe(true);
    expect(again.dir).toBe(image.dir);
    expect(again.elapsedMs).toBeLessThan(2000);
  });

  it('runs the Debian kernel with IPVS: uname -r and ipvsadm -Ln through the agent', async () => {
    const uname = await lab.root.run(['uname', '-r']);
    expect(uname).toMatchObject({ exitCode: 0, stdout: `${image.release}\n` });
    const ipvs = await lab.root.run(['ipvsadm', '-Ln']);
    expect(ipvs.exitCode, ipvs.stderr).toBe(0);
    expect(ipvs.stdout).toMatch(/^IP Virtual Server version 1\.2\.1/);
    const mods = await lab.root.run(['cat', '/proc/modules']);
    for (const m of ['ip_vs_rr', 'ip_vs_wlc', 'ip_vs_mh', 'ip_vs_ovf', 'ipip', 'veth', 'bridge']) expect(mods.stdout).toMatch(new RegExp(`^${m} `, 'm'));
  });

  it('has no network device of its own: only lo in the root namespace', async () => {
    const links = await lab.root.run(['ip', '-o', 'link', 'show']);
    const names = links.stdout.split('\n').filter(Boolean).map((l) => l.split(': ')[1]);
    expect(names.filter((n) => n !== 'lo' && n !== 'tunl0@NONE')).toEqual([]);
  });

  it('keeps stdout, stderr and exit codes apart, binary-safe', async () => {
    const r = await lab.root.run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 7 });
    expect((await lab.root.run(['no-such-command'])).exitCode).toBe(127);
    const agent = await lab.vm!.agent();
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const p = agent.spawn(['sha256sum'], { stdin: true });
    p.write(bytes);
    p.end();
    const [out, exit] = await Promise.all([drain(p.stdout), p.exit]);
    expect(exit.exitCode).toBe(0);
    expect(out.toString().split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
    const back = agent.spawn(['cat'], { stdin: true });
    back.write(bytes);
    back.end();
    expect((await drain(back.stdout)).equals(bytes)).toBe(true);
  });

  it('kills a command at its timeout with exit 124', async () => {
    const t0 = performance.now();
    const r = await lab.root.run(['sleep', '30'], { timeoutMs: 500 });
    expect(r).toMatchObject({ exitCode: 124, timedOut: true });
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('runs requests concurrently over one connection', async () => {
    const t0 = performance.now();
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => lab.root.run(['sh', '-c', `sleep 1; echo ${i}`])));
    expect(rs.map((r) => r.stdout.trim())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    // Concurrent, not one after the other (8 x 1 s in sequence would be 8 s).
    expect(performance.now() - t0).toBeLessThan(6000);
  });

  it('answers every one of many fast concurrent commands (they exit before the agent widens their pipes)', async () => {
    const n = 24;
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => lab.root.run(['sh', '-c', `echo ${i}`], { timeoutMs: 30_000 })));
    expect(rs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    const files = await Promise.all(Array.from({ length: n }, () => lab.root.readFile('/proc/sys/net/ipv4/ip_forward')));
    expect(new Set(files)).toEqual(new Set(['0\n']));
  });

  it('streams output as it comes and stops on kill', async () => {
    const s = lab.root.stream(['sh', '-c', 'i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done']);
    let seen = '';
    for await (const chunk of s.stdout) {
      seen += chunk.toString();
      if (seen.includes('tick 2')) s.kill('SIGTERM');
    }
    const done = await s.done;
    expect(seen).toMatch(/tick 0\ntick 1\ntick 2/);
    expect(done.exitCode).toBe(143);
  });

  it('reads and writes files atomically in the VM', async () => {
    expect(await lab.root.readFile('/etc/no-such-file')).toBeUndefined();
    await lab.root.writeFile('/etc/lvs-lab-test/a.conf', 'x = 1\n', 0o600);
    expect(await lab.root.readFile('/etc/lvs-lab-test/a.conf')).toBe('x = 1\n');
    expect((await lab.root.run(['stat', '-c', '%a', '/etc/lvs-lab-test/a.conf'])).stdout).toBe('600\n');
  });
});

describe('lab nodes and an IPVS NAT service', () => {
  const nodes: Record<string, LabNodeHost> = {};
  const must = async (host: { run: Lab['root']['run']; describe(): string }, argv: string[]) => {
    const r = await host.run(argv);
    expect(r.exitCode, `${host.describe()}: ${argv.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    for (const n of ['client', 'dir1', 'rs1', 'rs2']) nodes[n] = await lab.createNode(n);
  }, 120_000);

  it('gives each node its own hostname, /etc and /run', async () => {
    expect(await lab.nodes()).toEqual(['client', 'dir1', 'rs1', 'rs2']);
    expect((await nodes.rs1!.run(['hostname'])).stdout).toBe('rs1\n');
    expect((await lab.root.run(['hostname'])).stdout).toBe('lvs-lab\n');
    await nodes.rs1!.writeFile('/etc/keepalived/keepalived.conf', 'global_defs {\n  router_id rs1\n}\n');
    await nodes.rs1!.writeFile('/run/keepalived.pid', '4242\n');
    expect(await nodes.rs1!.readFile('/etc/keepalived/keepalived.conf')).toContain('router_id rs1');
    expect(await nodes.rs2!.readFile('/etc/keepalived/keepalived.conf')).toBeUndefined();
    expect(await lab.root.readFile('/etc/keepalived/keepalived.conf')).toBeUndefined();
    expect(await nodes.rs2!.readFile('/run/keepalived.pid')).toBeUndefined();
    const links = await must(nodes.rs1!, ['ls', '/sys/class/net']);
    expect(links.split('\n').filter(Boolean).sort()).toEqual(['lo', 'tunl0']);
  });

  it('refuses a node that exists and a bad name', async () => {
    await expect(lab.createNode('rs1')).rejects.toThrow(/already exists/);
    await expect(lab.createNode('Bad Name')).rejects.toThrow(LabError);
  });

  it('balances 10 client requests over two real servers (LVS-NAT, rr)', async () => {
    const root = lab.root;
    for (const br of ['br-ext', 'br-int']) {
      await must(root, ['ip', 'link', 'add', br, 'type', 'bridge']);
      await must(root, ['ip', 'link', 'set', br, 'up']);
    }
    const plug = async (node: string, ifname: string, bridge: string, cidr: string) => {
      const outer = `v-${node}-${ifname}`;
      await must(root, ['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', ifname, 'netns', node]);
      await must(root, ['ip', 'link', 'set', outer, 'master', bridge, 'up']);
      await must(nodes[node]!, ['ip', 'addr', 'add', cidr, 'dev', ifname]);
      await must(nodes[node]!, ['ip', 'link', 'set', ifname, 'up']);
    };
    await plug('client', 'eth0', 'br-ext', '10.0.1.2/24');
    await plug('dir1', 'eth0', 'br-ext', '10.0.1.1/24');
    await plug('dir1', 'eth1', 'br-int', '10.0.2.1/24');
    await plug('rs1', 'eth0', 'br-int', '10.0.2.11/24');
    await plug('rs2', 'eth0', 'br-int', '10.0.2.12/24');
    await must(nodes.dir1!, ['ip', 'addr', 'add', '10.0.1.100/32', 'dev', 'eth0']);
    await must(nodes.dir1!, ['sysctl', '-w', 'net.ipv4.ip_forward=1']);
    for (const rs of ['rs1', 'rs2']) {
      await must(nodes[rs]!, ['ip', 'route', 'add', 'default', 'via', '10.0.2.1']);
      await nodes[rs]!.writeFile('/tmp/www/index.html', `${rs}\n`);
      await must(nodes[rs]!, ['busybox', 'httpd', '-p', '80', '-h', '/tmp/www']);
    }
    await must(nodes.dir1!, ['ipvsadm', '-A', '-t', '10.0.1.100:80', '-s', 'rr']);
    for (const rip of ['10.0.2.11', '10.0.2.12']) await must(nodes.dir1!, ['ipvsadm', '-a', '-t', '10.0.1.100:80', '-r', `${rip}:80`, '-m', '-w', '1']);

    const answers: Record<string, number> = {};
    for (let i = 0; i < 10; i++) {
      const r = await nodes.client!.run(['curl', '-s', '-m', '3', 'http://10.0.1.100/']);
      const who = r.exitCode === 0 ? r.stdout.trim() : `failed(${r.exitCode})`;
      answers[who] = (answers[who] ?? 0) + 1;
    }
    expect(answers).toEqual({ rs1: 5, rs2: 5 });
    const stats = await must(nodes.dir1!, ['ipvsadm', '-Ln', '--stats']);
    expect(stats).toMatch(/TCP {2}10\.0\.1\.100:80/);
    expect(stats).toMatch(/-> 10\.0\.2\.11:80/);
    expect(stats).toMatch(/-> 10\.0\.2\.12:80/);
    // The service lives in dir1's network namespace only.
    expect(await must(root, ['ipvsadm', '-Ln'])).not.toMatch(/10\.0\.1\.100/);
  }, 120_000);

  it('removes a node and everything running in it', async () => {
    const pids = async (node: string) => (await lab.root.run(['ip', 'netns', 'pids', node])).stdout.split('\n').filter(Boolean);
    const rs2 = await pids('rs2');
    const rs1 = await pids('rs1');
    expect(rs2.length).toBeGreaterThan(0);
    await lab.destroyNode('rs2');
    expect(await lab.nodes()).toEqual(['client', 'dir1', 'rs1']);
    expect((await lab.root.run(['ip', 'netns', 'list'])).stdout).not.toMatch(/rs2/);
    expect((await lab.root.run(['ps', '-o', 'pid=', '-p', rs2.join(',')])).stdout.trim()).toBe('');
    expect((await lab.root.run(['ps', '-o', 'pid=', '-p', rs1.join(',')])).stdout.trim().split(/\s+/)).toEqual(rs1);
  });
});

describe('lab VM failure paths', () => {
  it('refuses a second VM in the same state dir', async () => {
    await expect(startVm({ image, stateDir })).rejects.toThrow(/already running/);
    expect(pidAlive(qemuPid)).toBe(true);
  });

  it('kills a VM that is not ready in time and shows its console', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-lab-slow-'));
    const err = await startVm({ image, stateDir: dir, readyTimeoutMs: 1500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toMatch(/did not become ready within 2 s/);
    expect((err as LabError).detail).toMatch(/last console lines/);
    expect(existsSync(dir)).toBe(false);
    const qemus = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== qemuPid);
    const strays = qemus.filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
    expect(strays).toEqual([]);
  });
});

describe('teardown', () => {
  it('leaves no qemu, no sockets, no state dir', async () => {
    await lab.down();
    expect(pidAlive(qemuPid)).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
  });
});
