import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Result } from '../../src/doctor/check.js';
import { applyFix, fixable, fixNode, fixPlan, pruneNftFixes, withLines } from '../../src/doctor/fix.js';
import { hostFor } from '../../src/host/targets.js';
import { run, runIn, withNetns } from '../helpers/netns.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvs-doctor-fix-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function finding(file: string, commands: string[][]): Result {
  return {
    id: 'arp-ignore',
    title: 'ARP answers for the VIP',
    host: 'rs1',
    role: 'real-server',
    status: 'fail',
    message: 'arp_ignore is 0',
    evidence: [],
    fix: { why: 'only the director may answer ARP for the VIP', commands, files: [{ path: file, lines: ['net.ipv4.conf.all.arp_ignore = 1', 'net.ipv4.conf.all.arp_announce = 2'] }] },
  };
}

describe('fix plan (pure)', () => {
  it('appends only the lines a file lacks, and adds nothing the second time', () => {
    expect(withLines(undefined, ['a', 'b'])).toBe('a\nb\n');
    expect(withLines('# mine\na', ['a', 'b'])).toBe('# mine\na\nb\n');
    expect(withLines('a\nb\n', ['a', 'b'])).toBe('a\nb\n');
  });

  it('a file that already holds every line is not written; commands always run, in order', () => {
    const r = finding('/etc/sysctl.d/90-lvs.conf', [['sysctl', '-w', 'x=1'], ['sysctl', '-w', 'y=2']]);
    const p = fixPlan(r, new Map([['/etc/sysctl.d/90-lvs.conf', { text: 'net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n' }]]));
    expect(p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind))).toEqual(['sysctl -w x=1', 'sysctl -w y=2']);
  });

  it('fixes only fails and warns that carry something to do', () => {
    const r = finding('/f', [['true']]);
    expect(fixable([r, { ...r, status: 'pass' }, { ...r, status: 'warn' }, { ...r, fix: { why: 'x', commands: [], files: [] } }])).toHaveLength(2);
  });
});

describe('applyFix on a throw-away netns', () => {
  const hostValue = run(['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']).stdout.trim();

  it('runs the commands in the namespace, appends the file lines with a backup', async () => {
    await withNetns(['eth0'], async (ns) => {
      const file = join(tmp, 'ok', 'sysctl.d', '90-lvs.conf');
      const backups = join(tmp, 'ok-backups');
      const res0 = await applyFix(finding(file, [['true']]), hostFor(`netns:${ns}`), { backupRoot: backups });
      expect(res0.ok, JSON.stringify(res0.failure)).toBe(true);
      writeFileSync(file, '# kept\nnet.ipv4.ip_forward = 1\n');
      expect(runIn(ns, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']).stdout.trim()).toBe('0');
      const res = await applyFix(finding(file, [['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1']]), hostFor(`netns:${ns}`), { backupRoot: backups });
      expect(res.ok, JSON.stringify(res.failure)).toBe(true);
      expect(runIn(ns, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']).stdout.trim()).toBe('1');
      expect(readFileSync(file, 'utf8')).toBe('# kept\nnet.ipv4.ip_forward = 1\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n');
      const backup = join(backups, res.stamp, file);
      expect(readFileSync(backup, 'utf8')).toBe('# kept\nnet.ipv4.ip_forward = 1\n');
    });
    // The machine's own sysctl never moved.
    expect(run(['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']).stdout.trim()).toBe(hostValue);
  });

  it('rolls every file back when a command fails, and says which', async () => {
    await withNetns(['eth0'], async (ns) => {
      const existing = join(tmp, 'rb', 'existing.conf');
      const fresh = join(tmp, 'rb', 'new.conf');
      await hostFor('local').writeFile(existing, 'original\n');
      const r = finding(existing, [['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1'], ['sh', '-c', 'echo no route >&2; exit 3']]);
      r.fix!.files.push({ path: fresh, lines: ['brand new'] });
      const res = await applyFix(r, hostFor(`netns:${ns}`), { backupRoot: join(tmp, 'rb-backups') });
      expect(res.ok).toBe(false);
      expect(res.rolledBack).toBe(true);
      expect(res.failure?.message).toMatch(/exited 3/);
      expect(res.failure?.output).toContain('no route');
      expect(readFileSync(existing, 'utf8')).toBe('original\n');
      expect(existsSync(fresh)).toBe(false);
      expect(readdirSync(join(tmp, 'rb'))).toEqual(['existing.conf']);
    });
  });
});

describe('the persistent nft fixes file stays loadable', () => {
  const stale = 'insert rule inet gone in ip daddr 10.0.0.100 tcp dport 80 accept\ninsert rule inet keep in ip protocol vrrp accept\n';
  it('drops the lines whose chain is gone, keeps the rest (pure)', () => {
    expect(pruneNftFixes(stale, (c) => c.table !== 'gone')).toBe('insert rule inet keep in ip protocol vrrp accept\n');
    expect(pruneNftFixes(stale, () => true)).toBe(stale);
  });
  it('the next fix writes the pruned file plus its line, and nft -c accepts it where it refused the stale one', async () => {
    const r: Result = {
      id: 'rs-firewall', title: 't', host: 'rs1', role: 'real-server', status: 'fail', message: 'm', evidence: [],
      fix: { why: 'w', commands: [], files: [{ path: '/etc/lvs-toolkit/doctor-fixes.nft', lines: ['insert rule inet keep in tcp dport 443 accept'] }] },
    };
    const p = fixPlan(r, new Map([['/etc/lvs-toolkit/doctor-fixes.nft', { text: stale, base: pruneNftFixes(stale, (c) => c.table !== 'gone') }]]));
    const write = p.steps.find((x) => x.kind === 'write-file');
    expect(write && write.kind === 'write-file' ? write.content : '').toBe('insert rule inet keep in ip protocol vrrp accept\ninsert rule inet keep in tcp dport 443 accept\n');
    await withNetns(['eth0'], async (ns) => {
      expect(runIn(ns, ['nft', '-f', '-'], 'table inet keep { chain in { type filter hook input priority 0; policy accept; }; }\n').exitCode).toBe(0);
      const staleFile = join(tmp, 'stale.nft');
      const prunedFile = join(tmp, 'pruned.nft');
      writeFileSync(staleFile, stale);
      writeFileSync(prunedFile, write && write.kind === 'write-file' ? write.content : '');
      const refused = runIn(ns, ['nft', '-c', '-f', staleFile]);
      expect(refused.exitCode, refused.stderr).not.toBe(0);
      const ok = runIn(ns, ['nft', '-c', '-f', prunedFile]);
      expect(ok.exitCode, ok.stderr).toBe(0);
    });
  });
});

describe('a fix runs where the fault is', () => {
  it('on the subject when it names a node (the leaking real server of an ARP probe), else on the finding host', () => {
    const r: Result = {
      id: 'vip-arp-answers', title: 't', host: 'dir1', role: 'director', status: 'fail', message: 'rs1 leaks it', evidence: [], subject: 'rs1',
      fix: { why: 'w', commands: [['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=1']], files: [] },
    };
    const nodes = new Set(['dir1', 'rs1', 'client']);
    expect(fixNode(r, nodes)).toBe('rs1');
    expect(fixPlan(r, new Map(), fixNode(r, nodes)).steps).toEqual([expect.objectContaining({ kind: 'run', node: 'rs1' })]);
    expect(fixNode({ ...r, subject: 'somewhere-else' }, nodes)).toBe('dir1');
    const { subject: _s, ...plain } = r;
    expect(fixNode(plain, nodes)).toBe('dir1');
  });
});
