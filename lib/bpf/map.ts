// BPF maps: create, open from a pin or an id, element operations, iteration, batch lookup, info.
import { close as closeFd, errno, Errno, SYS, addressOf, syscall6, type ErrnoName } from "../sys/index.ts";
import { Cmd, MapType, UpdateFlag, OBJ_NAME_LEN } from "./constants.ts";
import { bpf, bpfTry, expectedOrThrow } from "./syscall.ts";
import { possibleCpus } from "./cpus.ts";
import { Attr, FD_ONLY, GET_ID, MAP_BATCH, MAP_CREATE, MAP_ELEM, MAP_INFO, OBJ_GET_INFO_BY_FD } from "./attr.ts";

const ELEM_KEY = Attr.offset(MAP_ELEM, "key"), ELEM_VALUE = Attr.offset(MAP_ELEM, "value"), ELEM_FLAGS = Attr.offset(MAP_ELEM, "flags");
import { objGet, objPin } from "./pin.ts";

export interface MapSpec {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  name?: string;
  innerMapFd?: number;
}

export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}


export class BpfMap {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly name: string;
  /** bytes of a value as user space sees it: per-CPU maps hold one 8-byte-aligned slot per possible CPU */
  readonly valueBufferSize: number;
  // One element-op attr reused by every call: the hot path allocates nothing but the result.
  private readonly elemAttr = new Uint8Array(MAP_ELEM.size);
  private readonly elemView = new DataView(this.elemAttr.buffer);

  private constructor(fd: number, info: Omit<MapInfo, "id" | "flags">) {
    this.fd = fd;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.name = info.name;
    this.valueBufferSize = PER_CPU_TYPES.has(info.type)
      ? Math.ceil(info.valueSize / 8) * 8 * possibleCpus()
      : info.valueSize;
    this.elemView.setUint32(Attr.offset(MAP_ELEM, "map_fd"), fd, true);
  }

  static create(spec: MapSpec): BpfMap {
    const attr = new Attr(MAP_CREATE, {
      map_type: spec.type, key_size: spec.keySize, value_size: spec.valueSize, max_entries: spec.maxEntries,
      map_flags: spec.flags, inner_map_fd: spec.innerMapFd, map_name: spec.name && sanitizeName(spec.name),
    });
    const fd = bpf(Cmd.MAP_CREATE, attr, `map ${spec.name ?? "(unnamed)"}`);
    return new BpfMap(fd, { ...spec, name: spec.name ?? "" });
  }

  /** Adopt an fd (from a pin, an id or a caller) and learn its shape from the kernel. */
  static fromFd(fd: number): BpfMap {
    const info = mapInfoByFd(fd);
    return new BpfMap(fd, info);
  }

  static fromPin(path: string, flags = 0): BpfMap {
    return BpfMap.fromFd(objGet(path, flags));
  }

  static fromId(id: number): BpfMap {
    return BpfMap.fromFd(bpf(Cmd.MAP_GET_FD_BY_ID, new Attr(GET_ID, { id }), `map id ${id}`));
  }

  pin(path: string): void {
    objPin(this.fd, path);
  }

  info(): MapInfo {
    return mapInfoByFd(this.fd);
  }

  close(): void {
    closeFd(this.fd);
  }

  private checkKey(key: Uint8Array) {
    if (key.byteLength !== this.keySize)
      throw new RangeError(`map ${this.name}: key is ${key.byteLength} bytes, map wants ${this.keySize}`);
  }

  /** An element command (lib/bpf/syscall.ts convention): 0, an expected errno by name, or a throw. */
  private elemCall<E extends ErrnoName>(cmd: number, key: Uint8Array | null, value: Uint8Array | null, flags: number, ...expected: E[]): number | E {
    const v = this.elemView;
    v.setBigUint64(ELEM_KEY, key ? addressOf(key) : 0n, true);
    v.setBigUint64(ELEM_VALUE, value ? addressOf(value) : 0n, true);
    v.setBigUint64(ELEM_FLAGS, BigInt(flags), true);
    // the attr is kept in this.elemAttr (hot path: no Struct per call)
    const r = syscall6(SYS.bpf, cmd, addressOf(this.elemAttr), MAP_ELEM.size, 0, 0, 0);
    return r >= 0 ? r : expectedOrThrow(cmd, errno(), `map ${this.name}`, expected);
  }

  /** Value for key, or undefined when absent. `out` (valueSize bytes) avoids an allocation. */
  lookup(key: Uint8Array, out?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const value = out ?? new Uint8Array(this.valueBufferSize);
    return this.elemCall(Cmd.MAP_LOOKUP_ELEM, key, value, 0, "ENOENT") === "ENOENT" ? undefined : value;
  }

