#!/usr/bin/env node
/**
 * lvs-lab: network-namespace topologies on a real IPVS kernel — natively, or
 * inside a small qemu VM where the running kernel has no IPVS.
 */
import { packageVersion, runMain, UserError } from './common.js';

const HELP = `lvs-lab — a real IPVS kernel sandbox of network namespaces (natively, or in a small qemu VM)

Usage:
  lvs-lab up [FILE | --example NAME] [--backend auto|native|qemu] [--json] [--keep-on-failure]
      Build one node per director, real server (and port-mapping container host),
      plus a "client" node; wire them as the mode needs; start an HTTP server on
      each real server that answers with its name; apply the generated configs
      with the apply engine (validate, write, reload) and wait until every VIP answers.
      FILE: an answers file or any config lvs-wizard import reads.
      NAME: nat dr tun l7 seed-000 seed-000-l7 seed-002 seed-003 seed-004
  lvs-lab status [--json]          nodes, addresses, IPVS tables, who holds each VIP
  lvs-lab exec NODE -- ARGV...     run a command on a node (break things, inspect)
  lvs-lab traffic [--count N] [--interval S] [--json]
                                   requests from client to every VIP: answers per backend,
                                   failures, latency
  lvs-lab down                     remove everything: nodes, bridges, VM, state files

Environment: LVS_LAB_STATE (state dir, default /run/lvs-toolkit/lab), LVS_LAB_CACHE
(image cache), LVS_LAB_BACKEND, LVS_LAB_BOOT_TIMEOUT_MS (VM boot limit, default 90000).

The first "up" on a machine without IPVS builds the VM image (about a minute,
cached in ~/.cache/lvs-toolkit/lab). Needs root (namespaces, qemu).

Examples:
  lvs-lab up --example dr
  lvs-lab traffic --count 20
  lvs-lab exec rs1 -- ip addr show lo
  lvs-lab exec dir1 -- ipvsadm -Ln --stats
  lvs-lab up /etc/keepalived/keepalived.conf
  lvs-lab down
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '-V' || cmd === '--version') {
    process.stdout.write(`lvs-lab ${packageVersion()}\n`);
    return 0;
  }
  const commands = await import('./lab-commands.js');
  switch (cmd) {
    case 'up':
      return commands.labUpCommand(rest);
    case 'status':
      return commands.labStatusCommand(rest);
    case 'exec':
      return commands.labExecCommand(rest);
    case 'traffic':
      return commands.labTrafficCommand(rest);
    case 'down':
      return commands.labDownCommand(rest);
    default:
      throw new UserError(`unknown command "${cmd}"`, 'lvs-lab --help lists the commands');
  }
}

runMain('lvs-lab', () => main(process.argv.slice(2)));
