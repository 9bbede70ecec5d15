#!/usr/bin/env node
/**
 * lvs-doctor: --help and --version answer before anything heavy loads; the
 * work is in doctor-commands.ts, and Ink only on a terminal (DESIGN rule 8).
 */
import { packageVersion, runMain } from './common.js';

const HELP = `lvs-doctor — check directors, real servers and container hosts for the known LVS pitfalls

Usage:
  lvs-doctor [CHECK-ID…]                   detect this machine's role(s) and check it
  lvs-doctor --config FILE [--ssh]         learn the design from keepalived.conf / lvs.cf / answers;
                                           this machine is checked as its director; with --ssh also
                                           every real server and the peer director (ssh://root@ADDRESS)
  lvs-doctor --director URI --real URI … --client URI
                                           check named machines (ssh://user@host[:port], netns:NAME,
                                           lxd:NAME, lxc:NAME, vz:CTID, local)
  --host-of CONTAINER=HOST                 the machine a container runs on, where its modules,
                                           venet routes and ipip feature live
                                           (e.g. --host-of lxd:web1=ssh://root@node1)
  lvs-doctor --lab                         check every node of the running lab (lvs-lab up)
  lvs-doctor --list-checks [--json]        what it checks

Options:
  CHECK-ID…       run only these checks (see --list-checks)
  --json          machine-readable report on stdout:
                  {"checks":[{"id","title","status":"pass|warn|fail|skip|error","host","role",
                    "message","evidence":[…],"fix":{"why","commands":[[argv…]…],"files":[{"path","lines"}]}|null}],
                   "summary":{"pass","warn","fail","skip","error"}}
  --strict        warnings and check errors count as failures
  --fix           show each fix and apply it (backup, atomic write, rollback on failure), then
                  re-run the checks it concerns; asks on a terminal, needs --yes otherwise.
                  Without --fix the doctor never changes anything.
  --yes, -y       apply the fixes without asking
  --record DIR    write what was read from each host as a replayable fixture
  --bundle FILE.tar.gz   gather configs and state for a bug report
  -h, --help      this text;  -V, --version   the version

Output: a live view on a terminal, plain text otherwise (one line per finding, evidence indented,
the fix's commands and file lines, a summary line), or --json.

Exit codes:
  0  no failure
  1  at least one failure (with --strict: or a warning, or a check that errored)
  2  could not run: bad usage, unknown check id, unreadable config, unreachable host
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
  const { doctorMain } = await import('./doctor-commands.js');
  return doctorMain(argv);
}

runMain('lvs-doctor', () => main(process.argv.slice(2)));