  /** Atomically read and remove (queues, stacks, and hash maps on >= 5.14). */
  lookupAndDelete(key: Uint8Array | null, out?: Uint8Array): Uint8Array | undefined {
    if (key) this.checkKey(key);
    const value = out ?? new Uint8Array(this.valueBufferSize);
    return this.elemCall(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, key, value, 0, "ENOENT") === "ENOENT" ? undefined : value;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.updateExpecting(key, value, flags);
  }

  /** update() that answers the errnos named in `expected` (EEXIST with NOEXIST, E2BIG when full) instead of throwing them. */
  updateExpecting<E extends ErrnoName>(key: Uint8Array, value: Uint8Array, flags: number, ...expected: E[]): 0 | E {
    this.checkKey(key);
    if (value.byteLength !== this.valueBufferSize)
      throw new RangeError(`map ${this.name}: value is ${value.byteLength} bytes, map wants ${this.valueBufferSize}`);
    const r = this.elemCall(Cmd.MAP_UPDATE_ELEM, key, value, flags, ...expected);
    return typeof r === "string" ? r : 0;
  }

  /**
   * update() returning 0 or -errno for EEXIST and E2BIG, the two answers its callers (the store)
   * expect; other failures throw. Kept for those callers: new code uses updateExpecting.
   */
  tryUpdate(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): number {
    const r = this.updateExpecting(key, value, flags, "EEXIST", "E2BIG");
    return r === 0 ? 0 : -Errno[r];
  }

  /** true when the key was there. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    return this.elemCall(Cmd.MAP_DELETE_ELEM, key, null, 0, "ENOENT") !== "ENOENT";
  }

  /** The key after `key` (the first key when undefined); undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    const next = new Uint8Array(this.keySize);
    return this.elemCall(Cmd.MAP_GET_NEXT_KEY, key ?? null, next, 0, "ENOENT") === "ENOENT" ? undefined : next;
  }

  *keys(): Generator<Uint8Array> {
    for (let k = this.nextKey(); k; k = this.nextKey(k)) yield k;
  }

  /** Entries by next-key iteration; a key deleted between the two calls is skipped. */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /**
   * BPF_MAP_LOOKUP_BATCH: up to `batchSize` entries per call, all entries overall. Returns undefined
   * where the kernel or map type lacks batch ops (EINVAL/ENOTSUPP), so callers fall back to entries().
   */
  lookupBatch(batchSize = 256): [Uint8Array, Uint8Array][] | undefined {
    const out: [Uint8Array, Uint8Array][] = [];
    const keys = new Uint8Array(this.keySize * batchSize);
    const values = new Uint8Array(this.valueBufferSize * batchSize);
    // The opaque batch token is the size of a key for hash maps, 4 bytes for arrays; keySize >= 4 covers both.
    const inBatch = new Uint8Array(Math.max(8, this.keySize));
    const outBatch = new Uint8Array(Math.max(8, this.keySize));
    let first = true;
    for (;;) {
      const attr = new Attr(MAP_BATCH, { in_batch: first ? null : inBatch, out_batch: outBatch, keys, values, count: batchSize, map_fd: this.fd });
      // EINVAL, ENOTSUPP, EOPNOTSUPP on the first call: no batch ops here
      const r = bpfTry(Cmd.MAP_LOOKUP_BATCH, attr, `map ${this.name}`, "ENOENT", ...(first ? (["EINVAL", "ENOTSUPP", "EOPNOTSUPP"] as const) : []));
      const count = attr.get("count");
      for (let i = 0; i < count; i++)
        out.push([
          keys.slice(i * this.keySize, (i + 1) * this.keySize),
          values.slice(i * this.valueBufferSize, (i + 1) * this.valueBufferSize),
        ]);
      if (r === "ENOENT") return out;
      if (typeof r === "string") return undefined;
      inBatch.set(outBatch);
      first = false;
    }
  }

  /** BPF_MAP_FREEZE: no more writes from user space. */
  freeze(): void {
    bpf(Cmd.MAP_FREEZE, new Attr(FD_ONLY, { fd: this.fd }), `map ${this.name}`);
  }
}

const PER_CPU_TYPES = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);

export { possibleCpus } from "./cpus.ts";

export function mapInfoByFd(fd: number): MapInfo & { btfId: number; mapExtra: bigint } {
  const info = new Attr(MAP_INFO);
  bpf(Cmd.OBJ_GET_INFO_BY_FD, new Attr(OBJ_GET_INFO_BY_FD, { bpf_fd: fd, info_len: info.size, info: info.bytes }), `map fd ${fd}`);
  return {
    type: info.get("type"),
    id: info.get("id"),
    keySize: info.get("key_size"),
    valueSize: info.get("value_size"),
    maxEntries: info.get("max_entries"),
    flags: info.get("map_flags"),
    name: info.get("name"),
    btfId: info.get("btf_id"),
    mapExtra: info.get("map_extra"),
  };
}

/** Object names accept [A-Za-z0-9_.] only; anything else becomes '_'. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, OBJ_NAME_LEN - 1);
}

export { MapType, UpdateFlag };
