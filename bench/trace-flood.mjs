#!/usr/bin/env node
/**
 * lvs-trace's live capture under a UDP flood (issue 5): two network
 * namespaces joined by a veth pair (created here, deleted at the end); a
 * sender floods the receiver for a few seconds while tcpdump and our live
 * source (cap + decode + Correlator, the path `lvs-trace` runs) capture the
 * same interface at the same time. Prints packets seen by each, drops, the
 * ratio ours/tcpdump (goal >= 0.95), and our peak RSS while the correlator
 * runs (its flow table is capped: the sender changes source port often, so
 * flows keep coming). Prints, never asserts.
 *
 *   sudo node bench/trace-flood.mjs                 # 5 s flood
 *   sudo node bench/trace-flood.mjs --seconds 20
 *   sudo node bench/trace-flood.mjs --minutes 10    # the memory run of the issue
 *
 * Needs root (namespaces, capture), tcpdump, and `npm run build`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist', 'capture');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = process.argv.includes('--minutes') ? arg('--minutes', 10) * 60 : arg('--seconds', 5);
const maxFlows = arg('--max-flows', 10000);

if (!existsSync(join(DIST, 'sources', 'live.js'))) {
  console.error('trace-flood: run `npm run build` first');
  process.exit(2);
}

const tag = `${process.pid}`;
const TX = `lvsflood-tx-${tag}`;
const RX = `lvsflood-rx-${tag}`;
const sh = (argv) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** The sender: UDP to 10.99.0.2:9999 as fast as the socket takes it; a new socket (new source port, new flow) every 2000 datagrams. */
const SENDER = `
const dgram = require('node:dgram');
const end = Date.now() + Number(process.argv[1]) * 1000;
const payload = Buffer.alloc(64);
let sent = 0, sock = dgram.createSocket('udp4'), onSock = 0;
function burst() {
  for (let i = 0; i < 200; i++) {
    sock.send(payload, 9999, '10.99.0.2');
    sent++;
    if (++onSock >= 2000) { const old = sock; setTimeout(() => old.close(), 100); sock = dgram.createSocket('udp4'); onSock = 0; }
  }
  if (Date.now() < end) setImmediate(burst); else setTimeout(() => { sock.close(); console.log(JSON.stringify({ sent })); }, 200);
}
burst();
`;

/** Our side: the live source feeding decode + Correlator, as lvs-trace does; peak RSS sampled while it runs. */
const OURS = `
const { openLive } = await import(${JSON.stringify(join(DIST, 'sources', 'live.js'))});
const { decode } = await import(${JSON.stringify(join(DIST, 'decode.js'))});
const { Correlator, captureFilter } = await import(${JSON.stringify(join(DIST, 'correlate.js'))});
const point = { name: 'rx:eth0', host: 'local', iface: 'eth0', role: 'director-in' };
const spec = { vip: '10.99.0.2', port: 9999, proto: 'udp', mode: 'dr', backends: [], points: [point] };
const corr = new Correlator(spec, { maxFlows: ${maxFlows} });
const src = await openLive(point, { filter: captureFilter(spec, point) });
let peak = 0;
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 200);
process.once('SIGTERM', () => src.stop());
let n = 0;
for await (const f of src.frames()) { corr.add(point.name, decode(f)); n++; }
clearInterval(sample);
peak = Math.max(peak, process.memoryUsage().rss);
const r = corr.report({ [point.name]: src.stats() });
console.log(JSON.stringify({ stats: src.stats(), decoded: n, peakRssMb: +(peak / 1048576).toFixed(1), flowsInReport: r.flows.length, evicted: corr.evicted }));
`;

function collect(p) {
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => p.on('close', (code) => resolve({ out, err, code })));
}

try {
  sh(['ip', 'netns', 'add', TX]);
  sh(['ip', 'netns', 'add', RX]);
  sh(['ip', '-n', TX, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', RX]);
  sh(['ip', '-n', TX, 'addr', 'add', '10.99.0.1/24', 'dev', 'eth0']);
  sh(['ip', '-n', RX, 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0']);
  for (const ns of [TX, RX]) for (const l of ['lo', 'eth0']) sh(['ip', '-n', ns, 'link', 'set', l, 'up']);

  const tcpdump = spawn('ip', ['netns', 'exec', RX, 'tcpdump', '-n', '-i', 'eth0', '-w', '/dev/null', 'udp port 9999'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tdDone = collect(tcpdump);
  const ours = spawn('ip', ['netns', 'exec', RX, process.execPath, '--input-type=module', '-e', OURS], { stdio: ['ignore', 'pipe', 'pipe'] });
  const oursDone = collect(ours);
  await new Promise((r) => setTimeout(r, 1500));
  const rx0 = Number(sh(['ip', 'netns', 'exec', RX, 'cat', '/sys/class/net/eth0/statistics/rx_packets']));
  const t0 = Date.now();
  const sender = spawn('ip', ['netns', 'exec', TX, process.execPath, '-e', SENDER, String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sent = JSON.parse((await collect(sender)).out.trim() || '{"sent":0}').sent;
  const elapsed = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1500));
  const rx = Number(sh(['ip', 'netns', 'exec', RX, 'cat', '/sys/class/net/eth0/statistics/rx_packets'])) - rx0;
  tcpdump.kill('SIGTERM');
  ours.kill('SIGTERM');
  const td = await tdDone;
  const us = await oursDone;
  const num = (re) => Number(re.exec(td.err)?.[1] ?? NaN);
  const tdCaptured = num(/(\d+) packets? captured/);
  const tdDropped = num(/(\d+) packets? dropped by kernel/);
  let o;
  try {
    o = JSON.parse(us.out.trim().split('\n').pop());
  } catch {
    console.error(`our capture printed nothing usable:\n${us.out}\n${us.err}`);
    process.exitCode = 1;
  }
  if (o) {
    console.log(`UDP flood ${elapsed.toFixed(1)} s on a veth pair: ${sent} datagrams sent (${Math.round(sent / elapsed)}/s), ${rx} arrived (rx_packets)`);
    console.log(`tcpdump:   ${tdCaptured} captured, ${tdDropped} dropped by kernel`);
    console.log(`lvs-trace: ${o.stats.received} captured (${o.decoded} decoded and correlated), ${o.stats.dropped} dropped (interface rx_dropped ${o.stats.ifDropped ?? 'n/a'} + queue overflow)`);
    console.log(`ratio ours/tcpdump: ${(o.stats.received / tdCaptured).toFixed(3)} (goal >= 0.95)`);
    console.log(`peak RSS while correlating: ${o.peakRssMb} MB (flow table cap ${maxFlows}, ${o.evicted} connections evicted, ${o.flowsInReport} in the final report)`);
  }
} finally {
  for (const ns of [TX, RX]) spawnSync('ip', ['netns', 'del', ns]);
}
