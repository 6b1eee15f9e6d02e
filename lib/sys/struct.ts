// Fixed-layout structs for syscalls: a zeroed buffer sized to the kernel's struct, little-endian
// setters/getters, and a keep-alive list for every buffer the struct points into. The list stays
// referenced by the Struct, so a buffer cannot be collected while a call that reads it is running.
import { ptr } from "bun:ffi";

// One encoder and one decoder for every C string: constructing either costs a first call, and Buffer
// (node's, which Bun builds on first use) costs a hook or the shim's pass-through ~0.1 ms more.
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class Struct {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly keep: ArrayBufferView[] = [];
  constructor(size: number) {
    this.bytes = new Uint8Array(size); // zeroed: the kernel rejects non-zero tails for unknown fields
    this.view = new DataView(this.bytes.buffer);
  }
  get size(): number {
    return this.bytes.byteLength;
  }
  u8(off: number, v: number): this {
    this.view.setUint8(off, v);
    return this;
  }
  u16(off: number, v: number): this {
    this.view.setUint16(off, v, true);
    return this;
  }
  u32(off: number, v: number): this {
    this.view.setUint32(off, v >>> 0, true);
    return this;
  }
  i32(off: number, v: number): this {
    this.view.setInt32(off, v, true);
    return this;
  }
  u64(off: number, v: bigint | number): this {
    this.view.setBigUint64(off, BigInt(v), true);
    return this;
  }
  /** Store a pointer to `buf` at `off` and keep `buf` alive as long as this struct. */
  pointer(off: number, buf: ArrayBufferView | null | undefined): this {
    if (!buf || buf.byteLength === 0) {
      this.view.setBigUint64(off, 0n, true);
      return this;
    }
    this.keep.push(buf);
    this.view.setBigUint64(off, BigInt(ptr(buf as Uint8Array)), true);
    return this;
  }
  /** Copy a string (NUL-terminated, truncated to `max - 1` bytes) into an inline char array. */
  cstr(off: number, s: string, max: number): this {
    const enc = utf8Encoder.encode(s);
    this.bytes.set(enc.subarray(0, max - 1), off);
    return this;
  }
  getU32(off: number): number {
    return this.view.getUint32(off, true);
  }
  getI32(off: number): number {
    return this.view.getInt32(off, true);
  }
  getU64(off: number): bigint {
    return this.view.getBigUint64(off, true);
  }
  getU16(off: number): number {
    return this.view.getUint16(off, true);
  }
}

/** Read a NUL-terminated C string out of a fixed buffer. */
export function cString(bytes: Uint8Array, off = 0, max = bytes.byteLength - off): string {
  let end = off;
  const lim = Math.min(bytes.byteLength, off + max);
  while (end < lim && bytes[end] !== 0) end++;
  return utf8Decoder.decode(bytes.subarray(off, end));
}

/** `s` as UTF-8 (what a write(2) of text takes). */
export function utf8Bytes(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** UTF-8 text of `bytes` (a path read back from the kernel, a file's contents). */
export function utf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** Concatenates `chunks` (reads of one file or pipe) into one buffer of `total` bytes. */
export function concatBytes(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.byteLength, 0)): Uint8Array {
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

/** NUL-terminated UTF-8, for a `cstring` argument or a pointer an attr holds: the one way lib/sys makes a C string. */
export function cStringBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3 + 1); // UTF-8 is at most 3 bytes per UTF-16 unit
  const { written } = utf8Encoder.encodeInto(s, out);
  return out.subarray(0, written + 1);
}

/** Address of a buffer's first byte, for attrs that embed pointers; the caller keeps `buf` referenced. */
export function addressOf(buf: ArrayBufferView): bigint {
  return BigInt(ptr(buf as Uint8Array));
}
