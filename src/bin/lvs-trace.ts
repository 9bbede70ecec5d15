#!/usr/bin/env node
/**
 * lvs-trace: --help and --version answer before anything heavy loads; the
 * work is in trace-commands.ts, and Ink only on a terminal (DESIGN rule 8).
 */
import { packageVersion, runMain } from './common.js';

const HELP = `lvs-trace — capture on every hop at once and say where packets to a VIP stop, and why

Usage:
  lvs-trace VIP[:PORT]                     on a director: the path from its IPVS table (ipvsadm -Sn) and
                                           addresses: its ingress and egress interfaces, captured live
  lvs-trace VIP --ssh                      also each real server, over ssh://root@RIP (tcpdump there)
  lvs-trace VIP --config FILE [--ssh]      the path from a design (answers, keepalived.conf, lvs.cf, …);
                                           this machine is the design's director holding one of its addresses
  lvs-trace VIP --lab                      trace the running lab (lvs-lab up): points on every node
                                           (NODE:IFACE), all captured with tcpdump through the lab
  lvs-trace VIP … -r POINT=FILE …          read captures taken elsewhere (pcap or pcapng), one per point,
                                           instead of capturing (POINT as --list-points prints it)

Options:
  --at HOST:IFACE[=ROLE]
                       add a capture point, or capture an existing NODE:IFACE through HOST; HOST is
                       local, ssh://[user@]host[:port], netns:NAME, lxd:NAME, lxc:NAME, vz:CTID or lab:NODE
                       (e.g. --at ssh://root@10.0.1.11:tunl0, --at lab:rs1:eth0, --at netns:cl:eth0=client).
                       ROLE: client, director-in, director-out, rs-in, rs-tunl0; without it a real server's
                       node gives rs-in (rs-tunl0 on tunl0), "client" a client point, else a director's.
  -w, --write DIR      also write one classic pcap per point to DIR/NODE_IFACE.pcap (tshark/Wireshark)
  -c, --count N        stop once N connections (client address:port toward the VIP) have been seen,
                       3 s later (for their replies and ICMP errors)
  --duration S         stop after S seconds
                       Without --count or --duration a live trace runs until Ctrl-C; Ctrl-C (SIGINT) or
                       SIGTERM stops it and prints the summary.
  --json               the report on stdout as JSON:
                       {"flows":[{"client","vip","backend","hops":[{"point","seen","time"}],
                         "verdict":{"ok","stoppedAfter","stoppedBefore","cause","check"}}],
                        "points":[{"name","host","iface","received","dropped"}],
                        "notes":[{"cause","check","evidence"}]}   (notes only when there are some)
                       time: ms since the epoch of the first packet of that flow at that point;
                       check: the lvs-doctor check that explains the stop; names are node names under --lab
  --buffer-mb N        ring buffer of a live capture (default 64)
  --max-flows N        connections kept in memory at once (default 10000; finished ones are evicted first)
  --list-points        print the capture points (name, role, host, interface, backend) and exit
  -h, --help           this text;  -V, --version   the version

How it captures: on this machine with libpcap (the cap binding; the BPF filter runs in the kernel);
elsewhere with \`tcpdump -U -n -s 256 -w - -i IFACE FILTER\` through the host, so a real server needs
tcpdump, not Node. Drops: tcpdump's "dropped by kernel" for remote points; for live ones the
interface's rx_dropped over the capture (cap does not expose pcap_stats), plus frames we could not
keep up with.

Output: a live view on a terminal (a ladder per connection filling in, the verdict beside it, per-point
counters), plain text otherwise (one line per connection, its ladder, the points, a summary), or --json.

Exit codes:
  0  every traced connection completed (also when none was seen: the summary says so)
  1  at least one connection stopped on the way
  2  could not capture: bad usage, no root/CAP_NET_RAW, no such interface, tcpdump missing on a host
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('-V') || argv.includes('--version')) {
    process.stdout.write(`lvs-trace ${packageVersion()}\n`);
    return 0;
  }
  const { traceMain } = await import('./trace-commands.js');
  return traceMain(argv);
}

runMain('lvs-trace', () => main(process.argv.slice(2)));
