/**
 * Where a lab runs. Native when the running kernel has IPVS (what a user on
 * a normal distribution gets): nodes are namespaces on this machine. qemu
 * otherwise (our own machines: no IPVS, no ipip, no modules): the same nodes
 * inside a small VM. Both give a `Lab` with the same Hosts, so topology code
 * never asks which one it has.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/types.js';
import { LabError } from './errors.js';
import { ensureImage, type LabImage } from './image.js';
import { createNode, destroyNode, listNodes, nodePrefix, removeLayout, VM_LAYOUT, type NodeLayout } from './nodes.js';
import { labStateDir } from './paths.js';
import { LocalSpawner, type Spawner } from './spawner.js';
import { attachVm, startVm, type Vm, type VmOptions } from './vm.js';
import { ExecHost, LabNodeHost, VmHost } from './vm-host.js';

export type BackendKind = 'native' | 'qemu';

export interface BackendChoice {
  kind: BackendKind;
  reason: string;
}

/**
 * `/proc/net/ip_vs` exists, or `modprobe ip_vs` makes it exist: native.
 * Otherwise qemu. `LVS_LAB_BACKEND=native|qemu` overrides (a native machine
 * can still run the qemu lab, e.g. to test the VM path).
 */
export async function detectBackend(env: NodeJS.ProcessEnv = process.env, local: Host = localHost()): Promise<BackendChoice> {
  const forced = env.LVS_LAB_BACKEND;
  if (forced === 'native' || forced === 'qemu') return { kind: forced, reason: `LVS_LAB_BACKEND=${forced}` };
  if (existsSync('/proc/net/ip_vs')) return { kind: 'native', reason: 'the running kernel has IPVS (/proc/net/ip_vs)' };
  const r = await local.run(['modprobe', 'ip_vs'], { timeoutMs: 10_000 });
  if (r.exitCode === 0 && existsSync('/proc/net/ip_vs')) return { kind: 'native', reason: '`modprobe ip_vs` loaded IPVS' };
  const why = r.exitCode === 127 ? 'no modprobe' : (r.stderr.trim().split('\n')[0] ?? `modprobe exit ${r.exitCode}`);
  return { kind: 'qemu', reason: `the running kernel has no IPVS (${why}): using a qemu VM` };
}

function localHost(): Host {
  return new ExecHost(new LocalSpawner(), [], 'local');
}

/** A running lab: its root namespace and its nodes, on either backend. */
export interface Lab {
  readonly kind: BackendKind;
  /** The lab's root namespace: where bridges between nodes live. */
  readonly root: Host;
  readonly stateDir: string;
  /** The VM, for the qemu backend. */
  readonly vm: Vm | undefined;
  createNode(name: string): Promise<LabNodeHost>;
  /** A Host for an existing node (no check that it exists: a command then fails with nsenter's message). */
  node(name: string): LabNodeHost;
  nodes(): Promise<string[]>;
  destroyNode(name: string): Promise<void>;
  /** Leave the lab running for another process. */
  detach(): Promise<void>;
  /** Remove every node, stop the VM, delete the state: nothing is left behind. */
  down(): Promise<void>;
}

class RunningLab implements Lab {
  constructor(
    readonly kind: BackendKind,
    readonly root: Host,
    private readonly spawner: Spawner,
    private readonly layout: NodeLayout,
    readonly stateDir: string,
    readonly vm: Vm | undefined,
  ) {}

  async createNode(name: string): Promise<LabNodeHost> {
    await createNode(this.root, this.layout, name);
    return this.node(name);
  }

  node(name: string): LabNodeHost {
    return new LabNodeHost(this.spawner, name, nodePrefix(this.layout, name));
  }

  nodes(): Promise<string[]> {
    return listNodes(this.root, this.layout);
  }

  destroyNode(name: string): Promise<void> {
    return destroyNode(this.root, this.layout, name);
  }

  async detach(): Promise<void> {
    await this.vm?.detach();
  }

