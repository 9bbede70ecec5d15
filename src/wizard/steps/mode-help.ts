/**
 * Step 2's words: each forwarding method in two lines with a small picture of
 * the request and reply paths, and "help me choose" — four questions and a
 * recommendation that says why. Pure text and a pure decision.
 */
import type { Mode } from '../../core/model.js';

export interface ModeText {
  title: string;
  /** Two lines: what it does, and its trade-off. */
  lines: [string, string];
  /** The request (->) and reply (<-) paths, at most 40 columns wide. */
  picture: string[];
}

export const MODE_TEXT: Record<Mode, ModeText> = {
  nat: {
    title: 'NAT (masquerading)',
    lines: [
      'The director rewrites the destination to a real server and the replies back.',
      'Simplest real servers (gateway = director); the director carries both ways.',
    ],
    picture: ['client -> VIP director -> RIP server', 'client <- director <- server (via gw)'],
  },
  dr: {
    title: 'DR (direct routing)',
    lines: [
      'The director changes only the destination MAC; servers hold the VIP on lo.',
      'Fastest, replies bypass the director; servers must share its L2 segment.',
    ],
    picture: ['client -> VIP director -> MAC server', 'client <------------------- server'],
  },
  tun: {
    title: 'TUN (IP-in-IP)',
    lines: [
      'The director wraps each request in IP-in-IP; servers unwrap it on tunl0.',
      'Servers may sit in another network; they need ipip and rp_filter off.',
    ],
    picture: ['client -> VIP director =ipip=> server', 'client <--------------------- server'],
  },
  nginx: {
    title: 'nginx (layer 7)',
    lines: [
      'nginx accepts the connection and opens a new one to a real server.',
      'No kernel tricks, HTTP-aware; every byte passes through the balancer.',
    ],
    picture: ['client -> nginx -> server', 'client <- nginx <- server'],
  },
  haproxy: {
    title: 'HAProxy (layer 7)',
    lines: [
      'HAProxy accepts the connection and opens a new one to a real server.',
      'Rich health checks and stats; every byte passes through the balancer.',
    ],
    picture: ['client -> haproxy -> server', 'client <- haproxy <- server'],
  },
};

export const HELP_QUESTIONS = [
  { id: 'sameL2', text: 'Are the real servers on the director\'s own L2 segment (same switch or bridge, no router between)?' },
  { id: 'viaDirector', text: 'Can the real servers send their replies through the director (make it their default gateway)?' },
  { id: 'otherNetwork', text: 'Are some real servers in another network or site, reached through a router?' },
  { id: 'cloud', text: 'Is this a cloud network that forbids multicast, gratuitous ARP or foreign MACs?' },
] as const;

export type HelpQuestion = (typeof HELP_QUESTIONS)[number]['id'];
export type HelpReplies = Partial<Record<HelpQuestion, boolean>>;

export interface Recommendation {
  mode: Mode;
  why: string;
  /** Extra advice that goes with it (unicast VRRP in a cloud). */
  note?: string;
}

/**
 * The decision, in the order that matters: DR when it can work (fastest),
 * TUN when the servers are elsewhere and cannot route through the director,
 * NAT when they can, and layer 7 when none of the three can deliver replies.
 */
export function recommend(r: HelpReplies): Recommendation {
  const cloudNote = r.cloud ? 'the cloud forbids multicast: the pair uses unicast VRRP' : undefined;
  const withNote = (x: Recommendation): Recommendation => (cloudNote ? { ...x, note: cloudNote } : x);
  if (r.sameL2 && !r.otherNetwork && !r.cloud) {
    return { mode: 'dr', why: 'the servers share the director\'s L2 segment, so DR works and replies skip the director' };
  }
  if (r.otherNetwork && !r.viaDirector && !r.cloud) {
    return { mode: 'tun', why: 'the servers are behind a router and reply directly: only IP-in-IP reaches them without rewriting replies' };
  }
  if (r.viaDirector) {
    return withNote({
      mode: 'nat',
      why: r.cloud
        ? 'a cloud drops DR\'s foreign MACs and often IP-in-IP; replies can route through the director, so NAT works'
        : 'the director can be the servers\' gateway, so NAT works with no change on the servers but a route',
    });
  }
  return withNote({
    mode: 'nginx',
    why: 'DR needs the same L2 segment, TUN needs ipip to pass, NAT needs replies through the director: none holds, so balance at layer 7',
  });
}

/**
 * An answer to "help me choose" that makes a picked mode impossible: the
 * reason to refuse it, or undefined when the mode fits what was answered.
 */
export function refuseMode(mode: Mode, r: HelpReplies): string | undefined {
  if (mode === 'dr' && r.sameL2 === false) {
    return 'DR forwards by MAC address, so it cannot cross a router: you said the real servers are not on the director\'s L2 segment (use TUN or NAT)';
  }
  if (mode === 'dr' && r.otherNetwork === true) {
    return 'DR cannot reach real servers in another network: it forwards by MAC address (use TUN)';
  }
  if (mode === 'dr' && r.cloud === true) {
    return 'DR needs the network to deliver frames for the VIP to a MAC that does not own it; this cloud forbids that (use NAT or layer 7)';
  }
  if (mode === 'nat' && r.viaDirector === false) {
    return 'NAT needs the replies to pass the director to rewrite them back; you said they cannot (use DR or TUN)';
  }
  return undefined;
}
