/**
 * Host side of the guest agent: one unix-socket connection to one of qemu's
 * virtio-serial ports, many concurrent requests over it. A command costs a
 * frame each way plus the guest's fork/exec — never a VM boot.
 */
import { createConnection, type Socket } from 'node:net';
import { LabError } from './errors.js';
import { encodeFrames, encodeJson, Frame, FrameDecoder, type ExitReport, type HelloReport, type SpawnRequest } from './protocol.js';
import { ChunkQueue, drain, type ProcessHandle, type SpawnOptions, type Spawner } from './spawner.js';

interface Pending {
  stdout: ChunkQueue;
  stderr: ChunkQueue;
  resolve: (r: ExitReport) => void;
  reject: (e: Error) => void;
}

export class AgentClient implements Spawner {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private closed: Error | undefined;
  private helloWaiter: { resolve: (h: HelloReport) => void; reject: (e: Error) => void } | undefined;
  /** What the agent said when the connection opened. */
  hello: HelloReport | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly label: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.onFrame(f.type, f.id, f.payload);
    });
    socket.on('error', (err) => this.fail(new LabError(`lab agent connection ${label}: ${err.message}`)));
    socket.on('close', () => this.fail(new LabError(`lab agent connection ${label} closed`)));
  }

  /**
   * Connect to a port's socket and greet the agent. The greeting resets the
   * port in the guest (what an earlier connection left running is killed),
   * and its answer proves the guest is up: this is the VM's readiness check.
   */
  static async connect(socketPath: string, timeoutMs: number): Promise<AgentClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const client = new AgentClient(socket, socketPath);
    try {
      client.hello = await client.greet(timeoutMs);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return client;
  }

  private greet(timeoutMs: number): Promise<HelloReport> {
    return new Promise<HelloReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabError(`lab agent did not answer on ${this.label} within ${timeoutMs} ms`)), timeoutMs);
      this.helloWaiter = {
        resolve: (h) => {
          clearTimeout(timer);
          resolve(h);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.send(encodeJson(Frame.hello, 0, {}));
    });
  }

  describe(): string {
    return `agent:${this.hello?.port ?? this.label}`;
  }

  get isOpen(): boolean {
    return this.closed === undefined;
  }

  private send(frames: Buffer[]): void {
    if (this.closed) throw this.closed;
    for (const f of frames) this.socket.write(f);
  }

  private onFrame(type: number, id: number, payload: Buffer): void {
    if (type === Frame.hello) {
      this.helloWaiter?.resolve(JSON.parse(payload.toString('utf8')) as HelloReport);
      this.helloWaiter = undefined;
      return;
    }
    const p = this.pending.get(id);
    if (!p) return;
    switch (type) {
      case Frame.stdout:
        p.stdout.push(Buffer.from(payload));
        return;
      case Frame.stderr:
        p.stderr.push(Buffer.from(payload));
        return;
      case Frame.exit:
        this.pending.delete(id);
        p.stdout.end();
        p.stderr.end();
        p.resolve(JSON.parse(payload.toString('utf8')) as ExitReport);
        return;
      default:
        return;
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    this.helloWaiter?.reject(err);
    for (const p of this.pending.values()) {
      p.stdout.end(err);
      p.stderr.end(err);
      p.reject(err);
    }
    this.pending.clear();
  }

  private open(type: typeof Frame.spawn | typeof Frame.read | typeof Frame.write, body: unknown): { id: number; p: Pending; exit: Promise<ExitReport> } {
    if (this.closed) throw this.closed;
    const id = this.nextId++;
    let p!: Pending;
    const exit = new Promise<ExitReport>((resolve, reject) => {
      p = { stdout: new ChunkQueue(), stderr: new ChunkQueue(), resolve, reject };
    });
    // Nobody may await exit (a stream whose owner only kills it): keep a
    // lost connection from becoming an unhandled rejection.
    exit.catch(() => undefined);
    this.pending.set(id, p);
    this.send(encodeJson(type, id, body));
    return { id, p, exit };
  }

  spawn(argv: readonly string[], opts: SpawnOptions = {}): ProcessHandle {
    const req: SpawnRequest = { argv, stdin: opts.stdin ?? false };
    if (opts.env) req.env = opts.env;
    if (opts.cwd) req.cwd = opts.cwd;
    if (opts.timeoutMs) req.timeoutMs = opts.timeoutMs;
    const { id, p, exit } = this.open(Frame.spawn, req);
    return {
      stdout: p.stdout,
      stderr: p.stderr,
      write: (data) => {
        if (data.length) this.send(encodeFrames(Frame.stdin, id, data));
      },
      end: () => this.send(encodeFrames(Frame.stdin, id)),
      kill: (signal = 'SIGTERM') => {
        if (!this.closed && this.pending.has(id)) this.send(encodeJson(Frame.signal, id, { signal }));
      },
      exit,
    };
  }

  /** The file's bytes in the guest's root mount namespace, or undefined when it does not exist. */
  async readFile(path: string): Promise<Buffer | undefined> {
    const { p, exit } = this.open(Frame.read, { path });
    const [data, report] = await Promise.all([drain(p.stdout), exit]);
    if (report.notFound) return undefined;
    if (report.exitCode !== 0) throw new LabError(`lab VM: cannot read ${path}: ${report.error ?? `exit ${report.exitCode}`}`);
    return data;
  }

  /** Atomic write in the guest (temp file in the same directory, then rename); creates parents. */
  async writeFile(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
    const { id, exit } = this.open(Frame.write, { path, mode });
    if (data.length) this.send(encodeFrames(Frame.stdin, id, data));
    this.send(encodeFrames(Frame.stdin, id));
    const report = await exit;
    if (report.exitCode !== 0) throw new LabError(`lab VM: cannot write ${path}: ${report.error ?? `exit ${report.exitCode}`}`);
  }

  /** Close the connection; the agent kills what this connection still had running. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
