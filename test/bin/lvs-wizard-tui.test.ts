/**
 * The built lvs-wizard in a real terminal: tmux runs it (its own server
 * socket, so nothing of anyone else's is touched), send-keys types, and
 * capture-pane shows what a person sees. A DR setup from the first screen to
 * the targets, in 120x40 and in 80x24, where every frame must fit: the title
 * on the first row and no line wider than the pane. Then the answers saved on
 * Ctrl+C, and the non-TTY paths.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { normalize } from '../../src/core/normalize.js';
import { ROOT } from '../helpers/fixtures.js';
import { TmuxServer } from '../helpers/tmux.js';

const BIN = join(ROOT, 'dist', 'bin', 'lvs-wizard.js');
const server = new TmuxServer(`lvs-wizard-tui-${process.pid}`);
let tmp: string;

/** The wizard with `args` in a fresh columns x rows terminal. */
const wizardIn = (columns: number, rows: number, args: string[]) => server.terminal(columns, rows, tmp, `${process.execPath} ${BIN} ${args.join(' ')}`);

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error('dist/ is missing: run npm run build');
  tmp = mkdtempSync(join(tmpdir(), 'lvs-wizard-tui-'));
  server.start();
});
afterAll(() => {
  server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

for (const [columns, rows] of [
  [120, 40],
  [80, 24],
] as const) {
  describe(`a DR setup in a ${columns}x${rows} terminal`, () => {
    it('first screen -> mode -> a bad VIP refused at its field -> review with tabs -> back and forth -> targets checked', async () => {
      const t = wizardIn(columns, rows, ['--lab']);
      try {
        const first = await t.waitFor('step 1 of 13: What to balance');
        expect(first).toContain('‹ l4 ›');
        t.keys('Enter');
        const mode = await t.waitFor('DR (direct routing)');
        expect(mode).toContain('client <------------------- server');
        t.keys('Enter');
        await t.waitFor('step 3 of 13: Platforms');
        t.keys('Enter');
        await t.waitFor('step 4 of 13: Service');
        t.keys('Down');
        await t.waitFor('> VIP');
        t.keys('BSpace', 'BSpace', 'BSpace');
        await t.waitFor('10.0.0._');
        t.keys('Enter');
        const bad = await t.waitFor('expected an IPv4 address');
        expect(bad).toContain('step 4 of 13: Service');
        t.text('200');
        await t.waitFor('10.0.0.200_');
        t.keys('Enter');
        const directors = await t.waitFor('step 5 of 13: Directors');
        expect(directors).toContain('Master priority');
        for (const title of ['step 6 of 13: Real servers', 'step 7 of 13: Scheduler', 'step 8 of 13: Health check']) {
          t.keys('Enter');
          await t.waitFor(title);
        }
        t.keys('Down', 'Down');
        const health = await t.waitFor('> Timer profile');
        expect(health).toMatch(/> fast: +failover ~0\.\d+ s/);
        expect(health).toMatch(/conservative: +failover ~6\.\d+ s/);
        t.keys('Enter');
        const review = await t.waitFor('step 9 of 13: Review');
        expect(review).toContain('TCP 10.0.0.200:80');
        expect(review).toContain('replies: real server -> client directly');
        t.keys('Right');
        const tab = await t.waitFor('[dir1]');
        expect(tab).toContain('/etc/keepalived/keepalived.conf');
        t.keys('Escape');
        await t.waitFor('step 8 of 13: Health check');
        t.keys('Enter');
        await t.waitFor('step 9 of 13: Review');
        t.keys('Enter');
        const targets = await t.waitFor('step 10 of 13: Targets');
        expect(targets).toContain('lab:dir1');
        expect(targets).toContain('lab:rs2');
        t.keys('Enter');
        const checked = await t.waitFor(/^ {4}[✓✗] /mu);
        expect(checked).toContain('lab:dir1');
      } finally {
        t.kill();
      }
    });
  });
}

describe('--save and --answers', () => {
  it('Ctrl+C at the review saves the answers, which check clean and hold what was typed', async () => {
    const t = wizardIn(100, 30, ['--save', 'saved.yaml']);
    try {
      await t.waitFor('What to balance');
      t.keys('Enter');
      await t.waitFor('Forwarding method');
      t.keys('Left');
      await t.waitFor('NAT (masquerading)');
      for (const title of ['Platforms', 'Service', 'Directors', 'Real servers', 'Scheduler', 'Health check', 'Review']) {
        t.keys('Enter');
        await t.waitFor(title);
      }
      t.keys('C-c');
      const deadline = Date.now() + 15_000;
      while (!existsSync(join(tmp, 'saved.yaml')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const n = normalize(parseYaml(readFileSync(join(tmp, 'saved.yaml'), 'utf8')));
      expect(n.ok && n.model.services[0]!.mode).toBe('nat');
      expect(n.ok && n.model.directors[0]!.interfaces.map((i) => i.address)).toEqual(['10.0.0.1/24', '10.0.1.1/24']);
    } finally {
      t.kill();
    }
  });

  it('--answers pre-fills from a Piranha lvs.cf (seed 004): the review shows its NAT router pair', async () => {
    const t = wizardIn(120, 40, ['--answers', join(ROOT, 'fixtures', 'configs', 'seeds', 'seed-004-lvs.cf')]);
    try {
      await t.waitFor('What to balance');
      for (const title of ['Forwarding method', 'Platforms', 'Service', 'Directors', 'Real servers', 'Scheduler', 'Health check', 'Review']) {
        t.keys('Enter');
        await t.waitFor(title);
      }
      const review = t.screen();
      expect(review).toContain('TCP 10.10.1.30:80 (fwmark 80)  [NAT, wlc, sticky 30s]');
      expect(review).toContain("real servers' gateway: 10.8.8.30 (floats with the VIP)");
      expect(review).toContain('primary eth0/eth1 MASTER');
    } finally {
      t.kill();
    }
  });
});

describe('without a terminal', () => {
  const wizard = (args: string[], input: string | undefined, env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, cwd: tmp, env: { ...process.env, CI: '', ...env }, timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  it('in CI with nothing to read it names the flags and exits 2', () => {
    const r = wizard([], undefined, { CI: 'true' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--answers FILE --yes --targets TARGETS/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
  it('piped lines answer the line prompts (empty keeps the default, "tun" picks TUN) and --save writes the design', () => {
    const lines = ['', 'tun', ...Array.from({ length: 40 }, () => '')];
    const r = wizard(['--save', 'piped.yaml'], `${lines.join('\n')}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('wraps each packet in IP-in-IP');
    const n = normalize(parseYaml(readFileSync(join(tmp, 'piped.yaml'), 'utf8')));
    expect(n.ok && n.model.services[0]!.mode).toBe('tun');
  });
  it('input that ends before the last question stops with exit 2, saying where', () => {
    const r = wizard([], '\n\n\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the input ended at "/);
  });
  it('a wrong answer is refused and the step asked again', () => {
    const lines = ['', '', '', '', '', '10.0.0', '', '', '', '', '10.0.0.9', ...Array.from({ length: 40 }, () => '')];
    const r = wizard([], `${lines.join('\n')}\n`);
    expect(r.stderr).toMatch(/services\[0\]\.vip: expected an IPv4 address/);
    expect(r.stderr).toMatch(/asking this step again/);
    expect(r.stdout).toContain('TCP 10.0.0.9:80');
  });
});
