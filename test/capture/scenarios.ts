/**
 * The lab recordings in fixtures/pcaps/<scenario>/ and the trace spec each
 * was taken with (the lab examples' addresses, see each README.md).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Correlator } from '../../src/capture/correlate.js';
import { decode } from '../../src/capture/decode.js';
import { readCaptureFile } from '../../src/capture/pcap.js';
import type { PointRole, RawFrame, TracePoint, TraceReport, TraceSpec } from '../../src/capture/types.js';

export const PCAPS = join(import.meta.dirname, '..', '..', 'fixtures', 'pcaps');

const point = (name: string, role: PointRole, backend?: string): TracePoint => {
  const [host, iface] = name.includes('-') ? [name.split('-')[0]!, name.split('-').slice(1).join('-')] : [name, 'eth0'];
  return { name, host, iface, role, ...(backend ? { backend } : {}) };
};

const NAT_POINTS = [point('client', 'client'), point('dir1-eth0', 'director-in'), point('dir1-eth1', 'director-out'), point('rs1', 'rs-in', 'rs1'), point('rs2', 'rs-in', 'rs2')];
const ONE_ARM_POINTS = [point('client', 'client'), point('dir1-eth0', 'director-in'), point('rs1', 'rs-in', 'rs1'), point('rs2', 'rs-in', 'rs2')];
const TUN_POINTS = [...ONE_ARM_POINTS, point('rs1-tunl0', 'rs-tunl0', 'rs1'), point('rs2-tunl0', 'rs-tunl0', 'rs2')];

/** `lvs-lab up --example nat`: dir1 eth0 10.0.0.1 (VIP 10.0.0.100), eth1 10.0.1.1; rs1 10.0.1.11, rs2 10.0.1.12. */
export const NAT_SPEC: TraceSpec = {
  vip: '10.0.0.100',
  port: 80,
  proto: 'tcp',
  mode: 'nat',
  directorRip: '10.0.1.1',
  backends: [
    { name: 'rs1', rip: '10.0.1.11', port: 80 },
    { name: 'rs2', rip: '10.0.1.12', port: 80 },
  ],
  points: NAT_POINTS,
};

/** `--example dr` and `--example tun`: one segment 10.0.0.0/24, dir1 .1 (dir2 .2 in DR), rs1 .11, rs2 .12. */
export const DR_SPEC: TraceSpec = {
  vip: '10.0.0.100',
  port: 80,
  proto: 'tcp',
  mode: 'dr',
  backends: [
    { name: 'rs1', rip: '10.0.0.11', port: 80 },
    { name: 'rs2', rip: '10.0.0.12', port: 80 },
  ],
  points: [...ONE_ARM_POINTS, point('dir2-eth0', 'director-in')],
};

export const TUN_SPEC: TraceSpec = { ...DR_SPEC, mode: 'tun', points: TUN_POINTS };

export function frames(scenario: string, pointName: string): RawFrame[] {
  const file = join(PCAPS, scenario, `${pointName}.pcap`);
  return readCaptureFile(new Uint8Array(readFileSync(file)), file);
}

/** The spec restricted to the points recorded in the scenario (the others were not captured at all). */
export function specFor(scenario: string, base: TraceSpec): TraceSpec {
  const recorded = new Set(readdirSync(join(PCAPS, scenario)).filter((f) => f.endsWith('.pcap')).map((f) => f.replace(/\.pcap$/, '')));
  return { ...base, points: base.points.filter((p) => recorded.has(p.name)) };
}

/** Decode and correlate every point of a scenario, the points fed one after the other (timestamps decide the order). */
export function trace(scenario: string, base: TraceSpec): TraceReport {
  const spec = specFor(scenario, base);
  const c = new Correlator(spec);
  for (const p of spec.points) for (const f of frames(scenario, p.name)) c.add(p.name, decode(f));
  return c.report({});
}
