/**
 * The built lvs-wizard in a real terminal: tmux runs it on a server socket of
 * the test's own (nothing of anyone else's is touched), send-keys types and
 * capture-pane shows what a person sees. Every frame waited for must fit the
 * pane: the title on the first row and no line wider than the terminal.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export class TmuxServer {
  private sessions = 0;
  constructor(readonly socket: string) {}

  tmux(args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * A session that outlives the others: killing the last session ends the tmux server, and a
   * new-session racing with that exit fails ("server exited unexpectedly").
   */
  start(): void {
    this.tmux(['new-session', '-d', '-s', 'keep', 'sleep 3600']);
  }

  stop(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }

  /** A terminal of `columns` x `rows` running `command` (a shell line) in `cwd`. */
  terminal(columns: number, rows: number, cwd: string, command: string): Terminal {
    const name = `w${++this.sessions}`;
    // A person's terminal, not CI's: with CI set, Ink (is-in-ci) draws nothing until the app exits.
    this.tmux(['new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), '-c', cwd, `env -u CI -u CONTINUOUS_INTEGRATION ${command}; sleep 30`]);
    // Esc must reach the wizard at once, not wait to see if an escape sequence follows.
    this.tmux(['set-option', '-s', 'escape-time', '0']);
    return new Terminal(this, name, columns, rows);
  }
}

export class Terminal {
  constructor(
    private readonly server: TmuxServer,
    readonly name: string,
    readonly columns: number,
    readonly rows: number,
  ) {}
  screen(): string {
    return this.server.tmux(['capture-pane', '-p', '-t', this.name]);
  }
  keys(...keys: string[]): void {
    this.server.tmux(['send-keys', '-t', this.name, ...keys]);
  }
  text(s: string): void {
    this.server.tmux(['send-keys', '-t', this.name, '-l', s]);
  }
  /** Poll the pane until it shows `text`, failing with the pane after `timeoutMs`; then check the frame fits. */
  async waitFor(text: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let shown = this.screen();
    while (typeof text === 'string' ? !shown.includes(text) : !text.test(shown)) {
      if (Date.now() > deadline) throw new Error(`waited for "${text}"; the ${this.columns}x${this.rows} pane shows:\n${shown}`);
      await new Promise((r) => setTimeout(r, 50));
      shown = this.screen();
    }
    this.expectFits(shown);
    return shown;
  }
  expectFits(shown: string): void {
    const lines = shown.split('\n');
    expect(lines[0], `the title stays on the first row:\n${shown}`).toMatch(/^lvs-wizard · step \d+ of 13/);
    for (const l of lines) expect(l.trimEnd().length, `wider than ${this.columns}: ${l}`).toBeLessThanOrEqual(this.columns);
  }
  kill(): void {
    spawnSync('tmux', ['-L', this.server.socket, 'kill-session', '-t', this.name]);
  }
}
