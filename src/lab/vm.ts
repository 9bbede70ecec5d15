/**
 * Boots the lab image under qemu and keeps it reachable: one VM per lab, many
 * commands through the guest agent. The VM has no network device at all
 * (`-nodefaults`, no `-netdev`): the lab's namespaces live inside it and can
 * never reach the machine's own network.
 *
 * State (pid, sockets, console log) lives in a state dir so a second process
 * can attach to the running VM; each process talks through its own
 * virtio-serial port, taken with a lock file (a qemu socket chardev serves
 * one connection at a time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsc, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AgentClient } from './agent-client.js';
import { LabError } from './errors.js';
import type { LabImage } from './image.js';
import { labStateDir } from './paths.js';
import { pidAlive } from './pid.js';

export type Accel = 'tcg' | 'kvm';

/**
 * KVM only when it can run a stock kernel: `/dev/kvm` usable and the CPU
 * shows VMX or SVM. Our machines' `/dev/kvm` comes from kvm_pvm (nested
 * virtualisation without VMX), which needs a PVM-built guest kernel: Debian's
 * hangs silently there (lab-probe.md, problem 1), so that case is TCG.
 */
export function detectAccel(env: NodeJS.ProcessEnv = process.env): { accel: Accel; reason: string } {
  const forced = env.LVS_LAB_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return { accel: forced, reason: `LVS_LAB_ACCEL=${forced}` };
  try {
    accessSync('/dev/kvm', fsc.R_OK | fsc.W_OK);
  } catch {
    return { accel: 'tcg', reason: 'no usable /dev/kvm' };
  }
  if (existsSync('/sys/module/kvm_pvm')) return { accel: 'tcg', reason: '/dev/kvm is kvm_pvm, which cannot run a stock kernel' };
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  if (!/\b(vmx|svm)\b/.test(flags)) return { accel: 'tcg', reason: 'the CPU has no vmx/svm flag' };
  return { accel: 'kvm', reason: '/dev/kvm with vmx/svm' };
}

export interface VmOptions {
  image: LabImage;
  stateDir?: string;
  /** Guest RAM; 768 MiB leaves room for a dozen nodes with keepalived and nginx. */
  memoryMb?: number;
  cpus?: number;
  accel?: Accel | 'auto';
  /** A VM whose agent has not answered by then is killed and reported with its console. */
  readyTimeoutMs?: number;
  /** virtio-serial ports, i.e. how many processes can talk to the VM at once. */
  agentPorts?: number;
  qemu?: string;
}

/** What state.json records: enough for another process to reach and stop the VM. */
export interface VmState {
  version: 1;
  pid: number;
  accel: Accel;
  memoryMb: number;
  imageDir: string;
  release: string;
  sockets: string[];
  console: string;
  startedAt: string;
  /** From the qemu exec to the agent's first answer. */
  readyMs: number;
}

const STATE_FILE = 'state.json';

function isQemu(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qemu-system');
  } catch {
    return false;
  }
}

/** The last lines of the guest's serial console, for error reports. */
export function consoleTail(stateDir: string, lines = 25): string {
  let text = '';
  try {
    text = readFileSync(join(stateDir, 'console.log'), 'utf8');
  } catch {
    return '(no console output)';
  }
  const all = text.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '');
  return all.length ? all.slice(-lines).join('\n') : '(no console output)';
}

/** The running VM recorded in stateDir, or undefined (a stale record is removed). */
export function readVmState(stateDir: string = labStateDir()): VmState | undefined {
  let state: VmState;
  try {
    state = JSON.parse(readFileSync(join(stateDir, STATE_FILE), 'utf8')) as VmState;
  } catch {
    return undefined;
  }
  if (state.version === 1 && pidAlive(state.pid) && isQemu(state.pid)) return state;
  return undefined;
}

/**
 * Take a free agent port: a lock file per port holding the owner's pid. A
 * lock whose owner died is taken over, so a crashed `lvs-lab exec` does not
 * eat a port for good.
 */
