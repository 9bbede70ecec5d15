/**
 * The host side of the lvs-lab agent protocol (the guest side is
 * src/lab/guest/agent.py; the numbers must match). A frame is a 9-byte header
 * — type (u8), request id (u32 BE), payload length (u32 BE) — then the
 * payload. Binary-safe by construction: stdin, stdout and stderr travel as raw
 * bytes, only control frames carry JSON.
 */

export const HEADER_BYTES = 9;
/** The agent refuses larger frames; bigger payloads are split. */
export const MAX_PAYLOAD = 1 << 20;

export const Frame = {
  hello: 1,
  spawn: 2,
  stdin: 3,
  signal: 4,
  read: 5,
  write: 6,
  stdout: 16,
  stderr: 17,
  exit: 18,
} as const;
export type FrameType = (typeof Frame)[keyof typeof Frame];

export interface SpawnRequest {
  argv: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  /** The agent kills the process group after this long and reports exit 124. */
  timeoutMs?: number;
  /** False: the command reads /dev/null. */
  stdin: boolean;
}

export interface ExitReport {
  exitCode: number;
  signal?: string;
  timedOut?: boolean;
  /** A read of a file that does not exist. */
  notFound?: boolean;
  /** The agent's own failure (bad request, I/O error on a file). */
  error?: string;
}

export interface HelloReport {
  protocol: number;
  /** `uname -r` of the guest kernel. */
  release: string;
  /** Guest uptime in seconds when the agent answered. */
  uptime: number;
  port: string;
}

/** Encode one frame; payloads over MAX_PAYLOAD are split into several frames. */
export function encodeFrames(type: FrameType, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  do {
    const part = payload.subarray(start, start + MAX_PAYLOAD);
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt8(type, 0);
    header.writeUInt32BE(id, 1);
    header.writeUInt32BE(part.length, 5);
    out.push(header, Buffer.from(part.buffer, part.byteOffset, part.byteLength));
    start += MAX_PAYLOAD;
  } while (start < payload.length);
  return out;
}

export function encodeJson(type: FrameType, id: number, body: unknown): Buffer[] {
  return encodeFrames(type, id, Buffer.from(JSON.stringify(body), 'utf8'));
}

/** Incremental decoder: feed it socket chunks, get whole frames back. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): { type: number; id: number; payload: Buffer }[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: { type: number; id: number; payload: Buffer }[] = [];
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    let off = 0;
    while (buf.length - off >= HEADER_BYTES) {
      const size = buf.readUInt32BE(off + 5);
      if (buf.length - off < HEADER_BYTES + size) break;
      frames.push({
        type: buf.readUInt8(off),
        id: buf.readUInt32BE(off + 1),
        payload: buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + size),
      });
      off += HEADER_BYTES + size;
    }
    buf = buf.subarray(off);
    this.chunks = buf.length ? [buf] : [];
    this.length = buf.length;
    return frames;
  }
}
