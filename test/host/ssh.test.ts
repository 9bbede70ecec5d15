/**
 * SshHost against a real OpenSSH server the test starts itself on loopback
 * (sshd-fixture.ts): commands, quoting, files, streams, connection reuse and
 * an unreachable port.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostUnreachableError } from '../../src/host/errors.js';
import { SshHost } from '../../src/host/ssh.js';
import { hostFor } from '../../src/host/targets.js';
import { freePort, startSshd, type TestSshd } from './sshd-fixture.js';

let sshd: TestSshd;
let host: SshHost;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  host = hostFor(`ssh://root@127.0.0.1:${sshd.port}`, { ssh: sshd.sshOptions }) as SshHost;
  work = mkdtempSync(join(tmpdir(), 'lvs-ssh-work-'));
});

afterAll(async () => {
  await host?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('SshHost against a real sshd', () => {
  it('runs argv and returns the remote exit code without throwing', async () => {
    expect(host.describe()).toBe(`ssh://root@127.0.0.1:${sshd.port}`);
    const ok = await host.run(['echo', 'hello']);
    expect(ok).toMatchObject({ stdout: 'hello\n', exitCode: 0 });
    expect((await host.run(['sh', '-c', 'echo oops >&2; exit 3'])).exitCode).toBe(3);
    const missing = await host.run(['no-such-program-lvs']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toMatch(/not found/);
  });

  it('passes every hostile word through the remote shell literally', async () => {
    const marker = join(work, 'pwned');
    const words = ['a b', "it's", '"dq"', '$HOME', '`id`', `$(touch ${marker})`, `; touch ${marker}`, 'line1\nline2', '', '*', '|', '&&', '\\', '~', '#x', '-n'];
    const r = await host.run(['printf', '[%s]', ...words]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(words.map((w) => `[${w}]`).join(''));
    expect(existsSync(marker)).toBe(false);
  });

  it('sets env inside the remote command', async () => {
    const r = await host.run(['sh', '-c', 'printf %s "$LVS_T"'], { env: { LVS_T: "a b $x 'q'" } });
    expect(r.stdout).toBe("a b $x 'q'");
  });

  it('feeds binary stdin unchanged', async () => {
    const bytes = new Uint8Array(randomBytes(70_000));
    bytes.set(Array.from({ length: 256 }, (_, i) => i));
    const r = await host.run(['sha256sum'], { input: bytes });
    expect(r.stdout.split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('reads files, telling a missing one apart', async () => {
    const name = join(work, "odd name 'q' $x.txt");
    writeFileSync(name, 'line 1\nline 2\n');
    expect(await host.readFile(name)).toBe('line 1\nline 2\n');
    expect(await host.readFile(join(work, 'absent'))).toBeUndefined();
    await expect(host.readFile(work)).rejects.toThrow(/reading .* failed .*Is a directory/);
  });

  it('writes files atomically with their mode, creating directories', async () => {
    const target = join(work, 'new dir', 'keepalived.conf');
    const text = "vrrp_instance V {\n  auth_pass 's3c$ret'\n}\n`not run`\n";
    await host.writeFile(target, text, 0o600);
    expect(readFileSync(target, 'utf8')).toBe(text);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    await host.writeFile(target, 'second\n', 0o644);
    expect(readFileSync(target, 'utf8')).toBe('second\n');
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(work, 'new dir'))).toEqual(['keepalived.conf']);
  });

  it('streams binary stdout as it comes, and can be killed', async () => {
    const blob = randomBytes(200_000);
    const file = join(work, 'blob.bin');
    writeFileSync(file, blob);
    const s = host.stream(['cat', file]);
    const chunks: Buffer[] = [];
    for await (const c of s.stdout) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).equals(blob)).toBe(true);
    expect((await s.done).exitCode).toBe(0);

    const endless = host.stream(['sh', '-c', 'while :; do printf tick; sleep 0.05; done']);
    let seen = '';
    for await (const c of endless.stdout) {
      seen += Buffer.from(c).toString();
      if (seen.length >= 12) break;
    }
    endless.kill();
    await endless.done;
    expect(seen).toMatch(/^(tick)+/);
  });

  it('reuses one connection for many commands, even 30 in parallel', async () => {
    const accepted = () => (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const before = accepted();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => host.run(['echo', String(i)])));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 30 }, (_, i) => `${i}\n`));
    expect(accepted()).toBe(before);
    expect(before).toBe(1);
  });

  it('maps a timeout to exit code 124 and ends the remote command', async () => {
    const pidFile = join(work, 'sleeper.pid');
    const r = await host.run(['sh', '-c', 'echo $$ >"$1"; exec sleep 600', 'sh', pidFile], { timeoutMs: 500 });
    expect(r.exitCode).toBe(124);
    expect(r.timedOut).toBe(true);
    // the remote sleep is gone, not orphaned behind the shared connection
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(pid).toBeGreaterThan(1);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('says which host is unreachable and what ssh said', async () => {
    const port = await freePort();
    const dead = new SshHost({ host: '127.0.0.1', user: 'root', port }, sshd.sshOptions);
    try {
      const err = await dead.run(['true']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostUnreachableError);
      expect((err as Error).message).toContain(`ssh://root@127.0.0.1:${port}`);
      expect((err as Error).message).toMatch(/Connection refused/);
      await expect(dead.readFile('/etc/hostname')).rejects.toBeInstanceOf(HostUnreachableError);
    } finally {
      await dead.close();
    }
  });
});
