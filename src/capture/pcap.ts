/**
 * Reading and writing capture files, pure (DESIGN rule 6): classic pcap as
 * `tcpdump -w` writes it (both byte orders, micro- and nanosecond stamps) and
 * pcapng as tshark and dumpcap write it by default. Formats from
 * pcap-savefile(5) and the pcapng draft (draft-ietf-opsawg-pcapng).
 */
import type { RawFrame } from './types.js';

/** A capture that is not a pcap: says what is wrong and at which byte of the input. */
export class PcapFormatError extends Error {
  constructor(
    what: string,
    /** Byte offset in the input (the file, or the whole stream so far) where the problem is. */
    readonly offset: number,
    /** The file's name, when there is one. */
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${what} (at byte ${offset})`);
    this.name = 'PcapFormatError';
  }
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
/**
 * libpcap refuses records larger than this unless the snap length is larger
 * (pcap-common.h MAXIMUM_SNAPLEN): a bigger one means a corrupt file, not a big packet.
 */
const MAX_RECORD = 262_144;

interface ClassicHeader {
  littleEndian: boolean;
  nano: boolean;
  snaplen: number;
  linkType: number;
}

function readClassicHeader(bytes: Uint8Array, source?: string): ClassicHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < FILE_HEADER_LEN) {
    throw new PcapFormatError(`the pcap file header needs ${FILE_HEADER_LEN} bytes, only ${bytes.byteLength} are there`, 0, source);
  }
  const le = view.getUint32(0, true);
  const be = view.getUint32(0, false);
  let littleEndian: boolean;
  let nano: boolean;
  if (le === MAGIC_US || le === MAGIC_NS) {
    littleEndian = true;
    nano = le === MAGIC_NS;
  } else if (be === MAGIC_US || be === MAGIC_NS) {
    littleEndian = false;
    nano = be === MAGIC_NS;
  } else {
    throw new PcapFormatError(`not a pcap capture: magic number 0x${be.toString(16).padStart(8, '0')}, expected a1b2c3d4 or a1b23c4d (either byte order) or a pcapng section header`, 0, source);
  }
  const major = view.getUint16(4, littleEndian);
  if (major !== 2) throw new PcapFormatError(`pcap version ${major} is not 2`, 4, source);
  const snaplen = view.getUint32(16, littleEndian);
  // The upper bits of the link-type field carry FCS flags (pcap-savefile(5) "LinkType and additional information").
  const linkType = view.getUint32(20, littleEndian) & 0x0fff_ffff;
  return { littleEndian, nano, snaplen, linkType };
}

/**
 * Incremental reader of a classic pcap stream (`tcpdump -U -w -`): push chunks
 * as they arrive, get the frames that are complete. Bytes of a partial record
 * wait for the next chunk, so a record split across reads is never lost.
 */
export class PcapStreamReader {
  private header: ClassicHeader | undefined;
  private pending: Uint8Array = new Uint8Array(0);
  /** Stream offset of pending[0], for errors that say where. */
  private consumed = 0;

  /** `source` names the stream in errors (a point, a file); `kind` says which it is. */
  constructor(
    private readonly source?: string,
    private readonly kind: 'stream' | 'file' = 'stream',
  ) {}

  /** Frames completed by this chunk, in stream order. Throws PcapFormatError on a stream that is not pcap. */
  push(chunk: Uint8Array): RawFrame[] {
    this.pending = this.pending.byteLength === 0 ? chunk : concat(this.pending, chunk);
    const frames: RawFrame[] = [];
    let at = 0;
    if (!this.header) {
      if (this.pending.byteLength < FILE_HEADER_LEN) return frames;
      if (new DataView(this.pending.buffer, this.pending.byteOffset, 4).getUint32(0, false) === PCAPNG_SHB) {
        throw new PcapFormatError('a pcapng stream: the streaming reader takes classic pcap (tcpdump -w -); read the whole file with readCaptureFile', 0, this.source);
      }
      this.header = readClassicHeader(this.pending, this.source);
      at = FILE_HEADER_LEN;
    }
    const h = this.header;
    const view = new DataView(this.pending.buffer, this.pending.byteOffset, this.pending.byteLength);
    while (this.pending.byteLength - at >= RECORD_HEADER_LEN) {
      const incl = view.getUint32(at + 8, h.littleEndian);
      checkRecordLength(incl, h.snaplen, this.consumed + at, this.source);
      if (this.pending.byteLength - at - RECORD_HEADER_LEN < incl) break;
      frames.push(classicRecord(view, this.pending, at, h));
      at += RECORD_HEADER_LEN + incl;
    }
    this.consumed += at;
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** The stream ended: throws PcapFormatError when it stopped in the middle of the header or of a record. */
  end(): void {
    if (!this.header && this.consumed + this.pending.byteLength > 0) {
      throw new PcapFormatError(`the ${this.kind} ended inside the pcap file header (${this.pending.byteLength} of ${FILE_HEADER_LEN} bytes)`, 0, this.source);
    }
    if (this.pending.byteLength > 0) {
      throw new PcapFormatError(`the ${this.kind} ended in the middle of a record (${this.pending.byteLength} bytes of it ${this.kind === 'file' ? 'are there' : 'arrived'})`, this.consumed, this.source);
    }
  }

  get linkType(): number | undefined {
    return this.header?.linkType;
  }

  get snaplen(): number | undefined {
    return this.header?.snaplen;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function checkRecordLength(incl: number, snaplen: number, offset: number, source?: string): void {
  if (incl > Math.max(snaplen, MAX_RECORD)) {
    throw new PcapFormatError(`record claims ${incl} captured bytes, more than the snap length ${snaplen}: the file is corrupt`, offset, source);
  }
}

function classicRecord(view: DataView, bytes: Uint8Array, at: number, h: ClassicHeader): RawFrame {
  const sec = view.getUint32(at, h.littleEndian);
  const frac = view.getUint32(at + 4, h.littleEndian);
  const incl = view.getUint32(at + 8, h.littleEndian);
  const orig = view.getUint32(at + 12, h.littleEndian);
  const timeUs = sec * 1_000_000 + (h.nano ? Math.round(frac / 1000) : frac);
  return { timeUs, linkType: h.linkType, data: bytes.slice(at + RECORD_HEADER_LEN, at + RECORD_HEADER_LEN + incl), origLen: orig };
}

/**
 * A whole capture file: classic pcap or pcapng, told apart by the magic
 * number. Throws PcapFormatError (with `name` and the byte offset) on anything
 * that is not a complete, well-formed capture, including a last record cut short.
 */
export function readCaptureFile(bytes: Uint8Array, name: string): RawFrame[] {
  if (bytes.byteLength >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false) === PCAPNG_SHB) {
    return readPcapng(bytes, name);
  }
  readClassicHeader(bytes, name);
  const reader = new PcapStreamReader(name, 'file');
  const frames = reader.push(bytes);
  reader.end();
  return frames;
}

interface NgInterface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (if_tsresol). */
  unitsPerSecond: bigint;
  /** Seconds added to every timestamp (if_tsoffset). */
  offsetSeconds: bigint;
}

const NG_IDB = 1;
const NG_OPB = 2;
const NG_SPB = 3;
const NG_EPB = 6;

function readPcapng(bytes: Uint8Array, name: string): RawFrame[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: RawFrame[] = [];
  let le = true;
  let interfaces: NgInterface[] = [];
  let at = 0;
  let lastTimeUs = 0;
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < 12) {
      throw new PcapFormatError(`pcapng block header cut short: ${bytes.byteLength - at} bytes left, a block needs at least 12`, at, name);
    }
    const type = view.getUint32(at, le);
    if (type === PCAPNG_SHB) {
      const bom = view.getUint32(at + 8, true);
      if (bom === PCAPNG_BOM) le = true;
      else if (view.getUint32(at + 8, false) === PCAPNG_BOM) le = false;
      else throw new PcapFormatError(`pcapng section header with an unknown byte-order magic 0x${bom.toString(16)}`, at + 8, name);
      interfaces = [];
    }
    const length = view.getUint32(at + 4, le);
    if (length < 12 || length % 4 !== 0) {
      throw new PcapFormatError(`pcapng block of type ${type} has length ${length}, which is not a multiple of 4 of at least 12`, at + 4, name);
    }
    if (at + length > bytes.byteLength) {
      throw new PcapFormatError(`pcapng block of type ${type} claims ${length} bytes, only ${bytes.byteLength - at} are left: the file is cut short`, at, name);
    }
    const trailer = view.getUint32(at + length - 4, le);
    if (trailer !== length) {
      throw new PcapFormatError(`pcapng block of type ${type} ends with length ${trailer}, its header said ${length}`, at + length - 4, name);
    }
    const body = at + 8;
    const bodyEnd = at + length - 4;
    switch (type) {
      case NG_IDB:
        interfaces.push(readIdb(view, body, bodyEnd, le));
        break;
      case NG_EPB:
      case NG_OPB: {
        const epb = type === NG_EPB;
        const ifId = epb ? view.getUint32(body, le) : view.getUint16(body, le);
        const iface = interfaces[ifId];
        if (!iface) throw new PcapFormatError(`packet block names interface ${ifId}, which no interface description block defined`, body, name);
        const ts = (BigInt(view.getUint32(body + 4, le)) << 32n) | BigInt(view.getUint32(body + 8, le));
        const capLen = view.getUint32(body + 12, le);
        const origLen = view.getUint32(body + 16, le);
        if (body + 20 + capLen > bodyEnd) {
          throw new PcapFormatError(`packet block claims ${capLen} captured bytes, the block holds ${bodyEnd - body - 20}`, body + 12, name);
        }
        lastTimeUs = Number(((ts + iface.offsetSeconds * iface.unitsPerSecond) * 1_000_000n) / iface.unitsPerSecond);
        frames.push({ timeUs: lastTimeUs, linkType: iface.linkType, data: bytes.slice(body + 20, body + 20 + capLen), origLen });
        break;
      }
      case NG_SPB: {
        const iface = interfaces[0];
        if (!iface) throw new PcapFormatError('simple packet block before any interface description block', body, name);
        const origLen = view.getUint32(body, le);
        const capLen = Math.min(origLen, iface.snaplen === 0 ? origLen : iface.snaplen, bodyEnd - body - 4);
        // A simple packet block has no timestamp (pcapng draft §4.4): it takes its predecessor's.
        frames.push({ timeUs: lastTimeUs, linkType: iface.linkType, data: bytes.slice(body + 4, body + 4 + capLen), origLen });
        break;
      }
      default:
        // Name resolution, statistics, decryption secrets, custom blocks: nothing a frame needs.
        break;
    }
    at += length;
  }
  return frames;
}

function readIdb(view: DataView, body: number, end: number, le: boolean): NgInterface {
  const iface: NgInterface = { linkType: view.getUint16(body, le), snaplen: view.getUint32(body + 4, le), unitsPerSecond: 1_000_000n, offsetSeconds: 0n };
  let at = body + 8;
  while (at + 4 <= end) {
    const code = view.getUint16(at, le);
    const len = view.getUint16(at + 2, le);
    if (code === 0) break;
    if (at + 4 + len > end) break;
    if (code === 9 && len >= 1) {
      // if_tsresol: high bit clear = 10^-n seconds, set = 2^-n seconds.
      const v = view.getUint8(at + 4);
      iface.unitsPerSecond = v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    } else if (code === 14 && len >= 8) {
      iface.offsetSeconds = view.getBigInt64(at + 4, le);
    }
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return iface;
}

/** The 24-byte header of a classic pcap file: microsecond stamps, little-endian, the byte order tcpdump on x86 writes. */
export function pcapFileHeader(linkType: number, snaplen: number): Uint8Array {
  const out = new Uint8Array(FILE_HEADER_LEN);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC_US, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, snaplen, true);
  view.setUint32(20, linkType, true);
  return out;
}

/** One record of a classic microsecond pcap (to follow pcapFileHeader). */
export function pcapRecord(frame: RawFrame): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_LEN + frame.data.byteLength);
  const view = new DataView(out.buffer);
  const sec = Math.floor(frame.timeUs / 1_000_000);
  view.setUint32(0, sec, true);
  view.setUint32(4, frame.timeUs - sec * 1_000_000, true);
  view.setUint32(8, frame.data.byteLength, true);
  view.setUint32(12, frame.origLen, true);
  out.set(frame.data, RECORD_HEADER_LEN);
  return out;
}
