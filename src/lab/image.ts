/**
 * The lab VM image: Debian bookworm's own kernel (it ships IPVS, every
 * scheduler and ipip as modules) and a minimal Debian userland, built from
 * Debian packages by scripts/lab-image.sh and cached. The cache key is the
 * kernel package's version plus a hash of everything that goes into the
 * image (the builder, the guest files, the package and module lists), so an
 * unchanged image is reused at once and any change rebuilds.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { labCacheDir, projectRoot } from './paths.js';
import { pidAlive } from './pid.js';

/** Guest userland: the LVS tools, the layer-7 alternatives, and python3 for the agent. */
export const GUEST_PACKAGES = [
  'iproute2',
  'ipvsadm',
  'keepalived',
  'tcpdump',
  'nftables',
  'iptables',
  'busybox-static',
  'kmod',
  'procps',
  'nginx-light',
  'haproxy',
  'python3',
  'curl',
  'conntrack',
  'iputils-ping',
  'iputils-arping',
] as const;

/** Loaded at boot: what every lab touches first (the rest autoloads through modprobe). */
export const LOAD_MODULES = [
  'virtio_console',
  'ip_vs',
  ...['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf'].map((s) => `ip_vs_${s}`),
  'ipip',
  'nf_conntrack',
  'nf_nat',
  'nf_tables',
  'veth',
  'bridge',
  '8021q',
  'dummy',
] as const;

/** Shipped in the image (with their dependencies): the boot set plus what rulesets and tools may ask for. */
export const IMAGE_MODULES = [
  ...LOAD_MODULES,
  'tunnel4',
  'ip_tunnel',
  'ip_vs_ftp',
  ...['ct', 'nat', 'chain_nat', 'masq', 'redir', 'reject', 'reject_inet', 'reject_ipv4', 'reject_ipv6', 'fib', 'fib_inet', 'fib_ipv4', 'fib_ipv6']
    .concat(['compat', 'limit', 'log', 'numgen', 'hash', 'quota'])
    .map((s) => `nft_${s}`),
  'nf_conntrack_netlink',
  'nfnetlink_log',
  'x_tables',
  'ip_tables',
  'ip6_tables',
  'iptable_filter',
  'iptable_nat',
  'iptable_mangle',
  'iptable_raw',
  'ip6table_filter',
  'ip6table_nat',
  'ip6table_mangle',
  ...['mark', 'multiport', 'MASQUERADE', 'conntrack', 'tcpudp', 'state', 'nat', 'addrtype', 'comment', 'REDIRECT', 'CT', 'LOG', 'connmark', 'set'].map(
    (s) => `xt_${s}`,
  ),
  'br_netfilter',
  'macvlan',
  'sch_netem',
  'sch_tbf',
  'af_packet',
  '9p',
  '9pnet_virtio',
] as const;

/** What the boot initramfs loads to reach the root: the disk, its filesystem, and the writable overlay. */
export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'ext4', 'overlay'] as const;

export const DEBIAN_SUITE = 'bookworm';
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export interface KernelPackage {
  /** e.g. linux-image-6.1.0-56-amd64 */
  name: string;
  /** e.g. 6.1.192-2 */
  version: string;
}

export interface LabImage {
  dir: string;
  key: string;
  kernel: KernelPackage;
  /** `uname -r` inside the VM. */
  release: string;
  vmlinux: string;
  initrd: string;
  rootfs: string;
  /** True when the image came from the cache without building. */
  cached: boolean;
  /** Wall time of ensureImage(), build included. */
  elapsedMs: number;
}

export interface ImageOptions {
  cacheDir?: string;
  /** Progress lines of the build ("lab-image: STEP: ..."); default: stderr. */
  onProgress?: (line: string) => void;
  /** Skip the apt lookup (tests, or a pinned kernel). */
  kernel?: KernelPackage;
}

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }));
  });
}

/**
 * The kernel package `linux-image-amd64` points at, and its version, from the
 * host's apt lists (bookworm-security included when the host has it): the
 * image follows Debian's kernel updates by rebuilding when this changes.
 */
export async function resolveKernelPackage(cacheDir: string = labCacheDir()): Promise<KernelPackage> {
  // apt-cache takes about a second; its answer only changes when apt's
  // lists do, so it is remembered against their modification time.
  const stamp = aptListsStamp();
  const memo = join(cacheDir, 'kernel-package.json');
  try {
    const m = JSON.parse(readFileSync(memo, 'utf8')) as KernelPackage & { stamp: string };
    if (stamp && m.stamp === stamp && m.name && m.version) return { name: m.name, version: m.version };
  } catch {
    // no memo yet
  }
  const found = await aptKernelPackage();
  if (stamp) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(memo, `${JSON.stringify({ ...found, stamp })}\n`);
  }
  return found;
}

function aptListsStamp(): string | undefined {
  try {
    const lists = '/var/lib/apt/lists';
    const times = readdirSync(lists).map((f) => statSync(join(lists, f)).mtimeMs);
    return String(Math.max(statSync(lists).mtimeMs, ...times));
  } catch {
    return undefined;
  }
}

async function aptKernelPackage(): Promise<KernelPackage> {
  const hint = 'the qemu lab builds from Debian packages: run `apt-get update` on a Debian bookworm host (or use a kernel with IPVS natively)';
  const deps = await run(['apt-cache', 'depends', 'linux-image-amd64']);
  const name = /Depends:\s*(linux-image-\S+-amd64)/.exec(deps.stdout)?.[1];
  if (deps.code !== 0 || !name) throw new LabError('cannot find the Debian kernel package linux-image-amd64 in apt', hint, deps.stderr.trim());
  const show = await run(['apt-cache', 'show', '--no-all-versions', name]);
  const version = /^Version:\s*(\S+)/m.exec(show.stdout)?.[1];
  if (show.code !== 0 || !version) throw new LabError(`apt knows no version of ${name}`, hint, show.stderr.trim());
  return { name, version };
}

