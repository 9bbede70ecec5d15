/**
 * Record a live (local) host, save it, load it, replay it: the replay gives
 * the same answers, fails loudly on anything unrecorded, and the file on
 * disk never holds a secret.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHost } from '../../src/host/local.js';
import { loadRecording, maskSecrets, RecordedHost, RecordingHost, saveRecording, UnrecordedError, type RecordedFixture } from '../../src/host/recorded.js';

const KEEPALIVED = `global_defs {
  router_id lb1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  authentication {
    auth_type PASS
    auth_pass Xy7secret
  }
  virtual_ipaddress {
    10.0.0.10/24
  }
}
`;
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBkZWFkYmVlZGVhZGJlZWRlYWRiZWVkZWFkYmVlZGVhZGJlZQAAAJhTOPSECRET
-----END OPENSSH PRIVATE KEY-----
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvs-rec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('maskSecrets', () => {
  it.each([
    ['    auth_pass Xy7secret', '    auth_pass <masked>'],
    ['authentication { auth_type PASS auth_pass "two words" }', 'authentication { auth_type PASS auth_pass <masked> }'],
    ['   Password = Xy7secret', '   Password = <masked>'],
    ['passwd = hunter2', 'passwd = <masked>'],
    ['passwd=hunter2', 'passwd=<masked>'],
    ['secret=radius1', 'secret=<masked>'],
    ['  user admin insecure-password hunter2', '  user admin insecure-password <masked>'],
    ['  user admin password $6$salt$hash', '  user admin password <masked>'],
    ['  stats auth admin:hunter2', '  stats auth admin:<masked>'],
  ])('%j', (input, expected) => {
    expect(maskSecrets(input)).toBe(expected);
  });

  it('keeps what is not a secret byte for byte', () => {
    const text = 'PasswordAuthentication no\n    auth_type PASS\nIdentityFile ~/.ssh/id_ed25519\nnet.ipv4.conf.all.rp_filter = 0\n';
    expect(maskSecrets(text)).toBe(text);
  });

  it('drops the body of a private key, keeping its armour', () => {
    expect(maskSecrets(`before\n${KEY}after`)).toBe('before\n-----BEGIN OPENSSH PRIVATE KEY-----\n<masked>\n-----END OPENSSH PRIVATE KEY-----\nafter');
  });
});

describe('RecordingHost → saveRecording → loadRecording → RecordedHost', () => {
  it('replays what the live host answered and masks secrets on disk', async () => {
    const conf = join(dir, 'keepalived.conf');
    writeFileSync(conf, KEEPALIVED);
    const keyFile = join(dir, 'id_test');
    writeFileSync(keyFile, KEY);
    const sshConfig = join(dir, 'ssh_config');
    writeFileSync(sshConfig, `Host node1\n  IdentityFile ${keyFile}\n`);

    const rec = new RecordingHost(new LocalHost(), 'lb1');
    const live = {
      conf: await rec.readFile(conf),
      key: await rec.readFile(keyFile),
      sshConfig: await rec.readFile(sshConfig),
      absent: await rec.readFile(join(dir, 'absent.conf')),
      cat: await rec.run(['cat', conf]),
      fail: await rec.run(['sh', '-c', 'echo partial; echo bad >&2; exit 3']),
      missing: await rec.run(['no-such-program-lvs']),
      withInput: await rec.run(['tr', 'a-z', 'A-Z'], { input: 'abc\n' }),
    };
    // the live caller sees the real secret
    expect(live.conf).toContain('auth_pass Xy7secret');
    const file = await saveRecording(dir, 'lb1', rec.fixture());
    expect(file).toBe(join(dir, 'lb1.json'));

    const onDisk = readFileSync(file, 'utf8');
    expect(onDisk).not.toMatch(/Xy7secret|SECRET|b3BlbnNzaC1rZXkt/);
    expect(onDisk).toContain('"    auth_pass <masked>"');
    expect(onDisk).toContain(`"  IdentityFile ${keyFile}"`);
    // human-diffable: argv on one line, one line of output per line
    expect(onDisk).toContain(`"argv": ["cat",${JSON.stringify(conf)}]`);
    expect(onDisk).toContain('      "stdout": [\n        "global_defs {",\n        "  router_id lb1",');

    const replay = new RecordedHost(await loadRecording(dir, 'lb1'));
    expect(replay.describe()).toBe('recorded:lb1');
    expect(await replay.readFile(conf)).toBe(live.conf!.replace('Xy7secret', '<masked>'));
    expect(await replay.readFile(join(dir, 'absent.conf'))).toBeUndefined();
    expect(await replay.run(['sh', '-c', 'echo partial; echo bad >&2; exit 3'])).toEqual(live.fail);
    expect(live.fail.exitCode).toBe(3);
    expect(await replay.run(['no-such-program-lvs'])).toEqual(live.missing);
    expect(live.missing.exitCode).toBe(127);
    expect(await replay.run(['tr', 'a-z', 'A-Z'], { input: 'abc\n' })).toEqual(live.withInput);
    await expect(replay.run(['tr', 'a-z', 'A-Z'], { input: 'other\n' })).rejects.toThrow(/with this input/);
  });

  it('fails loudly on an unrecorded argv or path, naming it', async () => {
    const replay = new RecordedHost({ format: 'lvs-toolkit/recorded-host/1', node: 'rs1', host: 'local', runs: [], files: [] });
    const e = await replay.run(['ipvsadm', '-Ln', '--stats']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnrecordedError);
    expect((e as Error).message).toBe('recorded host rs1: nothing recorded for run ["ipvsadm","-Ln","--stats"]');
    await expect(replay.readFile('/proc/sys/net/ipv4/ip_forward')).rejects.toThrow('recorded host rs1: nothing recorded for readFile "/proc/sys/net/ipv4/ip_forward"');
    expect(() => replay.stream(['tcpdump', '-w', '-'])).toThrow(/streams are never recorded/);
  });

  it('replays repeated commands in order, then repeats the last; writes are kept in memory', async () => {
    const fx: RecordedFixture = {
      format: 'lvs-toolkit/recorded-host/1',
      node: 'lb2',
      host: 'ssh://root@lb2',
      runs: [
        { argv: ['cat', '/tmp/keepalived.data'], exitCode: 1, stdout: [''], stderr: ['no such file', ''] },
        { argv: ['cat', '/tmp/keepalived.data'], exitCode: 0, stdout: ['VRRP Topology', ''], stderr: [''] },
      ],
      files: [{ path: '/etc/sysctl.d/90-lvs.conf', content: null }],
    };
    const h = new RecordedHost(fx);
    expect((await h.run(['cat', '/tmp/keepalived.data'])).exitCode).toBe(1);
    expect((await h.run(['cat', '/tmp/keepalived.data'])).stdout).toBe('VRRP Topology\n');
    expect((await h.run(['cat', '/tmp/keepalived.data'])).stdout).toBe('VRRP Topology\n');
    expect(await h.readFile('/etc/sysctl.d/90-lvs.conf')).toBeUndefined();
    await h.writeFile('/etc/sysctl.d/90-lvs.conf', 'net.ipv4.ip_forward = 1\n', 0o644);
    expect(await h.readFile('/etc/sysctl.d/90-lvs.conf')).toBe('net.ipv4.ip_forward = 1\n');
    expect(h.writes).toEqual([{ path: '/etc/sysctl.d/90-lvs.conf', text: 'net.ipv4.ip_forward = 1\n', mode: 0o644 }]);
  });

  it('names the file and the field of a broken fixture', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'lvs-toolkit/recorded-host/1', node: 'bad', host: 'x', runs: [{ argv: [] }], files: [] }));
    await expect(loadRecording(dir, 'bad')).rejects.toThrow(/bad\.json: not a recorded host fixture: runs\.0\.argv/);
    await expect(saveRecording(dir, '../escape', { format: 'lvs-toolkit/recorded-host/1', node: 'x', host: 'x', runs: [], files: [] })).rejects.toThrow(/cannot name a fixture file/);
  });
});