function acquirePort(stateDir: string, count: number): { index: number; release: () => void } {
  for (let attempt = 0; attempt < 2; attempt++) {
    for (let i = 0; i < count; i++) {
      const lock = join(stateDir, `agent${i}.lock`);
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return {
          index: i,
          release: () => {
            try {
              unlinkSync(lock);
            } catch {
              // the VM's state dir is already gone
            }
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const owner = Number(readFileSync(lock, 'utf8') || '0');
        if (attempt === 0 && (!owner || !pidAlive(owner))) unlinkSync(lock);
      }
    }
  }
  throw new LabError(`all ${count} agent ports of the lab VM are in use`, 'close another lvs-lab process, or start the VM with more agentPorts');
}

export class Vm {
  private client: AgentClient | undefined;
  private connecting: Promise<AgentClient> | undefined;
  private releasePort: (() => void) | undefined;

  constructor(
    readonly stateDir: string,
    readonly state: VmState,
    private readonly child?: ChildProcess,
  ) {}

  /** This process's connection to the agent (opened on first use, then shared). */
  agent(): Promise<AgentClient> {
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const port = acquirePort(this.stateDir, this.state.sockets.length);
      try {
        // 30 s: under TCG on a busy machine (two cores, another VM) the agent can take over 10 s to accept.
        const c = await AgentClient.connect(this.state.sockets[port.index]!, 30_000);
        this.client = c;
        this.releasePort = port.release;
        return c;
      } catch (e) {
        port.release();
        throw e;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /** @internal used by startVm to hand over the connection that proved readiness. */
  adopt(client: AgentClient, release: () => void): void {
    this.client = client;
    this.releasePort = release;
  }

  /** Leave the VM running (for another process), closing this process's connection. */
  async detach(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
    this.releasePort?.();
    this.releasePort = undefined;
  }

  get running(): boolean {
    return pidAlive(this.state.pid) && isQemu(this.state.pid);
  }

  /** Stop qemu (SIGTERM, then SIGKILL after 5 s) and remove the state dir: nothing is left behind. */
  async stop(): Promise<void> {
    await this.detach();
    await killQemu(this.state.pid, this.child);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

async function killQemu(pid: number, child?: ChildProcess): Promise<void> {
  const exited = child
    ? new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      })
    : undefined;
  const gone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    if (exited) return Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    while (Date.now() < deadline) {
      if (!pidAlive(pid)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return !pidAlive(pid);
  };
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await gone(5000)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await gone(5000);
}

/** Attach to the VM recorded in stateDir, if one runs. */
export function attachVm(stateDir: string = labStateDir()): Vm | undefined {
  const state = readVmState(stateDir);
  return state ? new Vm(stateDir, state) : undefined;
}

function qemuArgv(opts: Required<Pick<VmOptions, 'memoryMb' | 'cpus' | 'agentPorts'>> & { image: LabImage; accel: Accel; stateDir: string }): string[] {
  const { image, accel, stateDir } = opts;
  const argv = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'pc',
    // Cap TCG's translation cache: qemu 7.2 defaults to 1 GiB and the probe saw
    // 1.3 GB RSS; 256 MiB made no measurable difference to speed.
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,tb-size=256', '-cpu', 'max']),
    '-smp',
    String(opts.cpus),
    '-m',
    String(opts.memoryMb),
    '-no-reboot',
    '-kernel',
    image.vmlinux,
    '-initrd',
    image.initrd,
    '-append',
    'console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off',
    '-drive',
    `file=${image.rootfs},if=none,id=root,format=raw,readonly=on`,
    '-device',
    'virtio-blk-pci,drive=root',
    '-device',
    'virtio-serial-pci,id=vser',
    '-chardev',
    `file,id=con,path=${join(stateDir, 'console.log')}`,
    '-serial',
    'chardev:con',
  ];
  // qboot jumps straight to the uncompressed kernel's PVH entry: under TCG that
  // skips SeaBIOS and the in-guest decompression (9.8 s -> 2.6 s to the kernel).
  if (existsSync('/usr/share/qemu/qboot.rom')) argv.push('-bios', '/usr/share/qemu/qboot.rom');
  for (let i = 0; i < opts.agentPorts; i++) {
    argv.push(
      '-chardev',
      `socket,id=ag${i},path=${join(stateDir, `agent${i}.sock`)},server=on,wait=off`,
      '-device',
      `virtserialport,bus=vser.0,chardev=ag${i},name=lvs.agent.${i}`,
    );
  }
  return argv;
}

/**
 * Boot the image and wait for the agent. Refuses when stateDir already has a
 * running VM. On timeout or an early qemu exit, the VM is killed, the state
 * dir removed, and the error carries the console's last lines.
 */
export async function startVm(opts: VmOptions): Promise<Vm> {
  const stateDir = opts.stateDir ?? labStateDir();
  const existing = readVmState(stateDir);
  if (existing) {
    throw new LabError(`a lab VM is already running (qemu pid ${existing.pid}, state in ${stateDir})`, 'use it, or stop it first with `lvs-lab down`');
  }
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const accel = !opts.accel || opts.accel === 'auto' ? detectAccel().accel : opts.accel;
  const memoryMb = opts.memoryMb ?? 768;
  const cpus = opts.cpus ?? 2;
  const agentPorts = opts.agentPorts ?? 4;
  const qemu = opts.qemu ?? 'qemu-system-x86_64';
  const argv = qemuArgv({ image: opts.image, accel, stateDir, memoryMb, cpus, agentPorts });
  const log = openSync(join(stateDir, 'qemu.log'), 'w');
  const t0 = performance.now();
  const child = spawn(qemu, argv, { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  child.unref();
  const sockets = Array.from({ length: agentPorts }, (_, i) => join(stateDir, `agent${i}.sock`));
  const booting: VmState = {
    version: 1,
    pid: child.pid ?? 0,
    accel,
    memoryMb,
    imageDir: opts.image.dir,
    release: opts.image.release,
    sockets,
    console: join(stateDir, 'console.log'),
    startedAt: new Date().toISOString(),
    readyMs: 0,
  };
  // Recorded at once, so a second start while this one boots is refused.
  writeFileSync(join(stateDir, STATE_FILE), `${JSON.stringify(booting, null, 2)}\n`);
  const failure = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(`cannot run ${qemu}: ${e.message} (install qemu-system-x86)`));
    child.once('exit', (code, signal) => resolve(`qemu exited early (${signal ?? `exit ${code}`})`));
  });
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  const port = acquirePort(stateDir, agentPorts);
  let why: string | undefined;
  let client: AgentClient | undefined;
  while (!client && !why) {
    const left = deadline - Date.now();
    if (left <= 0) {
      why = `the lab VM did not become ready within ${Math.round(timeoutMs / 1000)} s`;
      break;
    }
    const attempt = existsSync(sockets[port.index]!)
      ? AgentClient.connect(sockets[port.index]!, left).then(
          (c) => ({ c }),
          (e: Error) => ({ e }),
        )
      : new Promise<{ e: Error }>((r) => setTimeout(() => r({ e: new Error('no socket yet') }), 20));
    const r = await Promise.race([attempt, failure.then((w) => ({ w }))]);
    if ('c' in r) client = r.c;
    else if ('w' in r) why = r.w;
    else if (/did not answer/.test(r.e.message)) why = `the lab VM did not become ready within ${Math.round(timeoutMs / 1000)} s`;
    else if (!/no socket yet|ENOENT|ECONNREFUSED/.test(r.e.message)) why = r.e.message;
  }
  if (!client || why) {
    port.release();
    const qemuLog = existsSync(join(stateDir, 'qemu.log')) ? readFileSync(join(stateDir, 'qemu.log'), 'utf8').trim() : '';
    const detail = `last console lines:\n${consoleTail(stateDir)}${qemuLog ? `\nqemu said:\n${qemuLog}` : ''}`;
    if (child.pid !== undefined) await killQemu(child.pid, child);
    rmSync(stateDir, { recursive: true, force: true });
    throw new LabError(why ?? 'the lab VM did not become ready', 'a slow machine may need a longer readyTimeoutMs; the console lines say how far the boot got', detail);
  }
  const state: VmState = { ...booting, release: client.hello?.release ?? opts.image.release, readyMs: performance.now() - t0 };
  writeFileSync(join(stateDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  const vm = new Vm(stateDir, state, child);
  vm.adopt(client, port.release);
  return vm;
}
