/**
 * A Host that runs one command at a time. The lab agent stops answering
 * when about six commands are in flight at once (seen with 6 concurrent
 * readFile calls on a lab node; reported to the lab's owner), so lab tests
 * and fixture captures go through this.
 */
import type { Host, RunOptions, RunResult, StreamHandle } from '../../src/host/types.js';

export function serialHost(inner: Host): Host {
  let tail: Promise<unknown> = Promise.resolve();
  const queue = <T>(f: () => Promise<T>): Promise<T> => {
    const next = tail.then(f, f);
    tail = next.catch(() => undefined);
    return next;
  };
  return {
    run: (argv: readonly string[], opts?: RunOptions): Promise<RunResult> => queue(() => inner.run(argv, opts)),
    readFile: (path: string) => queue(() => inner.readFile(path)),
    writeFile: (path: string, text: string, mode?: number) => queue(() => inner.writeFile(path, text, mode)),
    stream: (argv: readonly string[]): StreamHandle => inner.stream(argv),
    describe: () => inner.describe(),
  };
}
