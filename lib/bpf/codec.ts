// Typed key/value codecs for map elements: fixed-size little-endian records.
export interface Codec<T> {
  readonly size: number;
  encode(v: T, out?: Uint8Array): Uint8Array;
  decode(b: Uint8Array): T;
}

export const u32: Codec<number> = {
  size: 4,
  encode(v, out = new Uint8Array(4)) {
    new DataView(out.buffer, out.byteOffset).setUint32(0, v >>> 0, true);
    return out;
  },
  decode(b) {
    return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
  },
};

export const u64: Codec<bigint> = {
  size: 8,
  encode(v, out = new Uint8Array(8)) {
    new DataView(out.buffer, out.byteOffset).setBigUint64(0, BigInt.asUintN(64, v), true);
    return out;
  },
  decode(b) {
    return new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
  },
};

/** NUL-padded fixed-width string (container ids, names). */
export function fixedString(size: number): Codec<string> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    size,
    encode(v, out = new Uint8Array(size)) {
      out.fill(0);
      const b = enc.encode(v);
      if (b.byteLength > size) throw new RangeError(`"${v.slice(0, 40)}..." is longer than ${size} bytes`);
      out.set(b);
      return out;
    },
    decode(b) {
      let end = b.indexOf(0);
      if (end < 0) end = b.byteLength;
      return dec.decode(b.subarray(0, end));
    },
  };
}

/** A BpfMap seen through codecs. */
export class TypedMap<K, V> {
  constructor(
    readonly map: {
      lookup(k: Uint8Array, out?: Uint8Array): Uint8Array | undefined;
      update(k: Uint8Array, v: Uint8Array, flags?: number): void;
      delete(k: Uint8Array): boolean;
      keys(): Iterable<Uint8Array>;
    },
    readonly key: Codec<K>,
    readonly value: Codec<V>,
  ) {}
  get(k: K): V | undefined {
    const v = this.map.lookup(this.key.encode(k));
    return v && this.value.decode(v);
  }
  set(k: K, v: V, flags?: number): void {
    this.map.update(this.key.encode(k), this.value.encode(v), flags);
  }
  delete(k: K): boolean {
    return this.map.delete(this.key.encode(k));
  }
  *keys(): Generator<K> {
    for (const k of this.map.keys()) yield this.key.decode(k);
  }
}
