/**
 * lvs-trace's work, behind the thin bin: argv → the path to capture (IPVS
 * table, design or lab) → one source per point (live cap, remote tcpdump,
 * pcap file) → decode → correlate → one renderer chosen here (DESIGN rule 4)
 * → exit code. Ink only on a terminal (DESIGN rule 8).
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Correlator } from '../capture/correlate.js';
import { decode } from '../capture/decode.js';
import { applyAt, observeLab, parseAt, parseVipArg, planFromDesign, planFromIpvs, planFromLab, PointsError, type PlacedPoint, type TracePlan } from '../capture/points.js';
import { renderTraceText } from '../capture/report-text.js';
import { CaptureError } from '../capture/sources/errors.js';
import { openFile, parseReadSpec } from '../capture/sources/file.js';
import { DEFAULT_BUFFER_MB, openLive } from '../capture/sources/live.js';
import { openRemote } from '../capture/sources/remote.js';
import { captureFilter } from '../capture/correlate.js';
import type { CaptureSource, PointStats, RawFrame, TracePoint, TraceReport } from '../capture/types.js';
import { PcapDirWriter } from '../capture/writer.js';
import { TargetError } from '../host/errors.js';
import { LocalHost } from '../host/local.js';
import { closeHost, hostFor, setLabHosts } from '../host/targets.js';
import type { Host } from '../host/types.js';
import { attachLab } from '../lab/backend.js';
import { loadLabDesign } from '../lab/up.js';
import { parseArgv, UserError } from './common.js';
import { loadDesign } from './io.js';

export const USAGE = 'usage: lvs-trace VIP[:PORT] [--lab | --config FILE [--ssh]] [--at HOST:IFACE …] [-r POINT=FILE …] [-w DIR] [--count N] [--duration S] [--json]';

/** After the Nth connection started, how long its later packets (replies, ICMP errors) are still awaited. */
const COUNT_GRACE_MS = 3000;

interface Flags {
  target: string;
  lab: boolean;
  config?: string;
  ssh: boolean;
  at: string[];
  read: string[];
  write?: string;
  count?: number;
  durationS?: number;
  json: boolean;
  bufferMb: number;
  maxFlows: number;
  listPoints: boolean;
}

function positiveNumber(flag: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UserError(`${flag} expects a positive ${integer ? 'whole ' : ''}number, got ${JSON.stringify(v)}`, USAGE);
  return n;
}

async function parseFlags(argv: string[]): Promise<Flags> {
  const { values, positionals } = await parseArgv(
    () =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          lab: { type: 'boolean', default: false },
          config: { type: 'string' },
          ssh: { type: 'boolean', default: false },
          at: { type: 'string', multiple: true, default: [] },
          read: { type: 'string', short: 'r', multiple: true, default: [] },
          write: { type: 'string', short: 'w' },
          count: { type: 'string', short: 'c' },
          duration: { type: 'string' },
          json: { type: 'boolean', default: false },
          'buffer-mb': { type: 'string' },
          'max-flows': { type: 'string' },
          'list-points': { type: 'boolean', default: false },
        },
      }),
    USAGE,
  );
  if (positionals.length !== 1) throw new UserError(positionals.length === 0 ? 'which VIP? give VIP[:PORT]' : `one VIP at a time, got ${positionals.join(' ')}`, USAGE);
  if (values.lab && values.config !== undefined) throw new UserError('--lab traces the running lab; it takes no --config', USAGE);
  if (values.ssh && values.lab) throw new UserError('--ssh reaches real servers of a --config design; under --lab every node is reached through the lab', USAGE);
  const count = positiveNumber('--count', values.count, true);
  const durationS = positiveNumber('--duration', values.duration, false);
  const bufferMb = positiveNumber('--buffer-mb', values['buffer-mb'], true) ?? DEFAULT_BUFFER_MB;
  const maxFlows = positiveNumber('--max-flows', values['max-flows'], true) ?? 10_000;
  return {
    target: positionals[0]!,
    lab: values.lab,
    ...(values.config !== undefined ? { config: values.config } : {}),
    ssh: values.ssh,
    at: values.at,
    read: values.read,
    ...(values.write !== undefined ? { write: values.write } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(durationS !== undefined ? { durationS } : {}),
    json: values.json,
    bufferMb,
    maxFlows,
    listPoints: values['list-points'],
  };
}

function localAddresses(addrJson: string): string[] {
  try {
    const links = JSON.parse(addrJson) as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>;
    return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => a.local!));
  } catch {
    return [];
  }
}

