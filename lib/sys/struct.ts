// Fixed-layout structs for syscalls: a zeroed buffer sized to the kernel's struct, little-endian
// setters/getters, and a keep-alive list for every buffer the struct points into. The list stays
// referenced by the Struct, so a buffer cannot be collected while a call that reads it is running.
import { ptr } from "bun:ffi";

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
    const enc = new TextEncoder().encode(s);
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
  return new TextDecoder().decode(bytes.subarray(off, end));
}

/** NUL-terminated UTF-8 for a `ptr` argument that is not declared `cstring`. */
export function cStringBytes(s: string): Uint8Array {
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.byteLength + 1);
  out.set(enc);
  return out;
}

/** Address of a buffer's first byte, for attrs that embed pointers; the caller keeps `buf` referenced. */
export function addressOf(buf: ArrayBufferView): bigint {
  return BigInt(ptr(buf as Uint8Array));
}
