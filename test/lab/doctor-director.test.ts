/**
 * The A/B checks against a real NAT director (`lvs-lab up --example nat`):
 * break dir1 the way users did, expect the check's finding, repair (with
 * the check's own fix commands where it gives them), expect pass, and the
 * lab still serves at the end. One lab for all breaks.
 */
import { describe, expect, it } from 'vitest';
import type { Check, CheckContext, Finding } from '../../src/doctor/check.js';
import { check as directorFirewall } from '../../src/doctor/checks/director-firewall.js';
import { check as forwardPolicy } from '../../src/doctor/checks/forward-policy.js';
import { check as ipForward } from '../../src/doctor/checks/ip-forward.js';
import { check as vsConntrack } from '../../src/doctor/checks/vs-conntrack.js';
import { GROUP_A_B } from '../../src/doctor/checks/group-a-b.js';
import { attachLab } from '../../src/lab/backend.js';
import type { Host } from '../../src/host/types.js';
import { labContext } from '../doctor/ab-context.js';
import { serialHost } from '../doctor/serial-host.js';
import { LabCli } from './helpers.js';

async function findings(c: Check<any>, host: Host, ctx: CheckContext): Promise<Finding[]> {
  expect(c.appliesTo(ctx), `${c.id} applies to dir1`).toBe(true);
  return c.evaluate(await c.detect(host, ctx), ctx);
}

const statuses = (fs: Finding[]) => [...new Set(fs.map((f) => f.status))];

describe.sequential('doctor A/B checks on a NAT director in the lab', () => {
  it('finds each break on dir1 and passes after the repair', { timeout: 600_000 }, async () => {
    const cli = new LabCli('doctor-director');
    try {
      cli.ok(['up', '--example', 'nat'], 300_000);
      const lab = attachLab({ stateDir: cli.state });
      if (!lab) throw new Error('lab did not come up');
      const dir1 = serialHost(lab.node('dir1'));
      const ctx = labContext(cli.state, 'dir1');
      const nft = (script: string) => {
        const r = cli.exec('dir1', ['sh', '-c', `printf '%s\\n' "$1" | nft -f -`, 'sh', script]);
        expect(r.code, r.stderr).toBe(0);
      };

      // Healthy: no A/B check fails.
      for (const c of GROUP_A_B.filter((x) => x.appliesTo(ctx))) {
        const fs = await findings(c, dir1, ctx);
        expect(fs.filter((f) => f.status === 'fail' || f.status === 'error'), c.id).toEqual([]);
      }

      // 1. ip_forward off; repaired with the check's own fix.
      expect(cli.exec('dir1', ['sysctl', '-w', 'net.ipv4.ip_forward=0']).code).toBe(0);
      const fwd = await findings(ipForward, dir1, ctx);
      expect(fwd[0]).toMatchObject({ status: 'fail', evidence: ['net.ipv4.ip_forward = 0'] });
      for (const argv of fwd[0]!.fix!.commands) expect((await dir1.run(argv)).exitCode).toBe(0);
      expect(statuses(await findings(ipForward, dir1, ctx))).toEqual(['pass']);

      // 2. A base chain on the forward hook with policy drop (what Docker does); repaired with the fix's insert.
      nft('table inet breakfw {\n chain breakfwd {\n  type filter hook forward priority 10; policy drop;\n }\n}');
      const pol = await findings(forwardPolicy, dir1, ctx);
      expect(statuses(pol)).toEqual(['fail']);
      expect(pol).toHaveLength(2);
      for (const f of pol) for (const argv of f.fix!.commands) expect((await dir1.run(argv)).exitCode, argv.join(' ')).toBe(0);
      expect(statuses(await findings(forwardPolicy, dir1, ctx))).toEqual(['pass']);
      expect(cli.exec('dir1', ['nft', 'delete', 'table', 'inet', 'breakfw']).code).toBe(0);

      // 3. A drop rule for VIP:80 on input.
      nft('table inet breakin {\n chain breakinput {\n  type filter hook input priority 10; policy accept;\n  ip daddr 10.0.0.100 tcp dport 80 counter drop\n }\n}');
      const fw = await findings(directorFirewall, dir1, ctx);
      expect(fw[0]).toMatchObject({ status: 'fail' });
      expect(fw[0]!.evidence.join('\n')).toContain('inet breakin breakinput: ip daddr 10.0.0.100 tcp dport 80 counter drop');
      expect(cli.exec('dir1', ['nft', 'delete', 'table', 'inet', 'breakin']).code).toBe(0);
      expect(statuses(await findings(directorFirewall, dir1, ctx))).toEqual(['pass']);

      // 4. ct state invalid drop while IPVS does not keep conntrack: the NAT replies die; vs.conntrack = 1 is the fix.
      nft('table inet breakct {\n chain breakctfwd {\n  type filter hook forward priority 10; policy accept;\n  ct state invalid drop\n }\n}');
      const ct = await findings(vsConntrack, dir1, ctx);
      expect(ct[0]).toMatchObject({ status: 'fail', fix: { commands: [['sysctl', '-w', 'net.ipv4.vs.conntrack=1']] } });
      // The finding is real: clients get no answer through the director.
      const before = cli.traffic(4);
      expect(before.vips[0]!.failed, JSON.stringify(before)).toBe(4);
      for (const argv of ct[0]!.fix!.commands) expect((await dir1.run(argv)).exitCode).toBe(0);
      expect(statuses(await findings(vsConntrack, dir1, ctx))).toEqual(['pass']);
      const after = cli.traffic(4);
      expect(after.vips[0]!.failed, JSON.stringify(after)).toBe(0);
      expect(cli.exec('dir1', ['nft', 'delete', 'table', 'inet', 'breakct']).code).toBe(0);
    } finally {
      cli.down();
    }
  });
});
