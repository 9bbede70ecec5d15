/**
 * Bring a design up in a running lab: nodes, bridges and veths, addresses,
 * an HTTP server on each real server that answers with its name, then the
 * generated files applied to every node by the apply engine (validation by
 * the real tools, reload, rollback on failure), then wait until each VIP
 * answers. Also traffic (requests from `client`) and status.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execute, type ProgressEvent } from '../apply/execute.js';
import { plan } from '../apply/plan.js';
import type { Host } from '../host/types.js';
import type { Lab } from './backend.js';
import { LabError } from './errors.js';
import type { LabDesign, LabNodeSpec, LabTarget } from './topology.js';

export interface UpOptions {
  onProgress?: (line: string) => void;
  /** How long to wait for every VIP to answer after apply. */
  readyTimeoutMs?: number;
}

/** Where a running lab keeps its design, for status, traffic, exec and `lvs-doctor --lab`. */
export const DESIGN_FILE = 'design.json';

export function saveLabDesign(stateDir: string, design: LabDesign): void {
  writeFileSync(join(stateDir, DESIGN_FILE), `${JSON.stringify(design, null, 2)}\n`);
}

/** The design of the lab in stateDir; undefined while it is starting or after a half-built up. */
export function loadLabDesign(stateDir: string): LabDesign | undefined {
  const path = join(stateDir, DESIGN_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LabDesign) : undefined;
}

/** Files under these paths live in a node's own /etc (or /run); the lab writes only those. */
export function labFileFilter(path: string): boolean {
  return path.startsWith('/etc/') && !path.startsWith('/etc/systemd/');
}

