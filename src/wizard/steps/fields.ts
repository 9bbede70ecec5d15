/**
 * Which questions each step asks (a pure function of the answers so far:
 * NAT adds the inner network, a pair adds VRRP, OpenVZ adds CTIDs), and which
 * step owns a problem the model reports — so validation shows up at the
 * field that can fix it, not at the end.
 */
import { isL4, PLATFORMS, SCHEDULER_HELP, SCHEDULERS, TIMER_PROFILES, type PlatformType, type Scheduler, type TimerProfile } from '../../core/model.js';
import type { Problem } from '../../core/problems.js';
import { describeProfile, detectionSeconds, failoverSeconds, PROFILES } from '../../core/timers.js';
import { get, isPair, modeOf, rsCount, type AnswerKey, type Answers } from './answers.js';
import { MODE_TEXT } from './mode-help.js';

/** The 13 steps of issue 6, in order. */
export const STEPS = ['layer', 'mode', 'platform', 'service', 'directors', 'real-servers', 'scheduler', 'health', 'review', 'targets', 'plan', 'apply', 'done'] as const;
export type StepName = (typeof STEPS)[number];
export type FormStep = Extract<StepName, 'layer' | 'mode' | 'platform' | 'service' | 'directors' | 'real-servers' | 'scheduler' | 'health'>;
export const FORM_STEPS: readonly FormStep[] = ['layer', 'mode', 'platform', 'service', 'directors', 'real-servers', 'scheduler', 'health'];

/** Steps that are a list of questions (as opposed to review, plan, apply, done). */
export function isFormStep(s: StepName): s is FormStep {
  return (FORM_STEPS as readonly string[]).includes(s);
}

/** What the title line says on each step. */
export const STEP_TITLES: Record<StepName, string> = {
  layer: 'What to balance',
  mode: 'Forwarding method',
  platform: 'Platforms',
  service: 'Service',
  directors: 'Directors',
  'real-servers': 'Real servers',
  scheduler: 'Scheduler and persistence',
  health: 'Health check and timers',
  review: 'Review',
  targets: 'Targets',
  plan: 'Plan',
  apply: 'Apply',
  done: 'Done',
};

/** One question: which answer it sets, and how it is edited (typed text, or Left/Right through options). */
export interface Field {
  key: AnswerKey;
  label: string;
  kind: 'text' | 'choice';
  /** Choice fields: the values Left/Right cycle through. */
  options?: readonly string[];
  /** Lines shown under the form while this field has the focus (per option for a choice). */
  help?: (value: string) => string[];
}

/** The cursor position on the mode step that starts the four questions; never stored as a mode. */
export const HELP_CHOICE = 'help me choose';

const PLATFORM_HELP: Record<PlatformType, string> = {
  host: 'a host or VM: modules, sysctls and files all live on the machine itself',
  lxc: 'LXC container: ip_vs/ipip modules load on the container\'s host, which gets its own setup script',
  lxd: 'LXD container: modules load on the LXD host; the container needs no extra privileges for DR/NAT',
  'openvz-venet': 'OpenVZ venet: layer 3, no MAC (DR cannot reach it); the host routes the VIP, TUN needs the ipip feature',
  'openvz-veth': 'OpenVZ veth: a real Ethernet device with a MAC; modules and features are set on the hardware node',
};

const text = (key: AnswerKey, label: string, help?: string): Field => ({ key, label, kind: 'text', ...(help ? { help: () => [help] } : {}) });
const choice = (key: AnswerKey, label: string, options: readonly string[], help?: (v: string) => string[]): Field => ({
  key,
  label,
  kind: 'choice',
  options,
  ...(help ? { help } : {}),
});
const yesNo = ['no', 'yes'] as const;

/** One profile in a line that fits 80 columns: failover of a pair, and how soon a dead server is out. */
function profileLine(p: TimerProfile, selected: boolean): string {
  const t = PROFILES[p];
  const r = (n: number) => Math.round(n * 100) / 100;
  const f = failoverSeconds(t.advertInt, 100, t.vrrpVersion);
  const d = detectionSeconds(t.check);
  return `${selected ? '>' : ' '} ${`${p}:`.padEnd(13)} failover ~${r(f)} s, dead server out in ${r(d.refused)}-${r(d.silent)} s`;
}

