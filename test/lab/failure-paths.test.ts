/**
 * What goes wrong must say so clearly and leave nothing behind: a second
 * `up`, `exec` on a missing node, a design the lab cannot model, a VM that
 * does not boot in time, and `down` itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabCli } from './helpers.js';

function qemuFor(state: string): string[] {
  const r = spawnSync('pgrep', ['-af', 'qemu-system'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((l) => l.includes(state));
}

describe.sequential('lvs-lab failure paths', () => {
  it('a second up is refused while a lab runs, exec names a missing node, down leaves nothing', () => {
    const lab = new LabCli('paths');
    try {
      lab.ok(['up', '--example', 'tun']);
      const again = lab.run(['up', '--example', 'nat']);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/a lab is already running/);
      expect(lab.ok(['status'])).toMatch(/rs1 \(real-server\)/);

      const missing = lab.exec('rs9', ['true']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no node named rs9 in the lab/);
      expect(missing.stderr).toMatch(/nodes: .*client.*dir1.*rs1.*rs2/);

      const exit = lab.exec('rs1', ['sh', '-c', 'exit 7']);
      expect(exit.code).toBe(7);

      expect(qemuFor(lab.state)).toHaveLength(1);
      expect(lab.ok(['down'])).toMatch(/lab down/);
      expect(qemuFor(lab.state)).toEqual([]);
      expect(existsSync(lab.state)).toBe(false);
      expect(lab.ok(['status'])).toMatch(/no lab is running/);
    } finally {
      lab.down();
    }
  });

  it('a design the lab cannot model is refused before anything starts', () => {
    const lab = new LabCli('nomodel');
    const dir = mkdtempSync(join(tmpdir(), 'lvs-nomodel-'));
    try {
      const f = join(dir, 'routed.yaml');
      // A TUN real server behind a router: no director interface on its subnet.
      writeFileSync(
        f,
        [
          'directors: [{ name: dir1, interfaces: [{ name: eth0, address: 10.0.0.1/24 }] }]',
          'services:',
          '  - { name: web, vip: 10.0.0.100, ports: [80], mode: tun, realServers: [{ name: rs1, address: 10.9.9.11 }] }',
          '',
        ].join('\n'),
      );
      const r = lab.run(['up', f]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/rs1 \(10\.9\.9\.11\) is on no director subnet/);
      expect(r.stderr).toMatch(/no lab was started/);
      expect(qemuFor(lab.state)).toEqual([]);
      expect(lab.ok(['status'])).toMatch(/no lab is running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      lab.down();
    }
  });

  it('a VM that does not boot in time is stopped, with its console lines, and nothing is left', () => {
    const lab = new LabCli('slowboot');
    try {
      const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/bin/lvs-lab.js'), 'up', '--example', 'nat'], {
        encoding: 'utf8',
        env: { ...process.env, LVS_LAB_STATE: lab.state, LVS_LAB_BOOT_TIMEOUT_MS: '1500' },
        timeout: 120_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/ready|boot/i);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(qemuFor(lab.state)).toEqual([]);
      expect(lab.ok(['status'])).toMatch(/no lab is running/);
    } finally {
      lab.down();
    }
  });
});
