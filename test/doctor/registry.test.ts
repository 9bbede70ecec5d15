/**
 * The registry as a whole (issue 4, Proof: "a registry test"): every check
 * is a record named like its file, and every finding any check produces over
 * the recorded lab machines under fixtures/hosts/ is one a sysadmin can act
 * on — a message, the evidence that was read, and for a `fail` the fix with
 * its reason and the commands or files that carry it out.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS, checkById } from '../../src/doctor/registry.js';
import type { Result, Role } from '../../src/doctor/check.js';
import { runChecks, type Target } from '../../src/doctor/runner.js';
import { RecordedHost, RecordedFixtureSchema, type RecordedFixture } from '../../src/host/recorded.js';
import { EXAMPLES } from '../../src/lab/examples.js';
import { labDesign, type LabDesign } from '../../src/lab/topology.js';
import { ROOT, toModel } from '../helpers/fixtures.js';

const CHECKS_DIR = join(ROOT, 'src', 'doctor', 'checks');
const HOSTS = join(ROOT, 'fixtures', 'hosts');
const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Fails whose fix names the design (the answers file) instead of a file on
 * the host: the remedy is a change of mode, ports or VRID that only the user
 * can decide, or it belongs to another host (a container's modules): such a
 * fix says what to do in `why` and writes nothing (`--fix` must not invent paths). Every
 * other fail writes absolute paths, and has commands or files (the five
 * checks whose fix is a block edit or a kernel upgrade — ipvs-sysctls,
 * rs-local-address, tun-pmtu, conn-reuse-mode — report `warn`, and
 * vrrp-strict-accept's fail runs `keepalived -t` and a reload).
 */
const FIX_IN_THE_DESIGN: Record<string, string> = {
  'dr-l2-adjacency': 'a real server behind a router needs TUN or NAT, or a director interface on its segment',
  'port-mapping': 'DR/TUN cannot remap ports: the real server port must equal the virtual port, or the service becomes NAT',
  'vrrp-vrid': 'a VRID taken by another router is changed in the design on both directors, not on one host',
  'rs-tunnel': 'inside a container the fix belongs to its host (modprobe ipip there); the why names the host and the commands',
  'keepalived-config-test': 'which line keepalived -t rejects and what it should say is a person\'s edit; appending to the config is no fix',
  'vrrp-advert': 'vrrp_version 3 goes inside global_defs on both directors at once: an edit, not an append',
  'rs-listening': 'the bind address is the daemon\'s own configuration (nginx listen, Apache Listen)',
  'vip-arp-answers': 'when two directors answer, it is a split brain (see vrrp-split-brain), not a sysctl',
};

