#!/usr/bin/env node
/**
 * lvs-wizard: describe a load-balanced service once (or import the config you
 * run) and get every file each node needs. Heavy modules load only for the
 * subcommand that needs them; --help and --version load nothing.
 */
import { packageVersion, runMain, UserError } from './common.js';

const HELP = `lvs-wizard — set up Linux Virtual Server load balancing (NAT, DR, TUN, nginx/HAProxy)

Usage:
  lvs-wizard import FILE [--from FORMAT] [--to FORMAT] [--director NAME] [-o OUT]
      Read a config you already run and print it as an answers file (or
      another format). FORMAT: yaml keepalived lvs.cf ipvsadm ldirectord nginx haproxy
      (--from is detected when omitted).
  lvs-wizard generate ANSWERS --out DIR [--force]
      Write every file each node needs to DIR/<node>/<absolute path>, plus
      DIR/<node>/setup.sh, and print what goes where. ANSWERS may be any
      importable config. Existing different files are kept unless --force.
  lvs-wizard check FILE [--strict] [--json]
      Validate a design (answers file or any importable config).
      Exit 0: no errors (warnings allowed unless --strict), 1: problems, 2: unreadable.

  lvs-wizard --lab [--answers FILE] [--yes]
      Show the design (default: a DR director pair with fast failover in front
      of two web servers; or FILE, any importable config) as a picture and the
      files per node, start a lab (lvs-lab), apply the files there with the
      apply engine, and send 20 requests through the VIP. The lab keeps running.
  lvs-wizard [--answers FILE] [--save FILE] [--lab]
      The interactive wizard: 13 steps from "what to balance" to a verified
      apply. --answers pre-fills from any importable config, --save writes
      the answers; on a terminal --lab makes the running lab's nodes the
      targets (lvs-lab up first). Without a terminal: line prompts on piped
      input, --lab as above, or --answers FILE --yes --targets TARGETS to
      apply without questions.
  lvs-wizard apply FILE --targets TARGETS [--dry-run] [--yes]
      Apply a design (answers or any importable config) to your machines.
      TARGETS: a YAML file of "NODE: URI" lines, or NODE=URI,NODE=URI; a URI
      is local, ssh://[user@]host[:port], lxd:NAME, lxc:NAME, vz:CTID or
      netns:NAME. Shows per node what changes (a diff) and runs; then backs
      up, validates with the real tool, writes atomically, reloads, checks
      every node with the doctor and rolls everything back on a failure.
      Without --yes it asks on a terminal, or shows the plan and exits 2.
      An unchanged design prints "no changes" and touches nothing.
  lvs-wizard apply FILE --lab [--dry-run] [--yes]
      The same on the lab's nodes; a lab shaped for the design is started
      when none runs. A request from the lab's client goes through the VIP.
  lvs-wizard rollback [--to STAMP [--targets TARGETS | --lab]] [--list]
      Put back the files of the last apply (or of STAMP) on every node it
      touched, byte for byte, and reload what it reloaded. Also the way out
      of an apply that was interrupted (the next apply refuses until then).
      --targets/--lab: where to look when this machine did not make STAMP.

Options:
  -h, --help       this text
  -V, --version    the version

Examples:
  lvs-wizard import /etc/keepalived/keepalived.conf > answers.yaml
  lvs-wizard import /etc/sysconfig/ha/lvs.cf --to keepalived --director lvs-01
  ipvsadm -Sn | lvs-wizard import - --from ipvsadm
  lvs-wizard check answers.yaml
  lvs-wizard generate answers.yaml --out ./out
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || (cmd.startsWith('-') && !['-h', '--help', '-V', '--version'].includes(cmd))) {
    const { runWizard } = await import('./wizard-interactive.js');
    return runWizard(argv);
  }
  if (cmd === 'apply' || cmd === 'rollback') {
    const { runApply, runRollback } = await import('./wizard-apply.js');
    return cmd === 'apply' ? runApply(rest) : runRollback(rest);
  }
  if (argv.includes('--lab')) {
    const { runWizardLab } = await import('./wizard-lab.js');
    return runWizardLab(argv);
  }
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd === '-V' || cmd === '--version') {
    process.stdout.write(`lvs-wizard ${packageVersion()}\n`);
    return 0;
  }
  const { runImport, runGenerate, runCheck } = await import('./wizard-commands.js');
  switch (cmd) {
    case 'import':
      return runImport(rest);
    case 'generate':
      return runGenerate(rest);
    case 'check':
      return runCheck(rest);
    default:
      throw new UserError(`unknown command "${cmd}"`, 'lvs-wizard --help lists the commands');
  }
}

runMain('lvs-wizard', () => main(process.argv.slice(2)));
