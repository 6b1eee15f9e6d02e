// Just enough BTF to find struct member offsets in the running kernel (/sys/kernel/btf/vmlinux),
// so programs can read task_struct fields without CO-RE relocations. A hook pays for this on every
// container start, so records are indexed (type id -> where the record starts) only as far as a
// question needs, names are compared as bytes in the string section, and nothing is decoded or
// built for types nobody asks about.
import { readFile } from "../sys/file.ts";

export const BtfKind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

export class BtfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BtfError";
  }
}

/** Where a member lives inside the struct a path starts from. */
export interface BtfMember {
  /** type id of the member (before resolving typedefs and modifiers) */
  typeId: number;
  bitOffset: number;
  /** 0 unless the member is a bitfield */
  bitfieldSize: number;
}

const MAGIC = 0xeb9f;
const HEADER_LEN = 24;
const KIND_NAMES = Object.fromEntries(Object.entries(BtfKind).map(([k, v]) => [v, k])) as Record<number, string>;
const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Words a record carries after its 3-word header: FIXED_WORDS[kind] + VLEN_WORDS[kind] * vlen.
// FIXED_WORDS is -1 for kinds this reader does not know (and so cannot skip).
const FIXED_WORDS = new Int8Array(32).fill(-1);
const VLEN_WORDS = new Uint8Array(32);
for (const [kind, fixed, perVlen] of [
  [BtfKind.INT, 1, 0], [BtfKind.PTR, 0, 0], [BtfKind.ARRAY, 3, 0], [BtfKind.STRUCT, 0, 3], [BtfKind.UNION, 0, 3],
  [BtfKind.ENUM, 0, 2], [BtfKind.FWD, 0, 0], [BtfKind.TYPEDEF, 0, 0], [BtfKind.VOLATILE, 0, 0], [BtfKind.CONST, 0, 0],
  [BtfKind.RESTRICT, 0, 0], [BtfKind.FUNC, 0, 0], [BtfKind.FUNC_PROTO, 0, 2], [BtfKind.VAR, 1, 0],
  [BtfKind.DATASEC, 0, 3], [BtfKind.FLOAT, 0, 0], [BtfKind.DECL_TAG, 1, 0], [BtfKind.TYPE_TAG, 0, 0], [BtfKind.ENUM64, 0, 3],
] as const) {
  FIXED_WORDS[kind] = fixed;
  VLEN_WORDS[kind] = perVlen;
}

export class Btf {
  /** the type section as native-endian words (BTF is written in the byte order of its kernel) */
  private readonly words: Uint32Array;
  private readonly strings: Uint8Array;
  /** word index of each type record in `words`, by type id, for ids below `indexed` (0 is void) */
  private readonly recordAt: Uint32Array;
  private indexed = 1;
  /** where the record of type id `indexed` starts */
  private scanPos = 0;
  private readonly found = new Map<string, number>();

