/**
 * Issue 4: "probing from the director itself (never do it: IPVS does not
 * balance locally originated connections — active probes run from a client
 * or a neighbour)". Every check of the registry is run over the recorded DR
 * lab (fixtures/hosts/cde-dr-healthy) with each host wrapped in a spy: on a
 * director nothing may connect to, ping or curl a VIP, and the one active
 * probe of a VIP (vip-arp-answers' arping) must run on the client.
 */
import { describe, expect, it } from 'vitest';
import type { Role } from '../../src/doctor/check.js';
import { CHECKS } from '../../src/doctor/registry.js';
import { runChecks, type Target } from '../../src/doctor/runner.js';
import type { Host, RunOptions, RunResult } from '../../src/host/types.js';
import { EXAMPLES } from '../../src/lab/examples.js';
import { labDesign } from '../../src/lab/topology.js';
import { toModel } from '../helpers/fixtures.js';
import { fakeHost } from './fake-host-cde.js';

/** Passes everything to the recording and notes each argv run, per node. */
class Spy implements Host {
  constructor(
    private readonly inner: Host,
    private readonly node: string,
    private readonly log: Array<{ node: string; argv: readonly string[] }>,
  ) {}
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.log.push({ node: this.node, argv });
    return this.inner.run(argv, opts);
  }
  readFile(path: string) {
    return this.inner.readFile(path);
  }
  writeFile(path: string, text: string, mode?: number) {
    return this.inner.writeFile(path, text, mode);
  }
  stream(argv: readonly string[]) {
    return this.inner.stream(argv);
  }
  describe() {
    return `spy:${this.node}`;
  }
}

/** Commands that send traffic to their target: a connection, an echo request, an HTTP request, an ARP request. */
const PROBE = /^(arping|ping|curl|wget|nc|ncat|socat|telnet|hping3)$|\/dev\/(tcp|udp)\//;

describe('the doctor never probes a VIP from a director', () => {
  it('over a full run of every check on the recorded DR lab', async () => {
    const d = labDesign(toModel(EXAMPLES.dr));
    if (!d.ok) throw new Error('the dr example has no lab design');
    const vips = new Set(d.design.model.services.map((s) => s.vip));
    const log: Array<{ node: string; argv: readonly string[] }> = [];
    const targets: Target[] = d.design.nodes.map((n) => {
      const mine = d.design.model.services.filter((s) => n.role !== 'real-server' || s.realServers.some((r) => r.name === n.name));
      return { node: n.name, role: n.role as Role, host: new Spy(fakeHost('cde-dr-healthy', n.name), n.name, log), platform: 'host', modes: [...new Set(mine.map((s) => s.mode))], model: d.design.model };
    });
    const results = await runChecks(targets, CHECKS, { timeoutMs: 5_000 });
    expect(results.filter((r) => r.status === 'error'), 'every detect was answered by the recording').toEqual([]);
    const directors = new Set(d.design.nodes.filter((n) => n.role === 'director').map((n) => n.name));
    const probes = log.filter((l) => l.argv.some((w) => PROBE.test(w)));
    const atVip = probes.filter((l) => l.argv.some((w) => vips.has(w)));
    expect(atVip.length, 'the ARP probe of the VIP ran somewhere').toBeGreaterThan(0);
    expect(atVip.filter((l) => directors.has(l.node)), 'no probe of a VIP from a director').toEqual([]);
    expect([...new Set(atVip.map((l) => l.node))]).toEqual(['client']);
    // The director's own liveness probes go to the real servers' addresses (DIP → RIP), as keepalived's checkers do.
    for (const l of probes.filter((x) => directors.has(x.node))) expect(l.argv.some((w) => vips.has(w)), l.argv.join(' ')).toBe(false);
  });
});
