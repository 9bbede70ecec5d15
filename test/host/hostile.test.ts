/**
 * Hostile names and values never reach a shell unquoted (issue 4, Proof):
 * each case carries `$( )`, backquotes, quotes, `;`, newlines and spaces that
 * would create a marker file if any shell evaluated them, then asserts the
 * marker does not exist. Targets are refused by the grammar; argv, file paths
 * and file contents pass through local, netns: and a shell-joining prefix
 * (the way `vzctl exec` and ssh hand a command line to a remote shell) intact.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TargetError } from '../../src/host/errors.js';
import { LocalHost } from '../../src/host/local.js';
import { PrefixHost, shellJoin } from '../../src/host/prefix.js';
import { hostFor, parseHostOf } from '../../src/host/targets.js';
import type { Host } from '../../src/host/types.js';
import { run, withNetns } from '../helpers/netns.js';

const DIR = mkdtempSync(join(tmpdir(), 'lvs-hostile-host-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

let n = 0;
/** A fresh marker path and the hostile words that would create it. */
function hostile(): { marker: string; words: string[] } {
  const marker = join(DIR, `PWNED-${++n}`);
  return {
    marker,
    words: [
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `'; touch ${marker}; '`,
      `"; touch ${marker}; "`,
      `a b\ntouch ${marker}`,
      `x;touch ${marker}`,
      `$(touch\t${marker})|touch ${marker}&`,
    ],
  };
}

/** Nothing in DIR but what the test wrote on purpose. */
function expectNoMarker(marker: string): void {
  expect(existsSync(marker), `${marker} exists: a shell evaluated hostile text`).toBe(false);
  expect(readdirSync(DIR).filter((f) => f.startsWith('PWNED'))).toEqual([]);
}

describe('targets with shell text are refused before anything runs', () => {
  it.each(['netns', 'lxd', 'lxc', 'vz'])('%s:NAME', (scheme) => {
    const { marker, words } = hostile();
    for (const w of [...words, 'with space', 'web1\n']) {
      expect(() => hostFor(`${scheme}:${w}`), JSON.stringify(w)).toThrow(TargetError);
    }
    expectNoMarker(marker);
  });

  it('ssh users, hosts and ports', () => {
    const { marker, words } = hostile();
    for (const w of words) {
      expect(() => hostFor(`ssh://${w}@node1`), `user ${JSON.stringify(w)}`).toThrow(TargetError);
      expect(() => hostFor(`ssh://root@${w}`), `host ${JSON.stringify(w)}`).toThrow(TargetError);
      expect(() => hostFor(`ssh://root@node1:${w}`), `port ${JSON.stringify(w)}`).toThrow(TargetError);
      expect(() => hostFor(`ssh://root@[::1${w}]`), `v6 ${JSON.stringify(w)}`).toThrow(TargetError);
      // An option smuggled as a host (ssh -oProxyCommand=…) is not a host name either.
      expect(() => hostFor(`ssh://-oProxyCommand=${w}`)).toThrow(TargetError);
      expect(() => parseHostOf(`lxd:web1=ssh://root@${w}`)).toThrow(TargetError);
      expect(() => parseHostOf(`lxd:${w}=local`)).toThrow(TargetError);
    }
    expectNoMarker(marker);
  });
});

/** argv words, a file path and its content, all hostile, through one Host. */
async function roundTrip(host: Host, marker: string, words: string[]): Promise<void> {
  for (const w of words) {
    const r = await host.run(['printf', '%s', w]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(w);
    // Through env too: the prefix adapters pass it as `env K=V argv`.
    const e = await host.run(['printenv', 'HOSTILE'], { env: { HOSTILE: w } });
    expect(e.stdout).toBe(`${w}\n`);
  }
  // Each word as a path under DIR (its slashes make directories, which writeFile creates).
  const root = join(DIR, `files-${marker.slice(-4)}`);
  for (const w of words) {
    const path = `${root}/${w}`;
    const text = `${words.join('\n')}\n`;
    await host.writeFile(path, text, 0o600);
    expect(await host.readFile(path), JSON.stringify(path)).toBe(text);
    expect(await host.readFile(`${path} missing`)).toBeUndefined();
  }
  rmSync(root, { recursive: true, force: true });
  expectNoMarker(marker);
}

describe('hostile argv, env, paths and contents pass through intact', () => {
  it('local', async () => {
    const { marker, words } = hostile();
    await roundTrip(hostFor('local'), marker, words);
  });

  it('netns:NAME (ip netns exec, and sh scripts for files)', async () => {
    await withNetns([], async (ns) => {
      const { marker, words } = hostile();
      await roundTrip(hostFor(`netns:${ns}`), marker, words);
    });
  });

  it('a prefix whose tool hands one command line to a shell (vzctl exec, ssh)', async () => {
    // `sh -c LINE` is what vzctl exec/exec2 and sshd do with the joined words.
    const shellPrefixed = new PrefixHost({ prefix: ['sh', '-c'], name: 'shell-joined', shell: true, on: new LocalHost() });
    const { marker, words } = hostile();
    await roundTrip(shellPrefixed, marker, words);
    // And the quoting itself: every word comes back as one word.
    const argv = ['printf', '<%s>', ...words];
    const r = run(['sh', '-c', shellJoin(argv)]);
    expect(r.stdout).toBe(words.map((w) => `<${w}>`).join(''));
    expectNoMarker(marker);
  });
});