async function must(host: Host, argv: string[], what: string, input?: string): Promise<string> {
  const r = await host.run(argv, input !== undefined ? { input, timeoutMs: 60_000 } : { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new LabError(`${what} failed on ${host.describe()}`, undefined, `${argv.join(' ')}\n${r.stderr}${r.stdout}`.trim());
  return r.stdout;
}

export async function labUp(lab: Lab, design: LabDesign, opts: UpOptions = {}): Promise<void> {
  const say = opts.onProgress ?? (() => undefined);
  for (const note of design.notes) say(`note: ${note}`);

  say(`creating ${design.nodes.length} nodes: ${design.nodes.map((n) => n.name).join(', ')}`);
  for (const n of design.nodes) await lab.createNode(n.name);

  for (const g of design.segments) {
    await must(lab.root, ['sh', '-c', `ip link show ${g.bridge} >/dev/null 2>&1 || ip link add ${g.bridge} type bridge; ip link set ${g.bridge} up`], `bridge ${g.bridge}`);
  }
  let k = 0;
  for (const n of design.nodes) {
    const host = lab.node(n.name);
    for (const f of n.interfaces) {
      const outer = `lv${k++}`;
      f.peer = outer;
      await must(host, ['ip', 'link', 'add', f.name, 'type', 'veth', 'peer', 'name', outer], `veth ${n.name}:${f.name}`);
      await must(host, ['ip', 'link', 'set', outer, 'netns', '1'], `moving ${outer} to the lab root`);
      await must(lab.root, ['ip', 'link', 'set', outer, 'master', f.segment, 'up'], `plugging ${outer} into ${f.segment}`);
      await must(host, ['ip', 'addr', 'add', f.address, 'dev', f.name], `address ${f.address} on ${n.name}`);
      await must(host, ['ip', 'link', 'set', f.name, 'up'], `${n.name}:${f.name} up`);
    }
    if (n.gateway) await must(host, ['ip', 'route', 'replace', 'default', 'via', n.gateway], `default route of ${n.name}`);
    if (n.httpPorts.length > 0) await startHttp(host, n);
  }

  const model = design.model;
  const plans = plan(model, { serviceManager: 'direct', setupArgs: ['--boot'], fileFilter: labFileFilter });
  const hosts: Record<string, Host> = {};
  for (const p of plans) hosts[p.node] = lab.node(p.node);
  say(`applying the generated configuration to ${plans.map((p) => p.node).join(', ')}`);
  const r = await execute(plans, {
    hosts,
    backupRoot: '/etc/lvs-toolkit/backups',
    onProgress: (e: ProgressEvent) => {
      if (e.kind === 'written') say(`  ${e.node}: wrote ${e.path}`);
      else if (e.kind === 'ran') say(`  ${e.node}: ${e.why}`);
      else if (e.kind === 'failed') say(`  ${e.node}: FAILED ${e.message}`);
    },
  });
  if (!r.ok) {
    throw new LabError(`applying the design failed on ${r.failure?.node}: ${r.failure?.message}`, `every node was rolled back; fix the design and run lvs-lab up again`, r.failure?.output);
  }

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  const client = lab.node('client');
  for (const t of design.targets) {
    for (;;) {
      const got = await fetchOnce(client, t, 2);
      if (got.ok) {
        say(`${t.service} answers on ${t.address} (${got.body})`);
        break;
      }
      if (Date.now() > deadline) {
        throw new LabError(`${t.service} does not answer on ${t.address} after apply`, 'lvs-lab status shows the IPVS table and VRRP state; lvs-doctor --lab will explain', got.error);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  }
}

/** busybox httpd on each port, serving the node's name (per-node /run is a private tmpfs). */
async function startHttp(host: Host, n: LabNodeSpec): Promise<void> {
  for (const port of n.httpPorts) {
    const dir = `/run/www-${port}`;
    await must(host, ['sh', '-c', `mkdir -p ${dir} && printf '%s\\n' "$1" > ${dir}/index.html`, 'sh', n.name], `web root on ${n.name}`);
    await must(host, ['sh', '-c', HTTPD_START, 'sh', String(port), dir], `HTTP server on ${n.name}:${port}`);
  }
}

/** busybox httpd in the foreground, backgrounded by sh, its pid kept in the node's private /run. */
export const HTTPD_START = `busybox httpd -f -p "0.0.0.0:$1" -h "$2" </dev/null >/dev/null 2>&1 &
echo $! > "/run/httpd-$1.pid"`;

export interface FetchResult {
  ok: boolean;
  body: string;
  ms: number;
  error: string;
}

/** One HTTP GET from a node, timed inside the node (no agent round trip in the number). */
export async function fetchOnce(from: Host, t: LabTarget, timeoutS: number): Promise<FetchResult> {
  const r = await from.run(['sh', '-c', FETCH_MANY, 'sh', t.address, String(timeoutS), '1', ''], { timeoutMs: (timeoutS + 5) * 1000 });
  const [status, us, ...body] = r.stdout.trim().split(' ');
  return { ok: status === 'ok', ms: Number(us) / 1000, body: body.join(' '), error: r.stderr.trim() || r.stdout.trim() };
}

/** N requests in one go inside the client; one line each: status, microseconds, first body line. */
const FETCH_MANY = `n=$3 i=0
while [ "$i" -lt "$n" ]; do
  t0=$(date +%s%N)
  if out=$(timeout "$2" busybox wget -q -O - "http://$1/" 2>&1); then s=ok; else s=fail; fi
  t1=$(date +%s%N)
  printf '%s %s %s\\n' "$s" "$(( (t1 - t0) / 1000 ))" "$(printf '%s' "$out" | head -n 1)"
  i=$((i + 1))
  [ -z "$4" ] || sleep "$4"
done`;

export interface TrafficReport {
  vips: Array<{
    vip: string;
    service: string;
    requests: number;
    failed: number;
    byBackend: Record<string, number>;
    latencyMs: { p50: number; max: number };
  }>;
}

export async function labTraffic(lab: Lab, design: LabDesign, count: number, opts: { intervalS?: number; timeoutS?: number } = {}): Promise<TrafficReport> {
  const client = lab.node('client');
  const report: TrafficReport = { vips: [] };
  for (const t of design.targets) {
    const r = await client.run(['sh', '-c', FETCH_MANY, 'sh', t.address, String(opts.timeoutS ?? 2), String(count), opts.intervalS ? String(opts.intervalS) : ''], {
      timeoutMs: count * ((opts.timeoutS ?? 2) + (opts.intervalS ?? 0) + 1) * 1000 + 30_000,
    });
    const lines = r.stdout.trim().split('\n').filter(Boolean);
    const byBackend: Record<string, number> = {};
    const ms: number[] = [];
    let failed = 0;
    for (const line of lines) {
      const [status, us, ...body] = line.split(' ');
      if (status !== 'ok') {
        failed++;
        continue;
      }
      const name = body.join(' ').trim();
      byBackend[name] = (byBackend[name] ?? 0) + 1;
      ms.push(Number(us) / 1000);
    }
    failed += Math.max(0, count - lines.length);
    ms.sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 100) / 100;
    report.vips.push({
      vip: t.address,
      service: t.service,
      requests: count,
      failed,
      byBackend,
      latencyMs: { p50: round(ms[Math.floor(ms.length / 2)] ?? 0), max: round(ms[ms.length - 1] ?? 0) },
    });
  }
  return report;
}