/** What to undo before the process ends: the lab's agent connection, ssh masters. */
const closers: Array<() => Promise<void>> = [];

function attachRunningLab() {
  const lab = attachLab();
  if (!lab) throw new UserError('no lab is running', 'start one: lvs-lab up --example dr');
  closers.push(async () => {
    setLabHosts(undefined);
    await lab.detach();
  });
  setLabHosts((n) => lab.node(n));
  return lab;
}

async function buildPlan(f: Flags): Promise<TracePlan> {
  const t = parseVipArg(f.target);
  const me = hostname();
  const ssh = new Map<string, Host>();
  const reach = (rip: string) => {
    const uri = `ssh://root@${rip}`;
    let h = ssh.get(uri);
    if (!h) {
      ssh.set(uri, (h = hostFor(uri)));
      closers.push(() => closeHost(h!));
    }
    return { host: h, uri };
  };
  // With -r the real servers' points stand for files: nothing is reached.
  const forFiles = (rip: string) => ({ host: new LocalHost(), uri: `file:${rip}` });
  const rsReach = f.ssh ? reach : f.read.length > 0 ? forFiles : undefined;
  let plan: TracePlan;
  const needsLab = f.lab || f.at.some((a) => a.startsWith('lab:'));
  const lab = needsLab ? attachRunningLab() : undefined;
  if (lab) await lab.root.run(['true'], { timeoutMs: 30_000 });
  if (f.lab) {
    const design = loadLabDesign(lab!.stateDir);
    if (!design) throw new UserError('the lab is starting or was left half-built', 'wait for lvs-lab up to finish, or lvs-lab down');
    const nodeHost = (n: string) => lab!.node(n);
    plan = planFromLab(design, t, await observeLab(design, t, nodeHost), nodeHost);
  } else if (f.config !== undefined) {
    const model = loadDesign(f.config, { consequence: 'nothing was captured', exitCode: 2, hint: 'lvs-wizard check FILE explains each problem' }).model;
    const addr = await new LocalHost().run(['ip', '-j', 'addr', 'show'], { timeoutMs: 10_000 });
    plan = planFromDesign(model, t, { localAddresses: addr.exitCode === 0 ? localAddresses(addr.stdout) : [], hostname: me, ...(rsReach ? { reach: rsReach } : {}) });
  } else {
    const local = new LocalHost();
    const [ipvs, addr] = await Promise.all([local.run(['ipvsadm', '-Sn'], { timeoutMs: 10_000 }), local.run(['ip', '-j', 'addr', 'show'], { timeoutMs: 10_000 })]);
    if (ipvs.exitCode === 127) throw new UserError('ipvsadm is not installed here: cannot read the IPVS table', 'give the design with --config FILE, or trace the lab with --lab');
    if (ipvs.exitCode !== 0) throw new UserError(`ipvsadm -Sn failed: ${ipvs.stderr.trim()}`, 'reading the IPVS table needs root; or give the design with --config FILE');
    plan = planFromIpvs(t, { ipvsSave: ipvs.stdout, addrJson: addr.stdout, hostname: me }, rsReach);
  }
  const at = f.at.map((spec) => {
    const { uri, iface, role } = parseAt(spec);
    return { uri, iface, host: hostFor(uri), ...(role ? { role } : {}) };
  });
  return applyAt(plan, at, me);
}

/** -r: each file replaces its point's live capture; points without a file are left out of the trace. */
function restrictToFiles(plan: TracePlan, files: ReadonlyArray<{ name: string; path: string }>): TracePlan {
  const names = new Set(plan.placed.map((p) => p.point.name));
  const unknown = files.filter((r) => !names.has(r.name));
  if (unknown.length > 0) throw new UserError(`-r names no point of this trace: ${unknown.map((u) => u.name).join(', ')}`, `the points are: ${[...names].join(', ')} (lvs-trace VIP --list-points; add one with --at HOST:IFACE)`);
  const placed = plan.placed.filter((p) => files.some((r) => r.name === p.point.name)).map((p) => ({ point: { ...p.point, host: 'file' } }));
  return { ...plan, placed, spec: { ...plan.spec, points: placed.map((p) => p.point) } };
}

function captureUserError(e: CaptureError): UserError {
  const detail = e.detail?.trim() ? `\n${e.detail.trim().replace(/^/gm, '  | ')}` : '';
  return new UserError(`${e.message}${detail}`, e.hint, 2);
}

