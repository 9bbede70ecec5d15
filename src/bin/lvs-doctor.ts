#!/usr/bin/env node
/** lvs-doctor: --help and --version answer today; the command itself lands with its issue. */
import { packageVersion, runMain, UserError } from './common.js';

const HELP = `lvs-doctor — check directors, real servers and container hosts for the known LVS pitfalls

Usage (when it lands):
  lvs-doctor                              detect this machine's role and check it
  lvs-doctor --config FILE [--ssh]        learn the design from keepalived.conf / lvs.cf / answers
  lvs-doctor --director HOST --real HOST  check named machines (ssh://, lxd:, lxc:, vz:, netns:)
  lvs-doctor --lab                        check the running lab
  lvs-doctor --list-checks [--json]       what it checks
Options: --json, --fix [--yes], --record DIR, --bundle FILE.tar.gz, --strict
Exit codes: 0 no failure, 1 at least one failure, 2 could not run.

Not available yet: it lands with the doctor issue.
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('-V') || argv.includes('--version')) {
    process.stdout.write(`lvs-doctor ${packageVersion()}\n`);
    return 0;
  }
  throw new UserError('lvs-doctor is not available yet: it lands with the doctor issue', 'lvs-wizard import | generate | check work today');
}

runMain('lvs-doctor', () => main(process.argv.slice(2)));
