/**
 * The real lvs-wizard binary, spawned as a user would run it: import,
 * generate and check on the seeds' configs and on a corpus of bad input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

const BIN = join(ROOT, 'dist', 'bin', 'lvs-wizard.js');
const SEEDS = join(ROOT, 'fixtures', 'configs', 'seeds');
const ANSWERS = join(ROOT, 'fixtures', 'answers');
let tmp: string;

function wizard(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: tmp, maxBuffer: 64 * 1024 * 1024 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error('dist/ is missing: run npm run build (npm test does)');
  tmp = mkdtempSync(join(tmpdir(), 'lvs-wizard-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('lvs-wizard --help / --version', () => {
  it('prints usage with the commands and exits 0', () => {
    const r = wizard(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lvs-wizard import FILE/);
    expect(r.stdout).toMatch(/lvs-wizard generate ANSWERS --out DIR/);
    expect(r.stdout).toMatch(/lvs-wizard check FILE/);
  });
  it('prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(wizard(['--version']).stdout.trim()).toBe(`lvs-wizard ${pkg.version}`);
  });
  it('an unknown command is a usage error (exit 2), no stack', () => {
    const r = wizard(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('lvs-wizard import', () => {
  it('imports seed 000 keepalived.conf to an answers file that checks clean', () => {
    const r = wizard(['import', join(SEEDS, 'seed-000-keepalived.conf')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/vip: 10\.0\.3\.250/);
    expect(r.stdout).toMatch(/mode: dr/);
    writeFileSync(join(tmp, 'seed000.yaml'), r.stdout);
    const c = wizard(['check', 'seed000.yaml']);
    expect(c.stdout).toMatch(/0 error\(s\)/);
  });

  it('converts Piranha lvs.cf (seed 004) to keepalived.conf, NAT router floating with the VIP', () => {
    const r = wizard(['import', join(SEEDS, 'seed-004-lvs.cf'), '--to', 'keepalived']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/virtual_server fwmark 80/);
    expect(r.stdout).toMatch(/lb_kind NAT/);
    expect(r.stdout).toMatch(/10\.8\.8\.30\/24 dev eth1/);
  });

  it('check warns that seed 004 real servers must listen on 443 as well as 80', () => {
    const r = wizard(['check', join(ANSWERS, 'seed-004-nat-fwmark.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/keeps the client's port \(80, 443\)/);
  });

  it('reads ipvsadm -Sn from standard input', () => {
    const r = wizard(['import', '-', '--from', 'ipvsadm'], readFileSync(join(SEEDS, 'seed-004-ipvsadm.txt'), 'utf8'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fwmark: 80/);
  });

  it('imports the seed 003 nginx upstream', () => {
    const r = wizard(['import', join(SEEDS, 'seed-003-nginx.conf')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mode: nginx/);
    expect(r.stdout).toMatch(/10\.156\.178\.210/);
  });
});

describe('lvs-wizard check', () => {
  it('passes every seed answers file (exit 0)', () => {
    for (const f of ['seed-000-dr-pair', 'seed-000-nginx-pair', 'seed-002-tun-openvz', 'seed-003-nginx-lxd', 'seed-004-nat-fwmark']) {
      const r = wizard(['check', join(ANSWERS, `${f}.yaml`)]);
      expect(r.code, `${f}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('lists every problem of a broken design with its file position, exit 1', () => {
    const bad = readFileSync(join(ANSWERS, 'seed-000-dr-pair.yaml'), 'utf8')
      .replace('priority: 50', 'priority: 150')
      .replace('advertInt: 1', 'advertInt: 0.5')
      .replace('{ name: app2, address: 10.0.3.20, port: 80', '{ name: app2, address: 10.0.3.20, port: 8080');
    writeFileSync(join(tmp, 'bad.yaml'), bad);
    const r = wizard(['check', 'bad.yaml', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    const paths = j.problems.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['directors[1].priority', 'vrrp.advertInt', 'services[0].realServers[1].port']));
  });

  it('structural errors in an answers file point at the line', () => {
    writeFileSync(join(tmp, 'typo.yaml'), 'version: 1\nservices:\n  - name: web\n    vip: 10.0.0.300\n    ports: [80]\n    mode: dr\n    realServers: []\ndirectors: []\n');
    const r = wizard(['check', 'typo.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/typo\.yaml:4:\d+: .*IPv4/);
  });

  it('--strict fails on warnings', () => {
    expect(wizard(['check', join(ANSWERS, 'seed-004-nat-fwmark.yaml'), '--strict']).code).toBe(1);
  });
});

describe('bad input never shows a stack trace', () => {
  const corpus: Array<[string, string | Buffer, number]> = [
    ['truncated keepalived block', 'vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n', 1],
    ['bad IP in keepalived', 'virtual_server 10.0.0.999 80 {\n  lb_kind DR\n}\n', 1],
    ['binary junk', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe, 0, 0]), 1],
    ['unrecognisable text', 'hello world\nthis is not a config\n', 1],
    ['truncated lvs.cf', 'serial_no = 3\nprimary = 10.0.0.1\nnetwork = nat\nvirtual web {\n  address = 10.0.0.100 eth0:1\n', 1],
  ];
  for (const [name, content, code] of corpus) {
    it(`${name}: positioned error, exit ${code}`, () => {
      const f = join(tmp, `bad-${name.replace(/\W+/g, '-')}`);
      writeFileSync(f, content);
      const r = wizard(['import', f]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/);
    });
  }

  it('a 10 MB file is answered with a positioned error', () => {
    const f = join(tmp, 'huge.conf');
    writeFileSync(f, `virtual_server 10.0.0.1 80 {\n${'    foo_bar_unknown 1\n'.repeat(500_000)}`);
    expect(statSync(f).size).toBeGreaterThan(10_000_000);
    const r = wizard(['import', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/huge\.conf:\d+:\d+: /);
  });

  it('a missing file is exit 2 with the path', () => {
    const r = wizard(['import', 'no-such-file.conf']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read no-such-file\.conf: no such file/);
  });
});

describe('lvs-wizard generate', () => {
  it('writes each node\'s files at their absolute paths plus setup.sh, and refuses to clobber', () => {
    const out = join(tmp, 'out000');
    const r = wizard(['generate', join(ANSWERS, 'seed-000-dr-pair.yaml'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const conf = readFileSync(join(out, 'lb1', 'etc', 'keepalived', 'keepalived.conf'), 'utf8');
    expect(conf).toMatch(/state MASTER/);
    expect(readFileSync(join(out, 'lb2', 'etc', 'keepalived', 'keepalived.conf'), 'utf8')).toMatch(/state BACKUP/);
    expect(statSync(join(out, 'app1', 'setup.sh')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(out, 'app1', 'setup.sh'), 'utf8')).toMatch(/10\.0\.3\.250/);
    expect(r.stdout).toMatch(/lb1 \(director\):/);
    expect(r.stdout).toMatch(/app1 \(real-server\):/);
    expect(r.stdout).toMatch(/lxchost \(container-host\):/);

    writeFileSync(join(out, 'lb1', 'etc', 'keepalived', 'keepalived.conf'), '# hand edit\n');
    const again = wizard(['generate', join(ANSWERS, 'seed-000-dr-pair.yaml'), '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/differ from what would be written/);
    expect(readFileSync(join(out, 'lb1', 'etc', 'keepalived', 'keepalived.conf'), 'utf8')).toBe('# hand edit\n');
  });

  it('refuses a design with errors and writes nothing', () => {
    const bad = readFileSync(join(ANSWERS, 'seed-000-dr-pair.yaml'), 'utf8').replace('priority: 50', 'priority: 150');
    writeFileSync(join(tmp, 'bad-pair.yaml'), bad);
    const out = join(tmp, 'out-bad');
    const r = wizard(['generate', 'bad-pair.yaml', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not above the backup/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('lvs-trace at the command line', () => {
  it('--help exits 0; no VIP is a usage error (exit 2) that shows the usage', () => {
    const help = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'lvs-trace.js'), '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^lvs-trace — /);
    const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'lvs-trace.js')], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/which VIP\? give VIP\[:PORT\]/);
    expect(run.stderr).toMatch(/usage: lvs-trace VIP/);
  });
});
