/**
 * The lab's one error type. `bin/` (which may import everything) maps it to
 * the user-facing kinds of DESIGN rule 7: `hint` says what to do, `detail`
 * carries the evidence (a build step's stderr, the VM console's last lines).
 */
export class LabError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly detail?: string,
  ) {
    super(detail ? `${message}\n${detail}` : message);
    this.name = 'LabError';
  }
}