/** A scenario's recording of one node (`lvs-doctor --lab --record`), or undefined when the scenario has none. */
function loadAnyRecording(dir: string, node: string): RecordedFixture | undefined {
  const file = join(dir, `${node}.json`);
  if (!existsSync(file)) return undefined;
  return RecordedFixtureSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/**
 * The lab design each scenario was recorded on: lab-nat-* on `--example nat`
 * (its design.json is kept with lab-nat-healthy), cde-dr-* and lab-dr-* on `--example dr`
 * (see test/doctor/checks-cde.test.ts).
 */
function designOf(scenario: string): LabDesign {
  if (scenario.startsWith('lab-nat-')) return JSON.parse(readFileSync(join(HOSTS, 'lab-nat-healthy', 'design.json'), 'utf8')) as LabDesign;
  if (scenario.startsWith('cde-dr-') || scenario.startsWith('lab-dr-')) {
    const d = labDesign(toModel(EXAMPLES.dr));
    if (!d.ok) throw new Error('the dr example has no lab design');
    return d.design;
  }
  throw new Error(`fixtures/hosts/${scenario}: say here which lab design it was recorded on`);
}

/** The scenario's recorded nodes as runner targets, in the roles and modes the lab design gives them. */
function scenarioTargets(scenario: string): Target[] {
  const design = designOf(scenario);
  const targets: Target[] = [];
  for (const n of design.nodes) {
    const fixture = loadAnyRecording(join(HOSTS, scenario), n.name);
    if (!fixture) continue;
    const mine = design.model.services.filter((s) => n.role !== 'real-server' || s.realServers.some((r) => r.name === n.name));
    targets.push({ node: n.name, role: n.role as Role, host: new RecordedHost(fixture), platform: 'host', modes: [...new Set(mine.map((s) => s.mode))], model: design.model });
  }
  return targets;
}

const SCENARIOS = readdirSync(HOSTS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('the check registry', () => {
  it('has unique kebab-case ids, each the name of its file under src/doctor/checks/, and registers every check file', () => {
    const ids = CHECKS.map((c) => c.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i), 'duplicate ids').toEqual([]);
    for (const id of ids) expect(id).toMatch(KEBAB);
    const files = readdirSync(CHECKS_DIR)
      .filter((f) => f.endsWith('.ts') && !f.startsWith('group-'))
      .map((f) => f.slice(0, -'.ts'.length))
      .sort();
    expect([...ids].sort()).toEqual(files);
  });

  it('each check module exports the record whose id is its file name', async () => {
    for (const c of CHECKS) {
      const mod = (await import(`../../src/doctor/checks/${c.id}.ts`)) as { check?: { id: string } };
      expect(mod.check?.id, `src/doctor/checks/${c.id}.ts`).toBe(c.id);
      expect(checkById(c.id)).toBe(c);
    }
  });

  it('each check has a title, a pitfalls.md section and at least one source', () => {
    for (const c of CHECKS) {
      expect(c.title.trim().length, `${c.id} title`).toBeGreaterThan(10);
      expect(['A', 'B', 'C', 'D', 'E'], `${c.id} section`).toContain(c.section);
      expect(c.sources.length, `${c.id} sources`).toBeGreaterThan(0);
      for (const s of c.sources) expect(s.trim(), `${c.id} source`).not.toBe('');
    }
  });

  it('the documented exceptions name real checks', () => {
    for (const id of Object.keys(FIX_IN_THE_DESIGN)) expect(checkById(id), id).toBeDefined();
  });
});

describe('findings over the recorded machines (fixtures/hosts/*)', () => {
  it('finds the scenarios', () => {
    expect(SCENARIOS).toEqual(expect.arrayContaining(['cde-dr-healthy', 'cde-dr-arp-leak', 'cde-dr-split-brain', 'lab-nat-healthy', 'lab-nat-broken']));
  });

  const all: Array<{ scenario: string; r: Result }> = [];

  it.each(SCENARIOS)('%s: every non-pass finding says what and shows evidence; every fail has a fix', async (scenario) => {
    const targets = scenarioTargets(scenario);
    expect(targets.length).toBeGreaterThan(0);
    const results = await runChecks(targets, CHECKS, { timeoutMs: 5_000 });
    for (const r of results) all.push({ scenario, r });
    const where = (r: Result) => `${scenario} ${r.host} ${r.id} (${r.status}): ${r.message}`;
    for (const r of results) {
      if (r.status === 'pass') continue;
      expect(r.message.trim(), where(r)).not.toBe('');
      // An `error` is the runner's (a detect asked for something the fixture did not record): no evidence to show.
      if (r.status === 'warn' || r.status === 'fail') {
        expect(r.evidence.length, `${where(r)}: no evidence`).toBeGreaterThan(0);
        for (const e of r.evidence) expect(e.trim(), `${where(r)}: blank evidence line`).not.toBe('');
      }
      if (r.status !== 'fail') continue;
      expect(r.fix, `${where(r)}: no fix`).toBeDefined();
      expect(r.fix!.why.trim(), `${where(r)}: fix without why`).not.toBe('');
      for (const argv of r.fix!.commands) {
        expect(argv.length, `${where(r)}: empty command`).toBeGreaterThan(0);
        for (const w of argv) expect(typeof w, where(r)).toBe('string');
      }
      for (const f of r.fix!.files) {
        // A path the apply engine can write: absolute, one word.
        if (!(r.id in FIX_IN_THE_DESIGN)) expect(f.path, `${where(r)}: fix file is not a path`).toMatch(/^\/\S+$/);
        expect(f.lines.length, `${where(r)}: ${f.path} with no lines`).toBeGreaterThan(0);
      }
      if (!(r.id in FIX_IN_THE_DESIGN)) expect(r.fix!.commands.length + r.fix!.files.length, `${where(r)}: a fail with neither commands nor files`).toBeGreaterThan(0);
    }
  });

  it('the recorded breaks do produce fails (so the assertions above had something to hold)', () => {
    const fails = all.filter((x) => x.r.status === 'fail');
    expect(new Set(fails.map((x) => x.scenario))).toEqual(new Set(['cde-dr-arp-leak', 'cde-dr-split-brain', 'lab-dr-listen-rip', 'lab-nat-broken']));
    const failed = (scenario: string) => [...new Set(fails.filter((x) => x.scenario === scenario).map((x) => `${x.r.host} ${x.r.id}`))].sort();
    expect(failed('lab-nat-broken')).toEqual(['dir1 director-firewall', 'dir1 forward-policy', 'dir1 ip-forward', 'dir1 vs-conntrack']);
    expect(failed('cde-dr-arp-leak')).toEqual(['dir1 vip-arp-answers', 'rs1 rs-arp-sysctls']);
    // Both directors hold the VIP: the ARP probe hears two MACs from either, and director-firewall sees the same VRRP drop.
    expect(failed('cde-dr-split-brain')).toEqual(['dir1 vip-arp-answers', 'dir2 director-firewall', 'dir2 vip-arp-answers', 'dir2 vrrp-firewall', 'dir2 vrrp-split-brain']);
    expect(failed('lab-dr-listen-rip')).toEqual(['rs2 rs-listening']);
  });
});
