/**
 * The errors a Host may throw (DESIGN rule 7). `host` may only import core,
 * so it cannot use bin's UserError/ExternalError; bin maps these instead:
 * `TargetError` and `HostUnreachableError` are the user's kind (exit 2, a
 * message and a hint), `HostCommandError` is an external command's kind.
 * A non-zero exit of a command run through `Host.run` is never an error.
 */

/** A target URI or `--host-of` spec that does not parse: says what was expected. */
export class TargetError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'TargetError';
  }
}

/** The machine could not be reached at all (ssh could not connect or authenticate). */
export class HostUnreachableError extends Error {
  constructor(
    readonly host: string,
    /** What the transport said, verbatim (ssh's own stderr). */
    readonly detail: string,
  ) {
    super(`cannot reach ${host}: ${detail.trim() || 'no message from ssh'}`);
    this.name = 'HostUnreachableError';
  }
}

/** A helper command of the adapter itself (read or write a file) failed for a reason other than "no such file". */
export class HostCommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly host: string,
    readonly stderr: string,
    readonly exitCode: number,
    what: string,
  ) {
    super(`${what} on ${host} failed (exit ${exitCode}): ${stderr.trim() || 'no message'}`);
    this.name = 'HostCommandError';
  }
}
