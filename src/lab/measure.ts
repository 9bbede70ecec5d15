/**
 * Timed experiments on a running lab: VRRP takeover when the master dies,
 * and health-check removal / re-entry of a real server. Every timestamp is
 * taken inside the VM (`date +%s%N`, one clock), and the watchers run inside
 * the nodes, so the agent's round trip is not in the numbers.
 */
import type { Host } from '../host/types.js';
import type { Lab } from './backend.js';
import { LabError } from './errors.js';
import { HTTPD_START } from './up.js';
import type { LabDesign, LabTarget } from './topology.js';

export interface FailoverResult {
  /** Seconds from the kill until the backup holds the VIP. */
  takeoverS: number;
  /** Seconds from the kill until the client is answered again. */
  servedAgainS: number;
  /** Client requests (one every 100 ms, 0.5 s timeout) that failed. */
  failedRequests: number;
  requests: number;
}

export interface CheckResult {
  /** Seconds from the failure until the real server left the IPVS table (or got weight 0). */
  removalS: number;
  /** Seconds from the repair until it was back. */
  reentryS: number;
}

const now = 'date +%s%N';

async function sh(host: Host, script: string, args: string[] = [], timeoutMs = 120_000): Promise<string> {
  const r = await host.run(['sh', '-c', script, 'sh', ...args], { timeoutMs });
  if (r.exitCode !== 0) throw new LabError(`measurement step failed on ${host.describe()}`, undefined, `${script}\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** Wait inside `host` until `test` (a shell condition) holds; prints the time it first did. */
const WAIT_UNTIL = `limit=$(( $(${now}) + $2 * 1000000000 ))
while ! eval "$1" >/dev/null 2>&1; do
  [ "$(${now})" -lt "$limit" ] || { echo timeout; exit 0; }
done
${now}`;

function vipOf(t: LabTarget): string {
  return t.address.split(':')[0]!;
}

/**
 * Kill the master director the hard way (its link down, then SIGKILL to its
 * keepalived processes) while the client sends a request every 100 ms.
 */
export async function measureFailover(lab: Lab, design: LabDesign, opts: { probeS?: number } = {}): Promise<FailoverResult> {
  const directors = design.nodes.filter((n) => n.role === 'director' || n.role === 'balancer');
  if (directors.length !== 2) throw new LabError('failover needs a director pair (VRRP)');
  const target = design.targets[0]!;
  const vip = vipOf(target);
  const holds = `ip -4 -o addr show | grep -q " ${vip}/"`;
  const holders = [];
  for (const d of directors) if ((await lab.node(d.name).run(['sh', '-c', holds])).exitCode === 0) holders.push(d);
  if (holders.length !== 1) throw new LabError(`${holders.length === 0 ? 'no director' : 'both directors'} hold ${vip} before the test`);
  const master = holders[0]!;
  const backup = directors.find((d) => d !== master)!;
  const cable = master.interfaces.find((f) => f.name === 'eth0')?.peer;
  if (!cable) throw new LabError(`the lab does not know ${master.name}'s cable (was it started by this version?)`);

  const probeS = opts.probeS ?? 12;
  const client = lab.node('client');
  const probe = client.run(
    [
      'sh',
      '-c',
      `end=$(( $(${now}) + $2 * 1000000000 ))
while [ "$(${now})" -lt "$end" ]; do
  t=$(${now})
  if timeout 0.5 busybox wget -q -O /dev/null "http://$1/" 2>/dev/null; then echo "$t ok"; else echo "$t fail"; fi
  sleep 0.1
done`,
      'sh',
      target.address,
      String(probeS),
    ],
    { timeoutMs: (probeS + 30) * 1000 },
  );
  const watcher = lab.node(backup.name).run(['sh', '-c', WAIT_UNTIL, 'sh', holds, String(probeS)], { timeoutMs: (probeS + 30) * 1000 });
  await new Promise((r) => setTimeout(r, 1500));
  const killedAt = Number(await sh(lab.root, `t=$(${now}); ip link set "$1" down; echo "$t"`, [cable]));
  await sh(lab.node(master.name), 'for f in /run/keepalived.pid /run/keepalived_vrrp.pid /run/keepalived_checkers.pid; do [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; true');
  const took = (await watcher).stdout.trim();
  const lines = (await probe).stdout.trim().split('\n').filter(Boolean);
  if (took === 'timeout' || took === '') throw new LabError(`${backup.name} did not take ${vip} over within ${probeS} s`);
  const after = lines.map((l) => l.split(' ')).map(([t, s]) => ({ t: Number(t), ok: s === 'ok' }));
  const lastFail = after.filter((x) => !x.ok).map((x) => x.t).pop();
  const served = after.find((x) => x.ok && x.t > killedAt && (lastFail === undefined || x.t > lastFail));
  return {
    takeoverS: round((Number(took) - killedAt) / 1e9),
    servedAgainS: served ? round(Math.max(0, served.t - killedAt) / 1e9) : Number.NaN,
    failedRequests: after.filter((x) => !x.ok).length,
    requests: after.length,
  };
}

export type CheckFailure = 'stop-http' | 'cut-link';

/**
 * Break one real server (stop its HTTP server, or cut its link), time its
 * removal from the master's IPVS table, repair it, time its return.
 */
export async function measureHealthCheck(lab: Lab, design: LabDesign, realServer: string, how: CheckFailure, opts: { limitS?: number } = {}): Promise<CheckResult> {
  const limit = String(opts.limitS ?? 60);
  const rs = design.nodes.find((n) => n.name === realServer && n.role === 'real-server');
  if (!rs) throw new LabError(`no real server ${realServer} in the lab`);
  const rip = rs.interfaces[0]!.address.split('/')[0]!;
  const directors = design.nodes.filter((n) => n.role === 'director');
  const vip = vipOf(design.targets[0]!);
  let director = directors[0]!;
  for (const d of directors) {
    if ((await lab.node(d.name).run(['sh', '-c', `ip -4 -o addr show | grep -q " ${vip}/"`])).exitCode === 0) director = d;
  }
  const dir = lab.node(director.name);
  // In the table with a weight above 0 (a quiescent service sets weight 0 instead of removing).
  const present = `ipvsadm -Ln | grep -E " ${rip.replace(/\./g, '\\.')}:[0-9]+ +[A-Za-z]+ +[1-9]"`;
  const gone = `! ${present}`;
  if ((await dir.run(['sh', '-c', present])).exitCode !== 0) throw new LabError(`${realServer} (${rip}) is not in ${director.name}'s IPVS table before the test`);

  const host = lab.node(realServer);
  const port = String(rs.httpPorts[0]);
  const webRoot = `/run/www-${port}`;
  const removal = dir.run(['sh', '-c', WAIT_UNTIL, 'sh', gone, limit], { timeoutMs: (Number(limit) + 30) * 1000 });
  await new Promise((r) => setTimeout(r, 300));
  const cable = rs.interfaces[0]!.peer;
  if (how === 'cut-link' && !cable) throw new LabError(`the lab does not know ${realServer}'s cable`);
  const brokeAt = Number(
    how === 'stop-http'
      ? await sh(host, `t=$(${now}); kill "$(cat /run/httpd-$1.pid)"; echo "$t"`, [port])
      : await sh(lab.root, `t=$(${now}); ip link set "$1" down; echo "$t"`, [cable!]),
  );
  const removedAt = (await removal).stdout.trim();
  if (removedAt === 'timeout') throw new LabError(`${realServer} was not removed from ${director.name}'s table within ${limit} s`);

  const reentry = dir.run(['sh', '-c', WAIT_UNTIL, 'sh', present, limit], { timeoutMs: (Number(limit) + 30) * 1000 });
  await new Promise((r) => setTimeout(r, 300));
  const fixedAt = Number(
    how === 'stop-http'
      ? await sh(host, `t=$(${now}); ${HTTPD_START}; echo "$t"`, [port, webRoot])
      : await sh(lab.root, `t=$(${now}); ip link set "$1" up; echo "$t"`, [cable!]),
  );
  const backAt = (await reentry).stdout.trim();
  if (backAt === 'timeout') throw new LabError(`${realServer} did not come back into ${director.name}'s table within ${limit} s`);
  return { removalS: round((Number(removedAt) - brokeAt) / 1e9), reentryS: round((Number(backAt) - fixedAt) / 1e9) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
