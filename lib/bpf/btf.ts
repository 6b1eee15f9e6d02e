// Just enough BTF to find struct member offsets in the running kernel (/sys/kernel/btf/vmlinux), so
// programs can read task_struct fields without CO-RE. A hook runs this on every start, so the type
// section is scanned once into flat arrays (offset of each type record, its kind and name) and
// structs are only looked at when asked for.
import { readFileSync } from "node:fs";

export const BtfKind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export class BtfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BtfError";
  }
}

const MAGIC = 0xeb9f;
// Functions, variables and enum constants make up most names in vmlinux and are never looked up.
const INDEXED_KINDS = new Set<number>([BtfKind.STRUCT, BtfKind.UNION, BtfKind.TYPEDEF, BtfKind.INT, BtfKind.ENUM, BtfKind.ENUM64]);

interface Member {
  name: string;
  type: number;
  bitOffset: number;
  bitfieldSize: number;
}

export class Btf {
  private readonly dv: DataView;
  private readonly strOff: number;
  private readonly strEnd: number;
  /** byte offset of each type record, indexed by type id (0 = void) */
  private readonly recordAt: Uint32Array;
  private readonly count: number;
  private byName?: Map<string, number[]>;
  private readonly decoder = new TextDecoder();

  constructor(private readonly data: Uint8Array, readonly source = "BTF") {
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < 24 || this.dv.getUint16(0, true) !== MAGIC)
      throw new BtfError(`${source}: not BTF (bad magic)`);
    const hdrLen = this.dv.getUint32(4, true);
    const typeOff = hdrLen + this.dv.getUint32(8, true);
    const typeLen = this.dv.getUint32(12, true);
    this.strOff = hdrLen + this.dv.getUint32(16, true);
    this.strEnd = this.strOff + this.dv.getUint32(20, true);
    // Upper bound on the number of types: every record is at least 12 bytes.
    const at = new Uint32Array(Math.floor(typeLen / 12) + 2);
    let id = 1;
    for (let p = typeOff, end = typeOff + typeLen; p < end; id++) {
      at[id] = p;
      p += 12 + this.extraSize(p);
    }
    this.recordAt = at;
    this.count = id;
  }

  static loadKernel(path = "/sys/kernel/btf/vmlinux"): Btf {
    let data: Uint8Array;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new BtfError(`${path}: ${(e as NodeJS.ErrnoException).code ?? e} (kernel without CONFIG_DEBUG_INFO_BTF?)`);
    }
    return new Btf(data, path);
  }

  private info(id: number): number {
    return this.dv.getUint32(this.recordAt[id]! + 4, true);
  }

  kind(id: number): number {
    return (this.info(id) >>> 24) & 0x1f;
  }

  private vlen(id: number): number {
    return this.info(id) & 0xffff;
  }

  private kindFlag(id: number): boolean {
    return (this.info(id) >>> 31) === 1;
  }

  /** size (STRUCT, UNION, INT, ENUM...) or referenced type (PTR, TYPEDEF, ...) */
  private sizeOrType(id: number): number {
    return this.dv.getUint32(this.recordAt[id]! + 8, true);
  }

  private extraSize(p: number): number {
    const info = this.dv.getUint32(p + 4, true);
    const vlen = info & 0xffff;
    switch ((info >>> 24) & 0x1f) {
      case BtfKind.INT: case BtfKind.VAR: case BtfKind.DECL_TAG: return 4;
      case BtfKind.ARRAY: return 12;
      case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.DATASEC: case BtfKind.ENUM64: return 12 * vlen;
      case BtfKind.ENUM: case BtfKind.FUNC_PROTO: return 8 * vlen;
      default: return 0;
    }
  }

  private str(off: number): string {
    let end = this.strOff + off;
    while (end < this.strEnd && this.data[end] !== 0) end++;
    return this.decoder.decode(this.data.subarray(this.strOff + off, end));
  }

  name(id: number): string {
    return this.str(this.dv.getUint32(this.recordAt[id]!, true));
  }

  /** Type ids with this name, built on first use; only named struct/union/typedef/int types are indexed. */
  private idsNamed(name: string): number[] {
    if (!this.byName) {
      this.byName = new Map();
      for (let id = 1; id < this.count; id++) {
        const nameOff = this.dv.getUint32(this.recordAt[id]!, true);
        if (!nameOff || !INDEXED_KINDS.has(this.kind(id))) continue;
        const n = this.str(nameOff);
        const list = this.byName.get(n);
        if (list) list.push(id);
        else this.byName.set(n, [id]);
      }
    }
    return this.byName.get(name) ?? [];
  }

  findTypeId(name: string, kind?: number): number {
    const id =
      kind !== undefined && !INDEXED_KINDS.has(kind)
        ? this.scanNamed(name, kind)
        : this.idsNamed(name).find((i) => kind === undefined || this.kind(i) === kind);
    if (id === undefined) throw new BtfError(`${this.source}: no type named ${name}`);
    return id;
  }

  private scanNamed(name: string, kind: number): number | undefined {
    for (let id = 1; id < this.count; id++)
      if (this.kind(id) === kind && this.name(id) === name) return id;
    return undefined;
  }

  /** Follow typedef/const/volatile/restrict/type_tag to the underlying type. */
  resolve(id: number): number {
    for (;;) {
      const k = this.kind(id);
      if (k === BtfKind.TYPEDEF || k === BtfKind.CONST || k === BtfKind.VOLATILE || k === BtfKind.RESTRICT || k === BtfKind.TYPE_TAG)
        id = this.sizeOrType(id);
      else return id;
    }
  }

  private members(id: number): Member[] {
    const p = this.recordAt[id]! + 12;
    const flag = this.kindFlag(id);
    const out: Member[] = [];
    for (let i = 0; i < this.vlen(id); i++) {
      const off = this.dv.getUint32(p + i * 12 + 8, true);
      out.push({
        name: this.str(this.dv.getUint32(p + i * 12, true)),
        type: this.dv.getUint32(p + i * 12 + 4, true),
        bitOffset: flag ? off & 0xffffff : off,
        bitfieldSize: flag ? off >>> 24 : 0,
      });
    }
    return out;
  }

  /** A named member of a struct/union, looking through anonymous struct/union members. */
  private findMember(id: number, name: string): { type: number; bitOffset: number; bitfieldSize: number } | undefined {
    for (const m of this.members(id)) {
      if (m.name === name) return m;
      if (m.name === "") {
        const inner = this.resolve(m.type);
        const k = this.kind(inner);
        if (k === BtfKind.STRUCT || k === BtfKind.UNION) {
          const found = this.findMember(inner, name);
          if (found) return { ...found, bitOffset: m.bitOffset + found.bitOffset };
        }
      }
    }
    return undefined;
  }

  private memberInfo(structName: string, path: string): { type: number; bitOffset: number; bitfieldSize: number } {
    let id = this.findStruct(structName);
    let bits = 0;
    let last: { type: number; bitOffset: number; bitfieldSize: number } | undefined;
    for (const part of path.split(".")) {
      if (last) {
        id = this.resolve(last.type);
        const k = this.kind(id);
        if (k !== BtfKind.STRUCT && k !== BtfKind.UNION)
          throw new BtfError(`${this.source}: ${structName}.${path}: "${part}" is inside a non-struct member`);
      }
      const m = this.findMember(id, part);
      if (!m) throw new BtfError(`${this.source}: ${structName} has no member ${path}`);
      bits += m.bitOffset;
      last = m;
    }
    return { type: last!.type, bitOffset: bits, bitfieldSize: last!.bitfieldSize };
  }

  private findStruct(name: string): number {
    const ids = this.idsNamed(name).filter((i) => {
      const k = this.kind(i);
      return k === BtfKind.STRUCT || k === BtfKind.UNION;
    });
    // Prefer a definition with members over an empty duplicate.
    const id = ids.find((i) => this.vlen(i) > 0) ?? ids[0];
    if (id === undefined) throw new BtfError(`${this.source}: no struct ${name}`);
    return id;
  }

  /** Byte offset of `structName.path` (path may go through nested members: "signal.pids"). */
  memberOffset(structName: string, path: string): number {
    const m = this.memberInfo(structName, path);
    if (m.bitfieldSize || m.bitOffset % 8)
      throw new BtfError(`${this.source}: ${structName}.${path} is a bitfield (bit ${m.bitOffset}), not byte-addressable`);
    return m.bitOffset / 8;
  }

  /** Byte size of a type. */
  typeSize(id: number): number {
    id = this.resolve(id);
    switch (this.kind(id)) {
      case BtfKind.PTR: return 8;
      case BtfKind.ARRAY: {
        const p = this.recordAt[id]! + 12;
        return this.typeSize(this.dv.getUint32(p, true)) * this.dv.getUint32(p + 8, true);
      }
      case BtfKind.INT: case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.FLOAT:
        return this.sizeOrType(id);
      default:
        throw new BtfError(`${this.source}: type ${id} (${this.name(id) || "anonymous"}) has no size`);
    }
  }

  /** Byte size of a member (for arrays: of the whole array). */
  memberSize(structName: string, path: string): number {
    return this.typeSize(this.memberInfo(structName, path).type);
  }

  structSize(name: string): number {
    return this.typeSize(this.findStruct(name));
  }
}

let kernel: Btf | undefined;
/** The running kernel's BTF, parsed once per process. */
export function kernelBtf(): Btf {
  return (kernel ??= Btf.loadKernel());
}