/** The questions of a form step, in order. */
export function fieldsFor(step: FormStep, a: Answers): Field[] {
  const mode = modeOf(a);
  const l4 = isL4(mode);
  switch (step) {
    case 'layer':
      return [
        choice('layer', 'Balance at', ['l4', 'l7'], (v) =>
          v === 'l4'
            ? ['layer 4: LVS (IPVS) in the kernel forwards packets: NAT, DR or TUN']
            : ['layer 7: nginx or HAProxy proxies connections (optionally a keepalived VIP pair in front)'],
        ),
      ];
    case 'mode':
      return [
        choice('mode', 'Method', l4 ? ['nat', 'dr', 'tun', HELP_CHOICE] : ['nginx', 'haproxy'], (v) => {
          if (v === HELP_CHOICE) return ['Enter: four questions about your network, then a recommendation'];
          const t = MODE_TEXT[v as keyof typeof MODE_TEXT];
          return t ? [t.title, ...t.lines, ...t.picture.map((l) => `  ${l}`)] : [];
        }),
      ];
    case 'platform': {
      const f: Field[] = [choice('dPlatform', 'Directors run on', PLATFORMS, (v) => [PLATFORM_HELP[v as PlatformType] ?? ''])];
      if (get(a, 'dPlatform') !== 'host') f.push(text('dHost', "Directors' container host", 'the machine that runs the director containers (a name, e.g. node1)'));
      f.push(choice('rsPlatform', 'Real servers run on', PLATFORMS, (v) => [PLATFORM_HELP[v as PlatformType] ?? '']));
      if (get(a, 'rsPlatform') !== 'host') f.push(text('rsHost', "Servers' container host", 'the machine that runs the real-server containers'));
      return f;
    }
    case 'service': {
      const f: Field[] = [
        text('serviceName', 'Service name', 'a short name: letters, digits, _ . -'),
        text('vip', 'VIP', l4 ? 'the address clients connect to; it floats, no machine owns it' : 'the address clients connect to (a pair floats it)'),
        choice('protocol', 'Protocol', ['tcp', 'udp']),
        text('ports', 'Port(s)', 'one port, or several (80, 443) bundled by a firewall mark'),
      ];
      if (l4) f.push(text('fwmark', 'Firewall mark', 'bundles several ports into one IPVS service (empty for one port)'));
      return f;
    }
    case 'directors': {
      const f: Field[] = [
        choice('pair', 'Two directors (VRRP)', yesNo, (v) =>
          v === 'yes' ? ['two directors with keepalived: the VIP moves to the backup when the master dies'] : ['one director: simplest, no failover'],
        ),
      ];
      const pair = isPair(a);
      const openvz = get(a, 'dPlatform').startsWith('openvz');
      for (const i of pair ? ([0, 1] as const) : ([0] as const)) {
        const who = pair ? (i === 0 ? 'Master' : 'Backup') : 'Director';
        f.push(text(`d.${i}.name`, `${who} name`));
        f.push(text(`d.${i}.iface`, `${who} interface`, 'the interface toward the clients (Ctrl+D: discover this machine\'s)'));
        f.push(text(`d.${i}.address`, `${who} address`, 'its own address with prefix, e.g. 10.0.0.1/24'));
        if (mode === 'nat') {
          f.push(text(`d.${i}.innerIface`, `${who} inner iface`, 'NAT: the interface toward the real servers'));
          f.push(text(`d.${i}.innerAddress`, `${who} inner address`, 'NAT: its address on the real servers\' network'));
        }
        if (pair) f.push(text(`d.${i}.priority`, `${who} priority`, 'VRRP priority 1..255; the master\'s must be higher'));
        if (openvz) f.push(text(`d.${i}.ctid`, `${who} CTID`, 'the OpenVZ container id'));
      }
      if (pair) {
        f.push(text('vrid', 'VRID', 'virtual_router_id 1..255, unique on the segment'));
        f.push(
          choice('transport', 'VRRP transport', ['unicast', 'multicast'], (v) =>
            v === 'unicast' ? ['unicast: adverts go to the peer\'s address; works in clouds and on venet'] : ['multicast: 224.0.0.18; needs a network that passes it'],
          ),
        );
        f.push(text('authPass', 'VRRP password', 'optional, at most 8 characters (VRRP v2 only)'));
        if (mode === 'nat') f.push(text('natRouter', 'Floating gateway', 'NAT pair: the real servers\' gateway that moves with the VIP, e.g. 10.0.1.254/24'));
      }
      return f;
    }
    case 'real-servers': {
      const f: Field[] = [choice('rsCount', 'How many', Array.from({ length: 16 }, (_, i) => String(i + 1)), () => ['Ctrl+D: discover containers on this machine (LXD, LXC, OpenVZ)'])];
      const openvz = get(a, 'rsPlatform').startsWith('openvz');
      for (let i = 0; i < rsCount(a); i++) {
        f.push(text(`rs.${i}.name`, `#${i + 1} name`));
        f.push(text(`rs.${i}.address`, `#${i + 1} address`, mode === 'dr' ? 'DR: on the director\'s subnet' : 'the real server\'s own address (RIP)'));
        f.push(text(`rs.${i}.weight`, `#${i + 1} weight`, '0..65535; 0 takes no new connections'));
        if (mode === 'nat' || !l4) f.push(text(`rs.${i}.port`, `#${i + 1} port`, 'empty: the service port'));
        if (openvz) f.push(text(`rs.${i}.ctid`, `#${i + 1} CTID`, 'the OpenVZ container id'));
        if (get(a, 'rsPlatform') !== 'host') f.push(text(`rs.${i}.host`, `#${i + 1} own host`, 'its container host when not the common one; empty: the common one'));
      }
      return f;
    }
    case 'scheduler': {
      const options: readonly Scheduler[] = l4 ? SCHEDULERS : ['rr', 'wrr', 'lc', 'wlc', 'sh'];
      const f: Field[] = [choice('scheduler', 'Scheduler', options, (v) => [SCHEDULER_HELP[v as Scheduler] ?? ''])];
      if (l4) f.push(text('persistence', 'Persistence (s)', 'keep a client on one server for this many seconds; empty: none'));
      return f;
    }
    case 'health': {
      const f: Field[] = [
        choice('check', 'Health check', get(a, 'check') === 'imported' ? ['tcp', 'http', 'none', 'imported'] : ['tcp', 'http', 'none'], (v) =>
          v === 'tcp'
            ? ['connect to the port; a refused or silent server is taken out']
            : v === 'http'
              ? ['GET the path and expect status 200']
              : v === 'none'
                ? ['no check: a dead server keeps getting connections']
                : ['the check of the imported config, unchanged'],
        ),
      ];
      if (get(a, 'check') === 'http') f.push(text('checkPath', 'HTTP path', 'starts with /'));
      f.push(choice('timerProfile', 'Timer profile', TIMER_PROFILES, (v) => [describeProfile(v as TimerProfile).split(':')[0]!, ...TIMER_PROFILES.map((p) => profileLine(p, p === v))]));
      return f;
    }
  }
}

