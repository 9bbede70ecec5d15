/**
 * A bug-report bundle from two real hosts: a throw-away network namespace
 * (through netns:NAME) and this machine. The archive is listed and unpacked
 * with the system tar and read as a maintainer would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterSysctl, keepalivedIncludes, writeBundle, type BundleManifest } from '../../src/host/bundle.js';
import { LocalHost } from '../../src/host/local.js';
import { hostFor } from '../../src/host/targets.js';
import type { Host } from '../../src/host/types.js';
import { withNetns } from '../helpers/netns.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvs-bundle-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('pure helpers', () => {
  it('keeps only the sysctls LVS depends on', () => {
    const all = ['kernel.hostname = x', 'net.ipv4.conf.all.rp_filter = 1', 'net.ipv4.vs.conntrack = 0', 'net.ipv4.ip_forward = 1', 'net.ipv4.ip_forward_use_pmtu = 0', 'net.ipv4.ip_nonlocal_bind = 1', 'net.ipv6.conf.all.forwarding = 0', ''].join('\n');
    expect(filterSysctl(all)).toBe('net.ipv4.conf.all.rp_filter = 1\nnet.ipv4.vs.conntrack = 0\nnet.ipv4.ip_forward = 1\nnet.ipv4.ip_nonlocal_bind = 1\n');
  });

  it('finds keepalived includes, relative ones from the including file', () => {
    expect(keepalivedIncludes('include /etc/keepalived/a.conf\n  include conf.d/*.conf # all\n! include old.conf\n', '/etc/keepalived/keepalived.conf')).toEqual([
      '/etc/keepalived/a.conf',
      '/etc/keepalived/conf.d/*.conf',
    ]);
  });
});

describe('writeBundle', () => {
  it('gathers configs and state from a netns host and this machine, secrets masked', async () => {
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'conf.d'), { recursive: true });
    writeFileSync(join(etc, 'keepalived.conf'), 'global_defs {\n  router_id lb1\n}\ninclude conf.d/*.conf\n');
    writeFileSync(join(etc, 'conf.d', 'vi 1.conf'), 'vrrp_instance VI_1 {\n  authentication {\n    auth_type PASS\n    auth_pass Zq9secret\n  }\n}\n');
    writeFileSync(join(etc, 'ldirectord.cf'), 'virtual=10.0.0.10:80\n  real=10.0.1.1:80 gate\n  passwd=Zq9secret\n');
    const out = join(dir, 'report.tar.gz');

    const manifest = await withNetns(['eth0'], (ns) =>
      writeBundle(out, [
        { node: 'lb1', host: hostFor(`netns:${ns}`) },
        { node: 'here', host: new LocalHost() },
      ], {
        paths: { keepalivedConf: join(etc, 'keepalived.conf'), ldirectordCf: [join(etc, 'ldirectord.cf')], lvsCf: join(etc, 'absent-lvs.cf') },
        // keepalived processes of other tests may run on this machine: leave them alone
        signalKeepalived: false,
      }),
    );

    const listing = sh(['tar', '-tzf', out]).split('\n').filter(Boolean);
    const top = listing[0]!.split('/')[0]!;
    expect(top).toMatch(/^lvs-bundle-\d{8}T\d{6}Z$/);
    const names = new Set(listing.map((l) => l.slice(top.length + 1)));
    for (const node of ['lb1', 'here']) {
      for (const f of ['sysctl.txt', 'ip-addr.json', 'ip-route.json', 'uname.txt', 'iptables-save.txt', 'nft-ruleset.txt']) {
        expect(names, `${node}/commands/${f}`).toContain(`${node}/commands/${f}`);
      }
      expect(names).toContain(`${node}/files${etc}/keepalived.conf`);
      expect(names).toContain(`${node}/files${etc}/conf.d/vi 1.conf`);
      expect(names).toContain(`${node}/files${etc}/ldirectord.cf`);
    }
    expect(names).toContain('manifest.json');

    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    sh(['tar', '-xzf', out, '-C', unpacked]);
    const root = join(unpacked, top);
    const grep = spawnSync('grep', ['-rl', 'Zq9secret', root], { encoding: 'utf8' });
    expect(grep.stdout, 'files still holding the secret').toBe('');
    expect(grep.status).toBe(1);
    expect(readFileSync(join(root, 'lb1', 'files', etc, 'conf.d', 'vi 1.conf'), 'utf8')).toContain('auth_pass <masked>');
    expect(readFileSync(join(root, 'here', 'files', etc, 'ldirectord.cf'), 'utf8')).toContain('passwd=<masked>');

    // the namespace's own view: its eth0, not this machine's interfaces
    const nsAddr = JSON.parse(readFileSync(join(root, 'lb1', 'commands', 'ip-addr.json'), 'utf8')) as { ifname: string }[];
    expect(nsAddr.map((i) => i.ifname).sort()).toEqual(['eth0', 'lo', 'p0']);
    const hereAddr = JSON.parse(readFileSync(join(root, 'here', 'commands', 'ip-addr.json'), 'utf8')) as { ifname: string }[];
    expect(hereAddr.map((i) => i.ifname)).not.toContain('p0');

    const sysctl = readFileSync(join(root, 'lb1', 'commands', 'sysctl.txt'), 'utf8').split('\n').filter(Boolean);
    expect(sysctl.some((l) => l.startsWith('net.ipv4.ip_forward = '))).toBe(true);
    expect(sysctl.some((l) => l.startsWith('net.ipv4.conf.eth0.rp_filter = '))).toBe(true);
    expect(sysctl.every((l) => /^net\.ipv4\.(conf\.|vs\.|ip_forward |ip_nonlocal_bind )/.test(l))).toBe(true);

    const onDisk = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as BundleManifest;
    expect(onDisk).toEqual(manifest);
    expect(onDisk.nodes).toEqual(['lb1', 'here']);
    const entry = (node: string, pred: (e: BundleManifest['entries'][number]) => boolean) => onDisk.entries.find((e) => e.node === node && pred(e));
    expect(entry('lb1', (e) => e.source === 'file' && e.path.endsWith('absent-lvs.cf'))?.status).toBe('missing');
    expect(entry('lb1', (e) => e.source === 'keepalived-dump')?.status).toBe('skipped');
    expect(entry('lb1', (e) => e.source === 'run' && e.argv.join(' ') === 'ip -d -j addr')).toMatchObject({ status: 'ok', exitCode: 0, file: 'lb1/commands/ip-addr.json' });
    // ipvsadm without the ip_vs module here fails; the bundle carries why instead of dying
    const ipvs = entry('lb1', (e) => e.source === 'run' && e.argv[0] === 'ipvsadm');
    expect(ipvs?.status === 'ok' || (ipvs?.status === 'failed' && typeof ipvs.stderr === 'string')).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['here', 'lb1', 'manifest.json']);
  });

  it('records a missing program as missing, and refuses unsafe node names', async () => {
    const out = join(dir, 'small.tar.gz');
    const bin = mkdtempSync(join(tmpdir(), 'lvs-emptybin-'));
    // a machine with no tools at all: every command runs with an empty PATH
    const local = new LocalHost();
    const bare: Host = {
      run: (argv, opts) => local.run(argv, { ...opts, env: { ...opts?.env, PATH: bin } }),
      readFile: (p) => local.readFile(p),
      writeFile: (p, t, m) => local.writeFile(p, t, m),
      stream: (argv) => local.stream(argv),
      describe: () => 'bare',
    };
    try {
      const m = await writeBundle(out, [{ node: 'bare', host: bare }], { signalKeepalived: false, paths: { keepalivedConf: join(dir, 'none.conf') } });
      const runs = m.entries.filter((e) => e.source === 'run');
      expect(runs.length).toBeGreaterThan(5);
      expect(runs.every((e) => e.status === 'missing' && e.exitCode === 127)).toBe(true);
      // lsmod is missing: /proc/modules is read instead (this machine's kernel has no
      // modules at all, so the file itself may be missing too: the entry says which)
      const modules = m.entries.find((e) => e.source === 'file' && e.path === '/proc/modules');
      expect(modules?.status).toBe(existsSync('/proc/modules') ? 'ok' : 'missing');
      expect(sh(['tar', '-tzf', out])).toMatch(/manifest\.json/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    await expect(writeBundle(out, [{ node: '../x', host: new LocalHost() }])).rejects.toThrow(/cannot name a directory/);
  });
});
