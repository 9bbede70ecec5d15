/**
 * The hand-off between a capture (which pushes frames when the kernel hands
 * them over) and the tracer (which pulls them at its own pace). Bounded: a
 * flood that outruns decoding must not grow memory without end, so frames
 * beyond `limit` are counted as dropped by us, never silently lost.
 */
import type { RawFrame } from '../types.js';

export class FrameQueue implements AsyncIterable<RawFrame> {
  private items: RawFrame[] = [];
  private head = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private iterating = false;
  /** Frames refused because the queue was full. */
  overflowed = 0;

  constructor(private readonly limit = 200_000) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** False when the frame was refused (queue full or ended). */
  push(frame: RawFrame): boolean {
    if (this.ended) return false;
    if (this.length >= this.limit) {
      this.overflowed++;
      return false;
    }
    this.items.push(frame);
    this.notify();
    return true;
  }

  /** No more frames; with `failure`, the consumer's loop throws it after the frames already queued. */
  end(failure?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.notify();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private take(): RawFrame | undefined {
    if (this.head >= this.items.length) return undefined;
    const f = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as RawFrame;
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return f;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RawFrame> {
    if (this.iterating) throw new Error('FrameQueue has one consumer: frames() was called twice');
    this.iterating = true;
    for (;;) {
      const f = this.take();
      if (f) {
        yield f;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