  constructor(data: Uint8Array, readonly source = "BTF") {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < HEADER_LEN) throw new BtfError(`${source}: not BTF (${data.byteLength} bytes)`);
    const magic = dv.getUint16(0, hostLittleEndian);
    if (magic !== MAGIC) {
      throw new BtfError(
        magic === 0x9feb ? `${source}: BTF of the other byte order` : `${source}: not BTF (magic 0x${magic.toString(16)})`,
      );
    }
    const u32 = (at: number) => dv.getUint32(at, hostLittleEndian);
    const hdrLen = u32(4);
    const typeStart = hdrLen + u32(8), typeLen = u32(12);
    const strStart = hdrLen + u32(16), strLen = u32(20);
    if (typeStart + typeLen > data.byteLength || strStart + strLen > data.byteLength || typeLen % 4)
      throw new BtfError(`${source}: sections run past the end of ${data.byteLength} bytes`);
    const absolute = data.byteOffset + typeStart;
    this.words = absolute % 4 === 0
      ? new Uint32Array(data.buffer, absolute, typeLen / 4)
      : new Uint32Array(data.slice(typeStart, typeStart + typeLen).buffer);
    this.strings = data.subarray(strStart, strStart + strLen);
    // every record is at least 3 words, which bounds the number of ids
    this.recordAt = new Uint32Array(Math.floor(this.words.length / 3) + 1);
  }

  /**
   * Index records up to and including `id`; false if there is no such type. Records are indexed in
   * order only as far as a question needs: the structs hookshim asks about (task_struct is #114 on
   * 6.18) come early, and a hook should not pay for 100k types it never looks at.
   */
  private reach(id: number): boolean {
    const w = this.words, at = this.recordAt;
    while (this.indexed <= id) {
      const p = this.scanPos;
      if (p >= w.length) return false;
      if (p + 3 > w.length) throw new BtfError(`${this.source}: type ${this.indexed} runs past the end of the type section`);
      const info = w[p + 1]!;
      const kind = (info >>> 24) & 0x1f;
      const fixed = FIXED_WORDS[kind]!;
      if (fixed < 0) throw new BtfError(`${this.source}: type ${this.indexed} has unknown kind ${kind}`);
      at[this.indexed++] = p;
      this.scanPos = p + 3 + fixed + VLEN_WORDS[kind]! * (info & 0xffff);
      if (this.scanPos > w.length) throw new BtfError(`${this.source}: type ${this.indexed - 1} runs past the end of the type section`);
    }
    return true;
  }

  /** Number of type ids, void included (indexes every record). */
  get count(): number {
    this.reach(Number.MAX_SAFE_INTEGER);
    return this.indexed;
  }

  static loadKernel(path = "/sys/kernel/btf/vmlinux"): Btf {
    let data: Uint8Array;
    try {
      data = readFile(path, 256 * 1024 * 1024);
    } catch (e) {
      throw new BtfError(`${path}: ${(e as { code?: string }).code ?? e} (kernel without CONFIG_DEBUG_INFO_BTF?)`);
    }
    return new Btf(data, path);
  }

  private record(id: number): number {
    if (!Number.isInteger(id) || id < 1 || !this.reach(id)) throw new BtfError(`${this.source}: no type id ${id}`);
    return this.recordAt[id]!;
  }

  kind(id: number): BtfKind {
    return ((this.words[this.record(id) + 1]! >>> 24) & 0x1f) as BtfKind;
  }

  private vlen(id: number): number {
    return this.words[this.record(id) + 1]! & 0xffff;
  }

  private kindFlag(id: number): boolean {
    return this.words[this.record(id) + 1]! >>> 31 === 1;
  }

  /** size for INT, ENUM, STRUCT, UNION, FLOAT, DATASEC; the referenced type for PTR, TYPEDEF and modifiers */
  private sizeOrType(id: number): number {
    return this.words[this.record(id) + 2]!;
  }

  private str(off: number): string {
    const end = this.strings.indexOf(0, off);
    return decoder.decode(this.strings.subarray(off, end < 0 ? this.strings.length : end));
  }

  private strEquals(off: number, name: Uint8Array): boolean {
    const s = this.strings;
    if (s[off + name.length] !== 0) return false;
    for (let i = 0; i < name.length; i++) if (s[off + i] !== name[i]) return false;
    return true;
  }

  /** The type's name; "" for anonymous types. */
  name(id: number): string {
    return this.str(this.words[this.record(id)]!);
  }

  private describe(id: number): string {
    return `${KIND_NAMES[this.kind(id)]?.toLowerCase() ?? "type"} ${this.name(id) || `#${id}`}`;
  }

  /** The id of the first type with this name (and kind, if given). */
  findTypeId(name: string, kind?: BtfKind): number {
    const id = this.lookup(name, kind);
    if (id === undefined) {
      throw new BtfError(`${this.source}: no ${kind === undefined ? "type" : KIND_NAMES[kind]!.toLowerCase()} named ${name}`);
    }
    return id;
  }

  private lookup(name: string, kind?: BtfKind): number | undefined {
    const key = `${kind ?? ""}:${name}`;
    const cached = this.found.get(key);
    if (cached !== undefined) return cached;
    const bytes = encoder.encode(name);
    const w = this.words, at = this.recordAt;
    let id: number | undefined;
    // a struct or union without members may be a stand-in: keep looking for the definition
    let empty: number | undefined;
    for (let i = 1; id === undefined && this.reach(i); i++) {
      const p = at[i]!, info = w[p + 1]!, k = (info >>> 24) & 0x1f;
      if (w[p] === 0 || (kind !== undefined && k !== kind) || !this.strEquals(w[p]!, bytes)) continue;
      if ((k === BtfKind.STRUCT || k === BtfKind.UNION) && (info & 0xffff) === 0) empty ??= i;
      else id = i;
    }
    id ??= empty;
    if (id !== undefined) this.found.set(key, id);
    return id;
  }

  /** Follow typedefs and const/volatile/restrict/type_tag to the type underneath. */
  resolve(id: number): number {
    for (let hops = 0; hops < 64; hops++) {
      switch (this.kind(id)) {
        case BtfKind.TYPEDEF: case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: case BtfKind.TYPE_TAG:
          id = this.sizeOrType(id);
          if (id === 0) return 0;
          break;
        default:
          return id;
      }
    }
    throw new BtfError(`${this.source}: typedef chain too long at type ${id}`);
  }

  /** The struct (or, failing that, union) with this name. */
  private aggregate(name: string): number {
    const id = this.lookup(name, BtfKind.STRUCT) ?? this.lookup(name, BtfKind.UNION);
    if (id === undefined) throw new BtfError(`${this.source}: no struct or union named ${name}`);
    return id;
  }

  /** A named member of a struct or union, looking through anonymous struct and union members. */
  private findMember(id: number, name: Uint8Array): BtfMember | undefined {
    const w = this.words;
    const flag = this.kindFlag(id);
    for (let i = 0, p = this.record(id) + 3, n = this.vlen(id); i < n; i++, p += 3) {
      const nameOff = w[p]!, typeId = w[p + 1]!, off = w[p + 2]!;
      const bitOffset = flag ? off & 0xffffff : off;
      const bitfieldSize = flag ? off >>> 24 : 0;
      if (nameOff === 0) {
        const inner = this.resolve(typeId);
        const k = inner && this.kind(inner);
        if (k !== BtfKind.STRUCT && k !== BtfKind.UNION) continue;
        const m = this.findMember(inner, name);
        if (m) return { ...m, bitOffset: bitOffset + m.bitOffset };
      } else if (this.strEquals(nameOff, name)) {
        const legacy = flag ? undefined : this.intBitfield(typeId);
        if (legacy) return { typeId, bitOffset: bitOffset + legacy.offset, bitfieldSize: legacy.bits };
        return { typeId, bitOffset, bitfieldSize };
      }
    }
    return undefined;
  }

  /** BTF without kind_flag writes a bitfield as a member whose INT type is narrower than its size. */
  private intBitfield(typeId: number): { bits: number; offset: number } | undefined {
    const id = this.resolve(typeId);
    if (!id || this.kind(id) !== BtfKind.INT) return undefined;
    const encoding = this.words[this.record(id) + 3]!;
    const bits = encoding & 0xff, offset = (encoding >>> 16) & 0xff;
    return bits === this.sizeOrType(id) * 8 && offset === 0 ? undefined : { bits, offset };
  }

  /**
   * Where `path` lives in `structName`: a member ("exit_code"), one inside an anonymous struct or
   * union member (found by its own name), or a dotted path through embedded structs ("ns.inum" in
   * pid_namespace). A path cannot cross a pointer ("signal.pids" in task_struct): read the pointer,
   * then ask about the struct it points to.
   */
  member(structName: string, path: string): BtfMember {
    let id = this.aggregate(structName);
    let bits = 0;
    let walked = structName;
    let last: BtfMember | undefined;
    for (const part of path.split(".")) {
      if (last) {
        id = this.resolve(last.typeId);
        const k = id && this.kind(id);
        if (k === BtfKind.PTR) {
          const to = this.resolve(this.sizeOrType(id));
          throw new BtfError(
            `${this.source}: ${walked} is a pointer${to ? ` to ${this.describe(to)}` : ""}: read it, then look up "${part}" there`,
          );
        }
        if (k !== BtfKind.STRUCT && k !== BtfKind.UNION)
          throw new BtfError(`${this.source}: ${walked} is ${id ? `a ${this.describe(last.typeId)}` : "void"}, not a struct or union`);
      }
      const m = this.findMember(id, encoder.encode(part));
      if (!m) throw new BtfError(`${this.source}: ${walked} (${this.describe(id)}) has no member ${part}`);
      walked += `.${part}`;
      bits += m.bitOffset;
      last = m;
    }
    return { typeId: last!.typeId, bitOffset: bits, bitfieldSize: last!.bitfieldSize };
  }

  /** Byte offset of `structName.path`; a bitfield that is not whole bytes has none. */
  memberOffset(structName: string, path: string): number {
    const m = this.member(structName, path);
    if (m.bitOffset % 8 || m.bitfieldSize % 8) {
      throw new BtfError(
        `${this.source}: ${structName}.${path} is a ${m.bitfieldSize}-bit bitfield at bit ${m.bitOffset}, not byte-addressable`,
      );
    }
    return m.bitOffset / 8;
  }

  /** Byte size of a member (of the whole array, for arrays). */
  memberSize(structName: string, path: string): number {
    const m = this.member(structName, path);
    if (m.bitfieldSize) {
      if (m.bitfieldSize % 8) throw new BtfError(`${this.source}: ${structName}.${path} is a ${m.bitfieldSize}-bit bitfield`);
      return m.bitfieldSize / 8;
    }
    return this.typeSize(m.typeId);
  }

  /**
   * How many arguments a raw tracepoint passes its program: the parameters of the function pointer
   * that `btf_trace_<name>` names, less the leading context pointer. undefined when this kernel's BTF
   * has no such typedef. Tracepoints gain arguments across kernels (sched_process_exit's group_dead),
   * and a program that reads past the last one is refused when it is attached.
   */
  tracepointArgCount(name: string): number | undefined {
    const id = this.lookup(`btf_trace_${name}`, BtfKind.TYPEDEF);
    if (id === undefined) return undefined;
    const ptr = this.resolve(id);
    const proto = ptr && this.kind(ptr) === BtfKind.PTR ? this.resolve(this.sizeOrType(ptr)) : 0;
    if (!proto || this.kind(proto) !== BtfKind.FUNC_PROTO) throw new BtfError(`${this.source}: btf_trace_${name} is not a function pointer`);
    return this.vlen(proto) - 1;
  }

  structSize(name: string): number {
    return this.typeSize(this.aggregate(name));
  }

  /** Byte size of a type (pointers are 8 bytes: hookshim only runs on 64-bit kernels). */
  typeSize(id: number): number {
    const t = this.resolve(id);
    if (!t) throw new BtfError(`${this.source}: type ${id} is void and has no size`);
    switch (this.kind(t)) {
      case BtfKind.PTR:
        return 8;
      case BtfKind.ARRAY: {
        const p = this.record(t) + 3;
        return this.typeSize(this.words[p]!) * this.words[p + 2]!;
      }
      case BtfKind.INT: case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64:
      case BtfKind.FLOAT: case BtfKind.DATASEC:
        return this.sizeOrType(t);
      default:
        throw new BtfError(`${this.source}: ${this.describe(t)} has no size`);
    }
  }
}

let kernel: Btf | undefined;
/** The running kernel's BTF, read and indexed once per process. */
export function kernelBtf(): Btf {
  return (kernel ??= Btf.loadKernel());
}
