/**
 * Why a capture could not start, in words the user can act on. The bin maps
 * every kind to exit 2 ("could not capture", issue 5); the kind lets tests and
 * the text say which of the documented reasons it was.
 */
export type CaptureErrorKind =
  /** No CAP_NET_RAW (not root): the packet socket cannot be opened. */
  | 'permission'
  /** The interface does not exist where the capture runs. */
  | 'no-such-interface'
  /** The interface exists but is down (tcpdump: "That device is not up"). */
  | 'interface-down'
  /** tcpdump (or the cap binding) is not installed where it must run. */
  | 'missing-tool'
  /** A pcap file that cannot be read. */
  | 'bad-file'
  /** Anything else the capture program said; `detail` holds its words. */
  | 'failed';

export class CaptureError extends Error {
  constructor(
    readonly kind: CaptureErrorKind,
    message: string,
    readonly hint?: string,
    /** What the tool printed (stderr), for the error's indented block. */
    readonly detail?: string,
  ) {
    super(message);
  }
}
