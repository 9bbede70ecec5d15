/**
 * The one door to a system (DESIGN rule 2). Every adapter — local, ssh,
 * netns, LXD, LXC, OpenVZ, a lab node, a recorded fixture — implements this
 * and nothing more, so checks, apply and capture never know where they run.
 */

export interface RunOptions {
  /** Bytes or text fed to the command's standard input. */
  input?: string | Uint8Array;
  /** Kill the command after this long; the result then has exitCode 124 and timedOut. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** The command's exit code; 127 when it does not exist; never thrown. */
  exitCode: number;
  timedOut?: boolean;
}

/** A long-running command read as it goes (a remote `tcpdump -w -`). */
export interface StreamHandle {
  stdout: AsyncIterable<Uint8Array>;
  /** Resolves when the command ends, with its collected stderr and exit code. */
  done: Promise<{ stderr: string; exitCode: number }>;
  /** Stop it (SIGTERM by default). */
  kill(signal?: NodeJS.Signals): void;
}

export interface Host {
  /** argv, never a shell string; never throws on a non-zero exit. */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Atomic: a temporary file in the same directory, then rename. Creates parent directories. */
  writeFile(path: string, text: string, mode?: number): Promise<void>;
  stream(argv: readonly string[]): StreamHandle;
  /** Human name: "local", "ssh://root@node1", "lab:dir1". */
  describe(): string;
}