  async down(): Promise<void> {
    if (this.vm) {
      // Everything in the VM dies with it; no need to undo nodes one by one.
      await this.vm.stop();
      return;
    }
    for (const n of await this.nodes()) await this.destroyNode(n);
    await removeLayout(this.root, this.layout);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export interface LabOptions {
  backend?: BackendKind | 'auto';
  stateDir?: string;
  cacheDir?: string;
  onProgress?: (line: string) => void;
  /** Passed to startVm (memory, cpus, accel, readyTimeoutMs). */
  vm?: Omit<VmOptions, 'image' | 'stateDir'>;
  /** For the qemu backend: an image already ensured. */
  image?: LabImage;
}

const NATIVE_FILE = 'native.json';

function nativeLayout(stateDir: string): NodeLayout {
  return { root: join(stateDir, 'nodes-root'), netnsPrefix: 'lvslab-' };
}

/** Start a lab on the chosen backend; refuses when one already runs in stateDir. */
export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  const stateDir = opts.stateDir ?? labStateDir();
  const kind = !opts.backend || opts.backend === 'auto' ? (await detectBackend()).kind : opts.backend;
  if (attachLab({ stateDir })) throw new LabError(`a lab is already running (state in ${stateDir})`, 'use it, or stop it first with `lvs-lab down`');
  switch (kind) {
    case 'qemu': {
      const image = opts.image ?? (await ensureImage({ ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) }));
      const vm = await startVm({ ...(opts.vm ?? {}), image, stateDir });
      const agent = await vm.agent();
      return new RunningLab('qemu', new VmHost(agent), agent, VM_LAYOUT, stateDir, vm);
    }
    case 'native': {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(stateDir, NATIVE_FILE), `${JSON.stringify({ kind: 'native', startedAt: new Date().toISOString() })}\n`);
      const spawner = new LocalSpawner();
      return new RunningLab('native', new ExecHost(spawner, [], 'lab:root'), spawner, nativeLayout(stateDir), stateDir, undefined);
    }
  }
}

/**
 * The lab running in stateDir, for a second process (`lvs-lab exec`). For
 * qemu the agent connection is opened on first use, on a port of its own.
 */
export function attachLab(opts: { stateDir?: string } = {}): Lab | undefined {
  const stateDir = opts.stateDir ?? labStateDir();
  const vm = attachVm(stateDir);
  if (vm) {
    const lazy = new LazyAgent(vm);
    return new RunningLab('qemu', new LazyVmHost(lazy), lazy, VM_LAYOUT, stateDir, vm);
  }
  try {
    JSON.parse(readFileSync(join(stateDir, NATIVE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const spawner = new LocalSpawner();
  return new RunningLab('native', new ExecHost(spawner, [], 'lab:root'), spawner, nativeLayout(stateDir), stateDir, undefined);
}

/** A Spawner that connects to the VM's agent on first use (attach must stay synchronous and cheap). */
class LazyAgent implements Spawner {
  constructor(private readonly vm: Vm) {}

  describe(): string {
    return `lab VM pid ${this.vm.state.pid}`;
  }

  spawn(argv: readonly string[], opts?: Parameters<Spawner['spawn']>[1]): ReturnType<Spawner['spawn']> {
    const started = this.vm.agent().then((a) => a.spawn(argv, opts));
    const stdout = (async function* () {
      yield* (await started).stdout;
    })();
    const stderr = (async function* () {
      yield* (await started).stderr;
    })();
    return {
      stdout: { [Symbol.asyncIterator]: () => stdout },
      stderr: { [Symbol.asyncIterator]: () => stderr },
      write: (d) => void started.then((p) => p.write(d)),
      end: () => void started.then((p) => p.end()),
      kill: (s) => void started.then((p) => p.kill(s)),
      exit: started.then((p) => p.exit),
    };
  }

  async agent() {
    return this.vm.agent();
  }
}

class LazyVmHost extends ExecHost {
  constructor(private readonly lazy: LazyAgent) {
    super(lazy, [], 'lab:vm');
  }

  override async readFile(path: string): Promise<string | undefined> {
    return (await (await this.lazy.agent()).readFile(path))?.toString('utf8');
  }

  override async writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    await (await this.lazy.agent()).writeFile(path, Buffer.from(text, 'utf8'), mode);
  }
}
