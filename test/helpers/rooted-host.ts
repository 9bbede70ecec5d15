/**
 * A Host for apply tests: files live under a temp root (so /etc/keepalived
 * of the test is ROOT/etc/keepalived), commands run for real inside a network
 * namespace the test made, /tmp is shared (candidates are validated there).
 */
import { LocalHost, runLocal } from '../../src/host/local.js';
import type { Host, RunOptions, RunResult, StreamHandle } from '../../src/host/types.js';

export class RootedHost implements Host {
  private readonly local = new LocalHost();
  readonly commands: string[][] = [];
  constructor(
    readonly root: string,
    readonly ns: string,
    readonly name: string,
  ) {}

  private map(path: string): string {
    return path.startsWith('/tmp/') ? path : `${this.root}${path}`;
  }

  /** Paths in argv are rewritten into the root, except under /tmp. */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.commands.push([...argv]);
    const mapped = argv.map((a) => (a.startsWith('/') && !a.startsWith('/tmp/') ? this.map(a) : a));
    return runLocal(['ip', 'netns', 'exec', this.ns, ...mapped], opts);
  }
  readFile(path: string): Promise<string | undefined> {
    return this.local.readFile(this.map(path));
  }
  writeFile(path: string, text: string, mode?: number): Promise<void> {
    return this.local.writeFile(this.map(path), text, mode);
  }
  stream(argv: readonly string[]): StreamHandle {
    return this.local.stream(['ip', 'netns', 'exec', this.ns, ...argv]);
  }
  describe(): string {
    return `test:${this.name}`;
  }
}
