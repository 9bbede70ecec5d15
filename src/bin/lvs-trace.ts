#!/usr/bin/env node
/** lvs-trace: --help and --version answer today; the command itself lands with its issue. */
import { packageVersion, runMain, UserError } from './common.js';

const HELP = `lvs-trace — capture on every hop at once and say where packets to a VIP stop, and why

Usage (when it lands):
  lvs-trace VIP[:PORT]                    on a director: capture points from the IPVS table
  lvs-trace VIP --ssh                     also each real server (tcpdump over ssh)
  lvs-trace VIP --at HOST:IFACE ...       add or override capture points
  lvs-trace VIP -r point=file.pcap ...    read captures taken elsewhere
  lvs-trace VIP --lab                     trace the running lab
Options: -w DIR, --count N, --duration S, --json
Exit codes: 0 all flows completed, 1 some stopped, 2 could not capture (needs root or CAP_NET_RAW).

Not available yet: it lands with the trace issue.
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
  throw new UserError('lvs-trace is not available yet: it lands with the trace issue', 'lvs-wizard import | generate | check work today');
}

runMain('lvs-trace', () => main(process.argv.slice(2)));
