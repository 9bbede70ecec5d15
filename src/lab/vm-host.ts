/**
 * Hosts for the lab (src/host/types.ts): `VmHost` is the lab VM's root
 * namespace, `LabNodeHost` one node inside the lab (its own network, mount
 * and UTS namespaces: see nodes.ts). Both sit on a Spawner — the VM's agent,
 * or this machine for the native backend — so the doctor, the tracer and the
 * apply engine use a lab node exactly like a remote machine.
 */
import type { Host, RunOptions, RunResult, StreamHandle } from '../host/types.js';
import type { AgentClient } from './agent-client.js';
import { LabError } from './errors.js';
import { drain, type Spawner } from './spawner.js';

/** Exit code of the read helper when the file does not exist (sysexits' EX_NOINPUT). */
const NOT_FOUND = 66;

/**
 * Read and atomic write through commands, for places the agent's own file
 * requests cannot see (a node's mount namespace). Arguments travel as
 * positional parameters ("$1"), never spliced into the script.
 */
const READ_SCRIPT = '[ -e "$1" ] || exit 66; exec cat -- "$1"';
const WRITE_SCRIPT = [
  'set -e',
  'mkdir -p -- "$(dirname -- "$1")"',
  't=$(mktemp -- "$1.lvs-lab.XXXXXX")',
  'trap \'rm -f -- "$t"\' EXIT',
  'cat >"$t"',
  'chmod "$2" "$t"',
  'mv -f -- "$t" "$1"',
].join('\n');

/** A Host that runs every command as `prefix ++ argv` through a Spawner. */
export class ExecHost implements Host {
  constructor(
    protected readonly spawner: Spawner,
    protected readonly prefix: readonly string[],
    private readonly name: string,
  ) {}

  describe(): string {
    return this.name;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const p = this.spawner.spawn([...this.prefix, ...argv], {
      stdin: opts.input !== undefined,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    if (opts.input !== undefined) {
      p.write(typeof opts.input === 'string' ? Buffer.from(opts.input, 'utf8') : opts.input);
      p.end();
    }
    const [stdout, stderr, exit] = await Promise.all([drain(p.stdout), drain(p.stderr), p.exit]);
    const result: RunResult = { stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), exitCode: exit.exitCode };
    if (exit.timedOut) result.timedOut = true;
    return result;
  }

  async readFile(path: string): Promise<string | undefined> {
    const r = await this.run(['sh', '-c', READ_SCRIPT, 'sh', path]);
    if (r.exitCode === NOT_FOUND) return undefined;
    if (r.exitCode !== 0) throw new LabError(`${this.name}: cannot read ${path}`, undefined, r.stderr.trim());
    return r.stdout;
  }

  async writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    const r = await this.run(['sh', '-c', WRITE_SCRIPT, 'sh', path, mode.toString(8)], { input: text });
    if (r.exitCode !== 0) throw new LabError(`${this.name}: cannot write ${path}`, undefined, r.stderr.trim());
  }

  stream(argv: readonly string[]): StreamHandle {
    const p = this.spawner.spawn([...this.prefix, ...argv]);
    const stderr = drain(p.stderr).catch(() => Buffer.alloc(0));
    return {
      stdout: p.stdout,
      done: Promise.all([stderr, p.exit]).then(([e, x]) => ({ stderr: e.toString('utf8'), exitCode: x.exitCode })),
      kill: (signal) => p.kill(signal),
    };
  }
}

/**
 * The lab VM's root namespace (where the bridges between nodes live). Files
 * go through the agent's own read/write requests: one round trip, no fork.
 */
export class VmHost extends ExecHost {
  constructor(private readonly agent: AgentClient) {
    super(agent, [], 'lab:vm');
  }

  override async readFile(path: string): Promise<string | undefined> {
    return (await this.agent.readFile(path))?.toString('utf8');
  }

  override async writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    await this.agent.writeFile(path, Buffer.from(text, 'utf8'), mode);
  }
}

/** One lab node: every command runs inside the node's namespaces (nsenter prefix from nodes.ts). */
export class LabNodeHost extends ExecHost {
  constructor(
    spawner: Spawner,
    readonly node: string,
    prefix: readonly string[],
  ) {
    super(spawner, prefix, `lab:${node}`);
  }
}
