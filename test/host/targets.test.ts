/**
 * Target URIs and the prefix adapters. netns runs for real in a throw-away
 * namespace. LXD, LXC and OpenVZ cannot run here (lxc, lxc-attach and vzctl
 * are not installable on this machine), so fake executables placed first on
 * PATH stand in for them: they log the argv they were given and then run the
 * command themselves, the way the real tool would inside the container —
 * which proves the exact argv built and, for vzctl, that the shell quoting
 * round-trips.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetError } from '../../src/host/errors.js';
import { PrefixHost } from '../../src/host/prefix.js';
import { SshHost } from '../../src/host/ssh.js';
import { closeHost, formatTarget, hostFor, parseHostOf, parseTarget } from '../../src/host/targets.js';
import { withNetns } from '../helpers/netns.js';

describe('parseTarget', () => {
  it.each([
    ['local', { kind: 'local' }],
    ['ssh://node1', { kind: 'ssh', host: 'node1' }],
    ['ssh://root@10.0.0.2:2222', { kind: 'ssh', user: 'root', host: '10.0.0.2', port: 2222 }],
    ['ssh://admin@[fe80::1]:22', { kind: 'ssh', user: 'admin', host: 'fe80::1', port: 22 }],
    ['netns:lvs-dir1', { kind: 'netns', name: 'lvs-dir1' }],
    ['lxd:web1', { kind: 'lxd', name: 'web1' }],
    ['lxc:rs_2', { kind: 'lxc', name: 'rs_2' }],
    ['vz:101', { kind: 'vz', ctid: '101' }],
  ])('%s', (uri, expected) => {
    expect(parseTarget(uri)).toEqual(expected);
    expect(formatTarget(parseTarget(uri))).toBe(uri);
  });

  it.each([
    ['node1', /expected local, ssh:\/\/\[user@\]host\[:port\], netns:NAME, lxd:NAME, lxc:NAME or vz:CTID/],
    ['ssh://', /expected a host name or address after ssh:\/\//],
    ['ssh://ro ot@h', /expected a user name/],
    ['ssh://h:99999', /expected a port 1-65535 after ":", got "99999"/],
    ['ssh://h;touch x', /expected a host name/],
    ['ssh://[nothex]', /expected an IPv6 address/],
    ['netns:../etc', /expected netns:NAME/],
    ['lxd:1web', /expected lxd:NAME/],
    ['lxd:web1$(id)', /expected lxd:NAME/],
    ['lxc:', /expected lxc:NAME/],
    ['vz:-1', /expected vz:CTID/],
    ['docker:x', /expected local, ssh/],
  ])('rejects %j saying what was expected', (uri, msg) => {
    const e = (() => {
      try {
        parseTarget(uri);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(TargetError);
    expect((e as Error).message).toContain(JSON.stringify(uri));
    expect((e as Error).message).toMatch(msg);
  });
});

describe('parseHostOf', () => {
  it('splits a container and its host', () => {
    expect(parseHostOf('lxd:web1=ssh://root@node1')).toEqual({
      container: { kind: 'lxd', name: 'web1' },
      host: { kind: 'ssh', user: 'root', host: 'node1' },
      containerUri: 'lxd:web1',
      hostUri: 'ssh://root@node1',
    });
    expect(parseHostOf('vz:101=local').host).toEqual({ kind: 'local' });
  });

  it.each([
    ['lxd:web1', /expected CONTAINER=HOST/],
    ['ssh://a=ssh://b', /expected a container \(netns:, lxd:, lxc:, vz:\) before "="/],
    ['lxd:web1=lxc:c1', /expected the container's host \(local or ssh:\/\/…\) after "="/],
    ['lxd:web1=node1', /expected local, ssh/],
  ])('rejects %j', (spec, msg) => {
    expect(() => parseHostOf(spec)).toThrow(msg);
  });

  it('hostFor refuses a host for a target that is not a container', () => {
    expect(() => hostFor('ssh://a', { on: 'local' })).toThrow(/not a container/);
  });
});

describe('netns: through ip netns exec', () => {
  it('runs argv inside the namespace, and reads and writes files', async () => {
    await withNetns(['eth7'], async (ns) => {
      const h = hostFor(`netns:${ns}`);
      expect(h.describe()).toBe(`netns:${ns}`);
      const r = await h.run(['ip', '-br', 'addr']);
      expect(r.exitCode, r.stderr).toBe(0);
      const names = r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]!.split('@')[0]);
      expect(names.sort()).toEqual(['eth7', 'lo', 'p0']);
      const quoted = await h.run(['printf', '[%s]', 'a b', '$x', "q'"]);
      expect(quoted.stdout).toBe("[a b][$x][q']");
      expect((await h.run(['sh', '-c', 'exit 4'])).exitCode).toBe(4);
      const missing = await h.run(['no-such-program-lvs']);
      expect(missing.exitCode).toBe(127);
      expect(missing.stderr).toMatch(/no-such-program-lvs/);
      expect((await h.run(['printf', '%s', 'x'], { env: { A: '1' } })).stdout).toBe('x');
      expect((await h.run(['sh', '-c', 'printf %s "$A"'], { env: { A: 'v w' } })).stdout).toBe('v w');

      const dir = mkdtempSync(join(tmpdir(), 'lvs-netns-'));
      try {
        const f = join(dir, 'sub', 'x.conf');
        await h.writeFile(f, 'auth_pass 1234\n', 0o640);
        expect(await h.readFile(f)).toBe('auth_pass 1234\n');
        expect(await h.readFile(join(dir, 'absent'))).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('container prefixes (fake lxc, lxc-attach, vzctl on PATH)', () => {
  let bin: string;
  let oldPath: string | undefined;
  const log = () => join(bin, 'argv.log');
  /** Each call's argv, NUL-separated words, one call per line. */
  const calls = (): string[][] =>
    existsSync(log())
      ? readFileSync(log(), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\0').slice(0, -1))
      : [];

  function fake(name: string, body: string): void {
    const file = join(bin, name);
    writeFileSync(file, `#!/bin/sh\n{ printf '%s\\0' "$(basename "$0")" "$@"; echo; } >>"${log()}"\n${body}\n`);
    chmodSync(file, 0o755);
  }

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'lvs-fakebin-'));
    oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    // lxc exec NAME -- ARGV…: run ARGV.
    fake('lxc', 'shift 3; exec "$@"');
    // lxc-attach -n NAME -- ARGV…
    fake('lxc-attach', 'shift 3; exec "$@"');
  });
  afterAll(() => {
    process.env.PATH = oldPath;
    rmSync(bin, { recursive: true, force: true });
  });

  it('lxd:NAME is `lxc exec NAME -- argv`', async () => {
    rmSync(log(), { force: true });
    const h = hostFor('lxd:web1');
    const r = await h.run(['printf', '[%s]', 'a b', '$x']);
    expect(r.stdout).toBe('[a b][$x]');
    expect(calls()).toEqual([['lxc', 'exec', 'web1', '--', 'printf', '[%s]', 'a b', '$x']]);
  });

  it('lxc:NAME is `lxc-attach -n NAME -- argv`', async () => {
    rmSync(log(), { force: true });
    const r = await hostFor('lxc:rs1').run(['uname', '-s']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(calls()).toEqual([['lxc-attach', '-n', 'rs1', '--', 'uname', '-s']]);
  });

  it('vz:CTID uses exec2 when vzctl has it, asking once, and quotes for its shell', async () => {
    rmSync(log(), { force: true });
    // vzctl exec2 CTID LINE…: the words joined by spaces, run by a shell in the container.
    fake('vzctl', 'case "$1" in --help) echo "vzctl exec | exec2 <ctid> <command> [arg ...]"; exit 0;; esac; shift 2; exec sh -c "$*"');
    const h = hostFor('vz:101');
    const a = await h.run(['printf', '[%s]', 'a b', "it's", '$HOME', '`id`']);
    expect(a.stdout).toBe("[a b][it's][$HOME][`id`]");
    expect((await h.run(['no-such-program-lvs'])).exitCode).toBe(127);
    await h.readFile('/etc/hostname');
    const seen = calls();
    expect(seen.filter((c) => c[1] === '--help')).toHaveLength(1);
    expect(seen[1]).toEqual(['vzctl', 'exec2', '101', "printf '[%s]' 'a b' 'it'\\''s' '$HOME' '`id`'"]);
    // another container on the same machine does not ask again
    await hostFor('vz:102', { on: (h as PrefixHost).on }).run(['true']);
    expect(calls().filter((c) => c[1] === '--help')).toHaveLength(1);
  });

  it('vz:CTID falls back to `vzctl exec` on a vzctl without exec2', async () => {
    rmSync(log(), { force: true });
    fake('vzctl', 'case "$1" in --help) echo "vzctl exec <ctid> <command> [arg ...]"; exit 0;; esac; shift 2; exec sh -c "$*"');
    const h = hostFor('vz:101');
    expect((await h.run(['echo', 'x y'])).stdout).toBe('x y\n');
    expect(calls()).toEqual([['vzctl', '--help'], ['vzctl', 'exec', '101', "echo 'x y'"]]);
  });

  it('a container on another host runs its prefix there', async () => {
    await withNetns([], async (ns) => {
      rmSync(log(), { force: true });
      const h = hostFor('lxd:web1', { on: `netns:${ns}` }) as PrefixHost;
      expect(h.describe()).toBe(`lxd:web1@netns:${ns}`);
      expect(h.on.describe()).toBe(`netns:${ns}`);
      // the fake lxc runs inside the namespace: ip shows only its lo
      const r = await h.run(['ip', '-br', 'link']);
      expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['lo']);
      expect(calls()).toEqual([['lxc', 'exec', 'web1', '--', 'ip', '-br', 'link']]);
    });
  });

  it('an ssh host-of gives an SshHost underneath', async () => {
    const h = hostFor('lxc:c1', { on: 'ssh://root@node1' }) as PrefixHost;
    expect(h.on).toBeInstanceOf(SshHost);
    expect(h.describe()).toBe('lxc:c1@ssh://root@node1');
    // never connected: closing is a no-op, not an error
    await closeHost(h);
  });
});