/** The files whose content goes into the image; any change to them changes the key. */
export function imageInputs(): { builder: string; guestDir: string; guestFiles: string[] } {
  const root = projectRoot();
  const guestDir = join(root, 'src', 'lab', 'guest');
  const guestFiles = readdirSync(guestDir)
    .filter((f) => !f.startsWith('.') && f !== '__pycache__')
    .sort();
  return { builder: join(root, 'scripts', 'lab-image.sh'), guestDir, guestFiles };
}

/** Cache key: kernel package + version + a hash of the builder, the guest files and the lists. */
export function imageKey(kernel: KernelPackage): string {
  const { builder, guestDir, guestFiles } = imageInputs();
  const h = createHash('sha256');
  h.update(JSON.stringify({ kernel, GUEST_PACKAGES, LOAD_MODULES, IMAGE_MODULES, BOOT_MODULES, DEBIAN_SUITE, DEBIAN_MIRROR }));
  h.update(readFileSync(builder));
  for (const f of guestFiles) {
    h.update(`\0${f}\0`);
    h.update(readFileSync(join(guestDir, f)));
  }
  return `${kernel.version.replace(/[^A-Za-z0-9.]/g, '_')}-${h.digest('hex').slice(0, 16)}`;
}

function imageAt(dir: string, key: string, kernel: KernelPackage, cached: boolean, elapsedMs: number): LabImage {
  return {
    dir,
    key,
    kernel,
    release: readFileSync(join(dir, 'kernel-release'), 'utf8').trim(),
    vmlinux: join(dir, 'vmlinux'),
    initrd: join(dir, 'initrd.img'),
    rootfs: join(dir, 'rootfs.ext4'),
    cached,
    elapsedMs,
  };
}

/** One build at a time per cache dir; a lock left by a dead process is taken over. */
async function withBuildLock<T>(cacheDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(cacheDir, 'build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = 0;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        owner = 0;
      }
      if (!owner || !pidAlive(owner)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The image for the current kernel package and builder, built when the cache
 * has none. Needs root (debootstrap, chroot) only when it builds.
 */
export async function ensureImage(opts: ImageOptions = {}): Promise<LabImage> {
  const t0 = performance.now();
  const cacheDir = opts.cacheDir ?? labCacheDir();
  const progress = opts.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const kernel = opts.kernel ?? (await resolveKernelPackage(cacheDir));
  const key = imageKey(kernel);
  const dir = join(cacheDir, 'images', key);
  if (existsSync(join(dir, 'kernel-release'))) return imageAt(dir, key, kernel, true, performance.now() - t0);
  if (process.getuid?.() !== 0) {
    throw new LabError('building the lab VM image needs root (debootstrap and chroot)', 'run it once as root, e.g. `sudo lvs-lab up`');
  }
  mkdirSync(join(cacheDir, 'images'), { recursive: true });
  return withBuildLock(cacheDir, async () => {
    if (existsSync(join(dir, 'kernel-release'))) return imageAt(dir, key, kernel, true, performance.now() - t0);
    const { builder, guestDir } = imageInputs();
    const work = join(cacheDir, `build-${key}-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    progress(`lab-image: building ${key} (kernel ${kernel.name} ${kernel.version})`);
    try {
      const stderrTail: string[] = [];
      const code = await new Promise<number>((resolve) => {
        const child = spawn('sh', [builder], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            OUT: dir,
            WORK: work,
            DEBS: join(cacheDir, 'debs'),
            KPKG: kernel.name,
            GUEST: guestDir,
            MODULES: IMAGE_MODULES.join(' '),
            BOOT_MODULES: BOOT_MODULES.join(' '),
            LOAD_MODULES: LOAD_MODULES.join(' '),
            PACKAGES: GUEST_PACKAGES.join(','),
            MIRROR: DEBIAN_MIRROR,
            SUITE: DEBIAN_SUITE,
          },
        });
        const lines = (onLine: (l: string) => void) => {
          let rest = '';
          return (c: Buffer) => {
            const parts = (rest + c.toString()).split('\n');
            rest = parts.pop() ?? '';
            for (const l of parts) onLine(l);
          };
        };
        child.stdout.on(
          'data',
          lines((l) => {
            if (l.startsWith('lab-image:')) progress(l);
          }),
        );
        child.stderr.on(
          'data',
          lines((l) => {
            stderrTail.push(l);
            if (stderrTail.length > 30) stderrTail.shift();
          }),
        );
        child.on('error', () => resolve(127));
        child.on('close', (c) => resolve(c ?? 255));
      });
      if (code !== 0) {
        rmSync(dir, { recursive: true, force: true });
        const failed = stderrTail.map((l) => /^lab-image: step "([^"]+)" failed/.exec(l)?.[1]).find(Boolean);
        throw new LabError(
          `building the lab VM image failed${failed ? ` at step "${failed}"` : ''} (exit ${code})`,
          'the full build is `sh scripts/lab-image.sh` with the environment documented at its top',
          stderrTail.join('\n'),
        );
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // Older images are dead weight (~100 MB each); a VM still running one keeps its open files.
    for (const other of readdirSync(join(cacheDir, 'images'))) {
      if (other !== key) rmSync(join(cacheDir, 'images', other), { recursive: true, force: true });
    }
    const image = imageAt(dir, key, kernel, false, performance.now() - t0);
    progress(`lab-image: ready in ${(image.elapsedMs / 1000).toFixed(1)} s: ${dir}`);
    return image;
  });
}