/** A capture point left out because its interface is missing or down, and what that says. */
interface SkippedPoint {
  point: TracePoint;
  note: { cause: string; check: string | null; evidence: string };
}

/**
 * A real server's tunl0 that is missing or down is itself the finding (the
 * ipip module is not loaded there, seed 002): the trace goes on without that
 * point and says so. Any other point that cannot start is the user's to fix.
 */
function skippable(p: PlacedPoint, e: unknown): SkippedPoint | undefined {
  if (!(e instanceof CaptureError) || (e.kind !== 'no-such-interface' && e.kind !== 'interface-down') || p.point.role !== 'rs-tunl0') return undefined;
  const node = p.point.name.split(':')[0]!;
  return {
    point: p.point,
    note: {
      cause: `${p.point.iface} is ${e.kind === 'interface-down' ? 'down' : 'missing'} on ${node}: it cannot take tunnelled requests (is the ipip module loaded there?); not captured`,
      check: 'rs-tunnel',
      evidence: `${e.message}${e.detail ? `: ${e.detail.trim().split('\n')[0]}` : ''}`,
    },
  };
}

/**
 * Open every point's source at once. A real server's missing tunl0 is left out
 * with a note; if any other point cannot start, the others are stopped and the
 * reason is the user's (exit 2).
 */
async function openSources(placed: readonly PlacedPoint[], plan: TracePlan, f: Flags, files: Map<string, string>): Promise<{ sources: CaptureSource[]; skipped: SkippedPoint[] }> {
  const open = (p: PlacedPoint): Promise<CaptureSource> => {
    const file = files.get(p.point.name);
    if (file !== undefined) return openFile(p.point, file);
    const filter = captureFilter(plan.spec, p.point);
    if (p.host) return openRemote(p.point, p.host, { filter });
    return openLive(p.point, { filter, bufferMb: f.bufferMb }).catch((e: unknown) => {
      // Without the cap binding, this machine's tcpdump does the same job.
      if (e instanceof CaptureError && e.kind === 'missing-tool') return openRemote(p.point, new LocalHost(), { filter });
      throw e;
    });
  };
  const settled = await Promise.allSettled(placed.map(open));
  const skipped: SkippedPoint[] = [];
  let failure: unknown;
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled' || failure !== undefined) return;
    const skip = skippable(placed[i]!, s.reason);
    if (skip) skipped.push(skip);
    else failure = s.reason ?? new Error('a capture failed to start');
  });
  const sources = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failure !== undefined || sources.length === 0) {
    await Promise.all(sources.map((s) => s.stop()));
    const e: unknown = failure ?? skipped[0]?.note.evidence;
    if (e instanceof CaptureError) throw captureUserError(e);
    if (typeof e === 'string') throw new UserError(`no capture point could start: ${e}`, 'name the points with --at HOST:IFACE');
    throw e;
  }
  return { sources, skipped };
}

type Renderer = 'ink' | 'text' | 'json';

export async function traceMain(argv: string[]): Promise<number> {
  try {
    return await trace(argv);
  } catch (e) {
    if (e instanceof PointsError) throw new UserError(e.message, e.hint ?? USAGE);
    if (e instanceof TargetError) throw new UserError(e.message, e.hint);
    if (e instanceof CaptureError) throw captureUserError(e);
    throw e;
  } finally {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
  }
}

