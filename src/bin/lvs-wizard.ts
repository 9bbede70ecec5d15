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
  lvs-wizard                   the interactive wizard (not yet: lands with the wizard issue)
  lvs-wizard apply FILE ...    apply to your own servers (not yet: lands with the wizard issue)

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
  if (argv.includes('--lab')) {
    const { runWizardLab } = await import('./wizard-lab.js');
    return runWizardLab(argv);
  }
  if (cmd === undefined || cmd === 'apply' || cmd === 'rollback') {
    throw new UserError(
      `${cmd === undefined ? 'the interactive wizard' : `lvs-wizard ${cmd}`} is not available yet: it lands with the wizard issue (TUI, apply to your servers, rollback)`,
      'today: lvs-wizard --lab (the default design, applied in a lab), import | generate | check (see lvs-wizard --help)',
    );
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