/**
 * A model path -> the answer that sets it ("services[0].realServers[1].address"
 * -> "rs.1.address"); undefined when no single field does.
 */
export function fieldOfPath(path: string): AnswerKey | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^directors\[(\d)\]\.interfaces\[(\d+)\]\.(name|address)/.exec(path))) {
    const inner = m[2] !== '0';
    const f = m[3] === 'name' ? (inner ? 'innerIface' : 'iface') : inner ? 'innerAddress' : 'address';
    return `d.${Number(m[1]) as 0 | 1}.${f}`;
  }
  if ((m = /^directors\[(\d)\]\.interfaces$/.exec(path))) return `d.${Number(m[1]) as 0 | 1}.address`;
  if ((m = /^directors\[(\d)\]\.(name|priority)/.exec(path))) return `d.${Number(m[1]) as 0 | 1}.${m[2] as 'name' | 'priority'}`;
  if ((m = /^directors\[(\d)\]\.platform\.ctid/.exec(path))) return `d.${Number(m[1]) as 0 | 1}.ctid`;
  if ((m = /^directors\[(\d)\]\.platform\.host/.exec(path))) return 'dHost';
  if (/^directors\[(\d)\]\.platform/.test(path)) return 'dPlatform';
  if ((m = /^services\[0\]\.realServers\[(\d+)\]\.(name|address|weight|port)/.exec(path))) return `rs.${Number(m[1])}.${m[2] as 'name' | 'address' | 'weight' | 'port'}`;
  if ((m = /^services\[0\]\.realServers\[(\d+)\]\.platform\.ctid/.exec(path))) return `rs.${Number(m[1])}.ctid`;
  if ((m = /^services\[0\]\.realServers\[(\d+)\]\.gateway/.exec(path))) return `rs.${Number(m[1])}.address`;
  if (/^services\[0\]\.realServers\[(\d+)\]\.platform\.host/.test(path)) return 'rsHost';
  if (/^services\[0\]\.realServers\[(\d+)\]\.platform/.test(path)) return 'rsPlatform';
  if ((m = /^services\[0\]\.realServers\[(\d+)\]$/.exec(path))) return `rs.${Number(m[1])}.address`;
  if (/^services\[0\]\.realServers$/.test(path)) return 'rsCount';
  const direct: Array<[RegExp, AnswerKey]> = [
    [/^services\[0\]\.name/, 'serviceName'],
    [/^services\[0\]\.vip/, 'vip'],
    [/^services\[0\]\.protocol/, 'protocol'],
    [/^services\[0\]\.ports/, 'ports'],
    [/^services\[0\]\.fwmark/, 'fwmark'],
    [/^services\[0\]\.mode/, 'mode'],
    [/^services\[0\]\.scheduler/, 'scheduler'],
    [/^services\[0\]\.persistence/, 'persistence'],
    [/^services\[0\]\.healthCheck\.path/, 'checkPath'],
    [/^services\[0\]\.(healthCheck|checkTimers)/, 'check'],
    [/^timerProfile/, 'timerProfile'],
    [/^vrrp\.instances\[\d+\]\.vrid/, 'vrid'],
    [/^vrrp\.instances\[\d+\]\.interface/, 'd.0.iface'],
    [/^vrrp\.transport/, 'transport'],
    [/^vrrp\.auth/, 'authPass'],
    [/^vrrp\.advertInt/, 'timerProfile'],
    [/^vrrp$/, 'pair'],
    [/^natRouter/, 'natRouter'],
    [/^containerHosts/, 'dHost'],
    [/^directors$/, 'pair'],
  ];
  return direct.find(([re]) => re.test(path))?.[1];
}

/** Which form step asks for an answer. */
export function stepOfField(key: AnswerKey): FormStep {
  if (key === 'layer') return 'layer';
  if (key === 'mode') return 'mode';
  if (key === 'dPlatform' || key === 'dHost' || key === 'rsPlatform' || key === 'rsHost') return 'platform';
  if (key === 'serviceName' || key === 'vip' || key === 'protocol' || key === 'ports' || key === 'fwmark') return 'service';
  if (key === 'pair' || key.startsWith('d.') || key === 'vrid' || key === 'transport' || key === 'authPass' || key === 'natRouter') return 'directors';
  if (key.startsWith('rs.') || key === 'rsCount') return 'real-servers';
  if (key === 'scheduler' || key === 'persistence') return 'scheduler';
  return 'health';
}

/** The step that owns a problem; problems no field sets belong to the review. */
export function stepOfProblem(p: Problem): StepName {
  const f = fieldOfPath(p.path);
  return f ? stepOfField(f) : 'review';
}
