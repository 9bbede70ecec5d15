/**
 * Hostile input through the real binaries (issue 4, Proof): targets, config
 * values and node names carrying `$( )`, backquotes, quotes and newlines that
 * would create a marker file if a shell evaluated them. Each case has its own
 * marker under a temp dir and asserts it is absent afterwards. Needs dist/
 * (npm run build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

const DOCTOR = join(ROOT, 'dist', 'bin', 'lvs-doctor.js');
const WIZARD = join(ROOT, 'dist', 'bin', 'lvs-wizard.js');
const DIR = mkdtempSync(join(tmpdir(), 'lvs-hostile-doctor-'));

beforeAll(() => {
  if (!existsSync(DOCTOR) || !existsSync(WIZARD)) throw new Error('dist/ is missing: run npm run build');
});
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

function cli(bin: string, args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: DIR, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status };
}

let n = 0;
function marker(): string {
  return join(DIR, `PWNED-${++n}`);
}
function expectAbsent(m: string): void {
  expect(existsSync(m), `${m} exists: a shell evaluated hostile text`).toBe(false);
  expect(readdirSync(DIR).filter((f) => f.startsWith('PWNED'))).toEqual([]);
}

describe('lvs-doctor', () => {
  it.each([
    ['--director', (m: string) => `netns:$(touch ${m})`],
    ['--director', (m: string) => `lxd:\`touch ${m}\``],
    ['--real', (m: string) => `ssh://root@$(touch ${m})`],
    ['--real', (m: string) => `ssh://'$(touch ${m})'@node1`],
    ['--client', (m: string) => `vz:101;touch ${m}`],
    ['--client', (m: string) => `lxc:web\ntouch ${m}`],
  ])('%s %#: a clean usage error (exit 2), nothing run', (flag, target) => {
    const m = marker();
    const r = cli(DOCTOR, [flag, target(m), '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/bad target/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expectAbsent(m);
  });

  it('--config with hostile router_id, comments, script paths and names: parsed and checked here, nothing evaluated', () => {
    const m = marker();
    const conf = join(DIR, 'hostile-keepalived.conf');
    writeFileSync(
      conf,
      [
        'global_defs {',
        `  router_id $(touch ${m})`,
        `  notification_email_from "\`touch ${m}\`"@example.org`,
        '  enable_script_security',
        '}',
        `# VIP for "$(touch ${m})" and '; touch ${m}; '`,
        `vrrp_script chk_$(touch_${n}) {`,
        `  script "/usr/local/bin/check $(touch ${m}) \`touch ${m}\`"`,
        '  interval 2',
        '}',
        'vrrp_instance VI_1 {',
        '  state MASTER',
        '  interface eth0',
        '  virtual_router_id 51',
        '  priority 100',
        '  advert_int 1',
        `  notify_master "/bin/sh -c 'touch ${m}'"`,
        `  virtual_ipaddress { 10.0.0.100/32 dev eth0 label eth0:$(touch${n}) } # $(touch ${m})`,
        '}',
        'virtual_server 10.0.0.100 80 {',
        '  delay_loop 6',
        '  lb_algo rr',
        '  lb_kind DR',
        '  protocol TCP',
        '  real_server 10.0.0.11 80 {',
        '    weight 1',
        '    MISC_CHECK {',
        `      misc_path "/usr/local/bin/chk $(touch ${m}); touch ${m}"`,
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const r = cli(DOCTOR, ['--config', conf, '--json']);
    expectAbsent(m);
    // 0 or 1: the design was read and the checks ran on this machine (a failure here is this machine's, not the point).
    expect([0, 1], r.stderr).toContain(r.code);
    const out = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; host: string }> };
    expect(out.checks.length).toBeGreaterThan(0);
  });
});

describe('lvs-wizard generate of a hostile answers file', () => {
  const seed = readFileSync(join(ROOT, 'fixtures', 'answers', 'seed-000-dr-pair.yaml'), 'utf8');

  it.each([
    ['a director name', (m: string) => seed.replace('name: lb1\n', `name: "lb1$(touch ${m})"\n`)],
    ['a real server name', (m: string) => seed.replace('name: app1,', `name: "app1\`touch ${m}\`",`)],
    ['a container host name', (m: string) => seed.replaceAll('lxchost', `"lxc'; touch ${m}; '"`)],
    ['an interface name', (m: string) => seed.replace('- { name: eth0, address: 10.0.3.11/24 }', `- { name: "eth0$(touch ${m})", address: 10.0.3.11/24 }`)],
  ])('%s with shell text is refused by the model, nothing written', (_what, edit) => {
    const m = marker();
    const answers = join(DIR, `names-${n}.yaml`);
    const text = edit(m);
    expect(text).not.toBe(seed);
    writeFileSync(answers, text);
    const out = join(DIR, `out-${n}`);
    const r = cli(WIZARD, ['generate', answers, '--out', out]);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    const c = cli(WIZARD, ['check', answers]);
    expect(c.code).not.toBe(0);
    expectAbsent(m);
  });

  it('a hostile health-check script is kept as keepalived text and never lands in a generated shell script', () => {
    const m = marker();
    const command = `/usr/local/bin/chk $(touch ${m}) \`touch ${m}\` 'q' "dq" ; touch ${m}`;
    const answers = join(DIR, 'script.yaml');
    writeFileSync(answers, seed.replace('healthCheck: { type: tcp, port: 80 }', `healthCheck: { type: script, command: ${JSON.stringify(command)} }`));
    const out = join(DIR, 'out-script');
    const r = cli(WIZARD, ['generate', answers, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(out);
    const scripts = files.filter((f) => f.endsWith('.sh') || f.endsWith('/lvs-toolkit-setup'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      const syntax = spawnSync('sh', ['-n', s], { encoding: 'utf8' });
      expect(syntax.status, `${s}: ${syntax.stderr}`).toBe(0);
      expect(readFileSync(s, 'utf8'), s).not.toContain(m);
    }
    // keepalived runs MISC_CHECK itself; the command is the user's, written as one quoted misc_path.
    const conf = files.filter((f) => f.endsWith('keepalived.conf'));
    expect(conf.length).toBe(2);
    for (const c of conf) expect(readFileSync(c, 'utf8')).toContain(`misc_path "/usr/local/bin/chk $(touch ${m}) \`touch ${m}\` 'q' \\"dq\\" ; touch ${m}"`);
    expectAbsent(m);
  });
});
