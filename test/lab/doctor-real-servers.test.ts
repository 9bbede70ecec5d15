/**
 * The C/D checks against the real kernel, one DR lab (a VRRP pair dir1/dir2,
 * rs1, rs2, client), broken and repaired in turn: rs1's ARP sysctls zeroed
 * (the sysctl check fails on rs1 and the client hears two MACs for the VIP),
 * the VIP removed from rs2's lo, VRRP dropped on dir2's input (both directors
 * hold the VIP). The checks are called directly through the lab's Hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckContext, Finding, Role } from '../../src/doctor/check.js';
import { GROUP_C_D_E } from '../../src/doctor/checks/group-c-d-e.js';
import { startLab, type Lab } from '../../src/lab/backend.js';
import { EXAMPLES } from '../../src/lab/examples.js';
import { labDesign, type LabDesign } from '../../src/lab/topology.js';
import { labUp } from '../../src/lab/up.js';
import { toModel } from '../helpers/fixtures.js';

const VIP = '10.0.0.100';

describe.sequential('doctor checks of real servers and VRRP on the DR lab', () => {
  let lab: Lab;
  let design: LabDesign;

  const ctxOf = (node: string): CheckContext => {
    const spec = design.nodes.find((n) => n.name === node)!;
    const modes = [...new Set(design.model.services.filter((s) => spec.role !== 'real-server' || s.realServers.some((r) => r.name === node)).map((s) => s.mode))];
    const peers = new Map(design.nodes.filter((n) => n.name !== node).map((n) => [n.name, { role: n.role as Role, host: lab.node(n.name) }]));
    return { node, role: spec.role as Role, platform: 'host', modes, model: design.model, peers };
  };
  const runCheck = async (id: string, node: string): Promise<Finding[]> => {
    const c = GROUP_C_D_E.find((x) => x.id === id)!;
    const ctx = ctxOf(node);
    expect(c.appliesTo(ctx), `${id} applies to ${node}`).toBe(true);
    return c.evaluate(await c.detect(lab.node(node), ctx), ctx);
  };
  const show = (fs: Finding[]) => fs.map((f) => `${f.status}: ${f.message}\n  ${f.evidence.join('\n  ')}`).join('\n');
  const sh = async (node: string, argv: string[]) => {
    const r = await lab.node(node).run(argv);
    if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  };
  /** Re-run a check until its first finding has the status (VRRP needs a few adverts to settle). */
  const until = async (id: string, node: string, status: Finding['status'], seconds: number): Promise<Finding[]> => {
    let fs: Finding[] = [];
    for (let t = 0; t < seconds * 2; t++) {
      fs = await runCheck(id, node);
      if (fs[0]?.status === status) return fs;
      await new Promise((r) => setTimeout(r, 500));
    }
    return fs;
  };

  beforeAll(async () => {
    const d = labDesign(toModel(EXAMPLES.dr));
    if (!d.ok) throw new Error(JSON.stringify(d.problems));
    design = d.design;
    lab = await startLab({ stateDir: `/run/lvs-toolkit/test-doctor-rs-${process.pid}` });
    await labUp(lab, design);
  }, 300_000);
  afterAll(async () => {
    await lab?.down();
  }, 120_000);

  it('a healthy pair: VIP on each real server, sysctls right, one MAC (dir1) answers ARP, one VIP holder', async () => {
    for (const rs of ['rs1', 'rs2']) {
      expect((await runCheck('rs-vip', rs))[0]?.status).toBe('pass');
      expect((await runCheck('rs-arp-sysctls', rs))[0]?.status).toBe('pass');
    }
    const arp = await runCheck('vip-arp-answers', 'dir1');
    expect(arp[0]?.status, show(arp)).toBe('pass');
    expect(arp[0]?.message).toContain('dir1 eth0');
    expect((await runCheck('vip-arp-answers', 'dir2'))[0]?.status).toBe('skip');
    expect((await until('vrrp-split-brain', 'dir2', 'pass', 10))[0]?.status).toBe('pass');
  }, 120_000);

  it('rs1 ARP sysctls zeroed: rs-arp-sysctls fails on rs1, the client hears rs1 and dir1 answer for the VIP; repaired, both pass', async () => {
    await sh('rs1', ['sysctl', '-w', 'net.ipv4.conf.all.arp_ignore=0', 'net.ipv4.conf.eth0.arp_ignore=0', 'net.ipv4.conf.all.arp_announce=0', 'net.ipv4.conf.eth0.arp_announce=0']);
    const sys = await runCheck('rs-arp-sysctls', 'rs1');
    expect(sys[0]?.status, show(sys)).toBe('fail');
    expect((await runCheck('rs-arp-sysctls', 'rs2'))[0]?.status).toBe('pass');
    const arp = await runCheck('vip-arp-answers', 'dir1');
    expect(arp[0]?.status, show(arp)).toBe('fail');
    expect(arp[0]?.subject).toBe('rs1');
    expect(arp[0]?.message).toMatch(/^2 MACs answer ARP for 10\.0\.0\.100/);
    expect(arp[0]?.evidence.some((e) => e.startsWith('client$ arping'))).toBe(true);

    for (const cmd of sys[0]!.fix!.commands) await sh('rs1', cmd);
    expect((await runCheck('rs-arp-sysctls', 'rs1'))[0]?.status).toBe('pass');
    const again = await runCheck('vip-arp-answers', 'dir1');
    expect(again[0]?.status, show(again)).toBe('pass');
  }, 120_000);

  it('VIP removed from rs2’s lo: rs-vip fails on rs2 only; its fix restores it', async () => {
    await sh('rs2', ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'lo']);
    const f = await runCheck('rs-vip', 'rs2');
    expect(f[0]?.status, show(f)).toBe('fail');
    expect(f[0]?.fix?.commands).toEqual([['ip', 'addr', 'replace', `${VIP}/32`, 'dev', 'lo']]);
    expect((await runCheck('rs-vip', 'rs1'))[0]?.status).toBe('pass');
    for (const cmd of f[0]!.fix!.commands) await sh('rs2', cmd);
    expect((await runCheck('rs-vip', 'rs2'))[0]?.status).toBe('pass');
  }, 60_000);

  it('VRRP dropped on dir2’s input: both hold the VIP, split brain fails on dir2 and vrrp-firewall names the rule; repaired, one holder again', async () => {
    await sh('dir2', ['nft', 'add', 'table', 'inet', 'doctor_break']);
    await sh('dir2', ['nft', 'add', 'chain', 'inet', 'doctor_break', 'input', '{ type filter hook input priority -50 ; }']);
    await sh('dir2', ['nft', 'add', 'rule', 'inet', 'doctor_break', 'input', 'ip', 'protocol', 'vrrp', 'drop']);
    try {
      const sb = await until('vrrp-split-brain', 'dir2', 'fail', 15);
      expect(sb[0]?.status, show(sb)).toBe('fail');
      expect(sb[0]?.message).toContain('both hold 10.0.0.100');
      expect((await runCheck('vrrp-split-brain', 'dir1'))[0]?.status).toBe('skip');
      const fw = await runCheck('vrrp-firewall', 'dir2');
      expect(fw[0]?.status, show(fw)).toBe('fail');
      expect(fw[0]?.evidence.join('\n'), show(fw)).toContain('inet doctor_break input: ip protocol vrrp drop');
      expect((await runCheck('vrrp-firewall', 'dir1'))[0]?.status).toBe('pass');
    } finally {
      await sh('dir2', ['nft', 'delete', 'table', 'inet', 'doctor_break']);
    }
    const healed = await until('vrrp-split-brain', 'dir2', 'pass', 15);
    expect(healed[0]?.status, show(healed)).toBe('pass');
  }, 120_000);
});