async function trace(argv: string[]): Promise<number> {
  const f = await parseFlags(argv);
  const renderer: Renderer = f.json ? 'json' : process.stdout.isTTY ? 'ink' : 'text';
  const say = (s: string) => {
    if (renderer !== 'ink') process.stderr.write(`${s}\n`);
  };
  const reads = f.read.map((spec) => {
    try {
      return parseReadSpec(spec);
    } catch (e) {
      if (e instanceof CaptureError) throw new UserError(e.message, e.hint);
      throw e;
    }
  });
  let plan = await buildPlan(f);
  if (reads.length > 0) plan = restrictToFiles(plan, reads);
  if (f.listPoints) {
    for (const p of plan.placed) process.stdout.write(`${p.point.name}\t${p.point.role}\t${p.point.host}\t${p.point.iface}${p.point.backend ? `\t${p.point.backend}` : ''}\n`);
    return 0;
  }
  if (plan.placed.length === 0) throw new UserError('no capture point on the path', 'add one with --at HOST:IFACE');
  const writer = f.write !== undefined ? new PcapDirWriter(f.write) : undefined;
  for (const n of plan.notes) say(`note: ${n}`);
  const opened = await openSources(plan.placed, plan, f, new Map(reads.map((r) => [r.name, r.path])));
  const { sources, skipped } = opened;
  if (skipped.length > 0) {
    // The correlator follows only the points that capture: a point that cannot see anything must not count as "nothing arrived".
    const gone = new Set(skipped.map((x) => x.point.name));
    plan = { ...plan, placed: plan.placed.filter((p) => !gone.has(p.point.name)), spec: { ...plan.spec, points: plan.spec.points.filter((p) => !gone.has(p.name)) } };
    for (const x of skipped) say(`note: ${x.point.name}: ${x.note.cause}`);
  }
  const offline = reads.length > 0;
  say(`${offline ? 'reading' : 'capturing at'} ${sources.map((s) => `${s.point.name} (${s.point.host} ${s.point.iface})`).join(', ')}`);

  const corr = new Correlator(plan.spec, { maxFlows: f.maxFlows });
  /** The report so far, with the notes of the points left out. */
  const current = (): TraceReport => {
    const r = corr.report(stats());
    return skipped.length > 0 ? { ...r, notes: [...(r.notes ?? []), ...skipped.map((x) => x.note)] } : r;
  };
  const stats = (): Record<string, PointStats> => Object.fromEntries(sources.map((s) => [s.point.name, s.stats()]));
  const failures: string[] = [];
  const feed = (name: string, frame: RawFrame) => {
    writer?.write(name, frame);
    corr.add(name, decode(frame));
  };

  let stop!: (why: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  let pumps: Promise<void>;
  if (offline) {
    // Files: every frame of every point, merged onto one timeline before correlating.
    const all: Array<{ name: string; frame: RawFrame }> = [];
    for (const s of sources) for await (const frame of s.frames()) all.push({ name: s.point.name, frame });
    all.sort((a, b) => a.frame.timeUs - b.frame.timeUs);
    for (const { name, frame } of all) feed(name, frame);
    pumps = Promise.resolve();
    stop('end of files');
  } else {
    pumps = Promise.all(
      sources.map(async (s) => {
        try {
          for await (const frame of s.frames()) feed(s.point.name, frame);
        } catch (e) {
          const msg = e instanceof CaptureError ? `${e.message}${e.detail ? ` (${e.detail.trim().split('\n')[0]})` : ''}` : e instanceof Error ? e.message : String(e);
          failures.push(`${s.point.name}: ${msg}`);
        }
      }),
    ).then(() => stop('every capture ended'));
  }

  const timers: NodeJS.Timeout[] = [];
  const onSigint = () => stop('interrupted');
  if (!offline) {
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    if (f.durationS !== undefined) timers.push(setTimeout(() => stop(`${f.durationS} s elapsed`), f.durationS * 1000));
    if (f.count !== undefined) {
      const want = f.count;
      const poll = setInterval(() => {
        if (corr.report(stats()).flows.length >= want) {
          clearInterval(poll);
          timers.push(setTimeout(() => stop(`${want} connection${want === 1 ? '' : 's'} traced`), COUNT_GRACE_MS));
        }
      }, 250);
      timers.push(poll);
    }
  }

  const finish = (async (): Promise<TraceReport> => {
    const why = await stopped;
    for (const t of timers) clearTimeout(t);
    await Promise.all(sources.map((s) => s.stop()));
    await pumps;
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
    say(`stopped: ${why}`);
    return current();
  })();

  let report: TraceReport;
  if (renderer === 'ink') {
    const { traceWithInk } = await import('../capture/report-ink.js');
    await traceWithInk(current, finish, `capturing at ${sources.length} points`);
    report = await finish;
  } else {
    report = await finish;
    process.stdout.write(renderer === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderTraceText(report));
  }
  if (writer) {
    for (const s of sources) {
      const lt = (s as { frameLinkType?: number }).frameLinkType;
      if (lt !== undefined) writer.touch(s.point.name, lt);
    }
    const written = writer.close();
    process.stderr.write(`wrote ${written.length} pcap file${written.length === 1 ? '' : 's'} to ${f.write}: ${written.map((w) => `${w.path} (${w.frames})`).join(', ')}\n`);
  }
  for (const m of failures) process.stderr.write(`lvs-trace: capture failed at ${m}\n`);
  if (failures.length > 0 && failures.length === sources.length) return 2;
  return report.flows.some((fl) => !fl.verdict.ok) ? 1 : 0;
}
