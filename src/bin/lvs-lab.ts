#!/usr/bin/env node
/** lvs-lab: --help and --version answer today; the command itself lands with its issue. */
import { packageVersion, runMain, UserError } from './common.js';

const HELP = `lvs-lab — a real IPVS kernel sandbox of network namespaces (natively, or in a small qemu VM)

Usage (when it lands):
  lvs-lab up [FILE | --example nat|dr|tun|l7|seed-000|seed-002|seed-003|seed-004]
  lvs-lab status [--json]
  lvs-lab exec NODE -- ARGV...
  lvs-lab traffic [--count N] [--json]
  lvs-lab down

Not available yet: it lands with the lab issue.
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('-V') || argv.includes('--version')) {
    process.stdout.write(`lvs-lab ${packageVersion()}\n`);
    return 0;
  }
  throw new UserError('lvs-lab is not available yet: it lands with the lab issue', 'lvs-wizard import | generate | check work today');
}

runMain('lvs-lab', () => main(process.argv.slice(2)));
