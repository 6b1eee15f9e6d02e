// lib/bpf/btf.ts against what bpftool reports for the running kernel, and against small BTF blobs
// built here for the encodings the kernel's vmlinux does not use.
import { describe, expect, test } from "bun:test";
import { Btf, BtfError, BtfKind, kernelBtf } from "../../lib/bpf/btf.ts";
import { needs } from "../support/prereq.ts";

const gated = needs("btf", "bpftool");

interface RawType {
  kind: string;
  name: string;
  size?: number;
  /** referenced type, for PTR, TYPEDEF and modifiers */
  type?: number;
  members: { name: string; type: number; bits: number; bitfield: number }[];
}

/** `bpftool btf dump file /sys/kernel/btf/vmlinux format raw`, by type id. */
let raw: Map<number, RawType> | undefined;
function bpftool(): Map<number, RawType> {
  if (raw) return raw;
  const p = Bun.spawnSync(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"], { stdout: "pipe" });
  if (p.exitCode !== 0) throw new Error(`bpftool btf dump failed: ${p.stderr.toString()}`);
  raw = new Map();
  let cur: RawType | undefined;
  for (const line of p.stdout.toString().split("\n")) {
    const t = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (t) {
      const size = / size=(\d+)/.exec(t[4]!), type = / type_id=(\d+)/.exec(t[4]!);
      cur = { kind: t[2]!, name: t[3]!, size: size ? Number(size[1]) : undefined, type: type ? Number(type[1]) : undefined, members: [] };
      raw.set(Number(t[1]), cur);
      continue;
    }
    const m = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?/.exec(line);
    if (m && cur) cur.members.push({ name: m[1]!, type: Number(m[2]), bits: Number(m[3]), bitfield: Number(m[4] ?? 0) });
  }
  return raw;
}

function bpftoolStruct(name: string): number {
  for (const [id, t] of bpftool()) if (t.kind === "STRUCT" && t.name === name && t.members.length) return id;
  throw new Error(`bpftool has no struct ${name}`);
}

/** bpftool's answer for a member path: bit offset and bitfield size, looking through '(anon)' members. */
function bpftoolMember(structName: string, path: string): { bits: number; bitfield: number } {
  const types = bpftool();
  const strip = (id: number): number => {
    const t = types.get(id)!;
    return ["TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"].includes(t.kind) ? strip(t.type!) : id;
  };
  const find = (id: number, name: string): { bits: number; bitfield: number; type: number } | undefined => {
    for (const m of types.get(id)!.members) {
      if (m.name === name) return m;
      if (m.name === "(anon)") {
        const inner = find(strip(m.type), name);
        if (inner) return { ...inner, bits: m.bits + inner.bits };
      }
    }
    return undefined;
  };
  let id = bpftoolStruct(structName);
  let bits = 0, bitfield = 0;
  for (const part of path.split(".")) {
    const m = find(id, part);
    if (!m) throw new Error(`bpftool: ${structName} has no ${path}`);
    bits += m.bits;
    bitfield = m.bitfield;
    id = strip(m.type);
  }
  return { bits, bitfield };
}

describe("kernel BTF, checked against bpftool", () => {
  gated("member offsets hookshim's programs use", () => {
    const btf = kernelBtf();
    const cases: [string, string][] = [
      ["task_struct", "exit_code"], ["task_struct", "start_boottime"], ["task_struct", "pid"], ["task_struct", "tgid"],
      ["task_struct", "real_parent"], ["task_struct", "nsproxy"], ["task_struct", "thread_pid"], ["task_struct", "signal"],
      ["task_struct", "comm"], ["nsproxy", "pid_ns_for_children"], ["nsproxy", "mnt_ns"], ["pid_namespace", "ns"],
      ["ns_common", "inum"], ["pid", "level"], ["pid", "numbers"], ["upid", "nr"], ["upid", "ns"],
      ["signal_struct", "pids"],
    ];
    for (const [struct, path] of cases) {
      const want = bpftoolMember(struct, path);
      expect(want.bitfield).toBe(0);
      expect([struct, path, btf.memberOffset(struct, path) * 8]).toEqual([struct, path, want.bits]);
    }
  });

  gated("paths through embedded structs and anonymous struct and union members", () => {
    const btf = kernelBtf();
    // pid_namespace embeds a ns_common; sk_buff.dev sits three anonymous levels down (union, struct,
    // union) and sk_buff.next two; mm_struct keeps almost everything in an anonymous struct. All of
    // these exist on every kernel from 5.10 on (ns_common's newer members do not).
    for (const [struct, path] of [
      ["pid_namespace", "ns.inum"], ["sk_buff", "dev"], ["sk_buff", "next"], ["mm_struct", "mmap_base"],
      ["mm_struct", "pgd"],
    ] as const) {
      expect([struct, path, btf.memberOffset(struct, path) * 8]).toEqual([struct, path, bpftoolMember(struct, path).bits]);
    }
    expect(btf.memberOffset("pid_namespace", "ns.inum")).toBe(
      btf.memberOffset("pid_namespace", "ns") + btf.memberOffset("ns_common", "inum"),
    );
  });

  gated("bitfields: reported in bits, refused as byte offsets unless whole bytes", () => {
    const btf = kernelBtf();
    for (const name of ["sched_reset_on_fork", "in_iowait", "sched_remote_wakeup"]) {
      const want = bpftoolMember("task_struct", name);
      expect(want.bitfield).toBeGreaterThan(0);
      const got = btf.member("task_struct", name);
      expect([got.bitOffset, got.bitfieldSize]).toEqual([want.bits, want.bitfield]);
      expect(() => btf.memberOffset("task_struct", name)).toThrow(`task_struct.${name} is a ${want.bitfield}-bit bitfield`);
    }
  });

  gated("sizes, type ids and the number of types", () => {
    const btf = kernelBtf();
    const types = bpftool();
    for (const name of ["task_struct", "nsproxy", "pid_namespace", "ns_common", "upid"]) {
      const id = bpftoolStruct(name);
      expect(btf.findTypeId(name, BtfKind.STRUCT)).toBe(id);
      expect(btf.structSize(name)).toBe(types.get(id)!.size!);
      expect(btf.name(id)).toBe(name);
    }
    expect(btf.memberSize("task_struct", "comm")).toBe(16);
    expect(btf.memberSize("task_struct", "exit_code")).toBe(4);
    expect(btf.memberSize("task_struct", "real_parent")).toBe(8);
    expect(btf.memberSize("task_struct", "start_boottime")).toBe(8);
    const doExit = btf.findTypeId("do_exit", BtfKind.FUNC);
    expect(types.get(doExit)).toMatchObject({ kind: "FUNC", name: "do_exit" });
    expect(btf.kind(btf.findTypeId("do_exit"))).toBe(BtfKind.FUNC);
    expect(btf.count).toBe(Math.max(...types.keys()) + 1);
  });

  gated("errors name the struct, the path and what is wrong", () => {
    const btf = kernelBtf();
    expect(() => btf.memberOffset("task_struct", "no_such_member")).toThrow("task_struct (struct task_struct) has no member no_such_member");
    expect(() => btf.memberOffset("no_such_struct_hookshim", "x")).toThrow("no struct or union named no_such_struct_hookshim");
    expect(() => btf.memberOffset("task_struct", "signal.pids")).toThrow(
      'task_struct.signal is a pointer to struct signal_struct: read it, then look up "pids" there',
    );
    expect(() => btf.memberOffset("task_struct", "pid.x")).toThrow("task_struct.pid is a typedef pid_t, not a struct or union");
    expect(() => btf.findTypeId("no_such_type_hookshim")).toThrow(BtfError);
    expect(kernelBtf()).toBe(btf);
  });
});

/** A BTF blob: header, type section from records of u32 words, string section. */
function blob(types: number[][], strings: string[]): Uint8Array {
  const str = Buffer.from("\0" + strings.map((s) => s + "\0").join(""));
  const words = types.flat();
  const out = new Uint8Array(24 + words.length * 4 + str.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, words.length * 4, true);
  dv.setUint32(16, words.length * 4, true);
  dv.setUint32(20, str.length, true);
  words.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, true));
  out.set(str, 24 + words.length * 4);
  return out;
}

describe("BTF encodings vmlinux does not show", () => {
  // string offsets: "int"=1 "s"=5 "a"=7 "b"=9 "inner"=11 "k"=17 "x"=19 "y"=21 "fwd"=23
  const strings = ["int", "s", "a", "b", "inner", "k", "x", "y", "fwd"];
  const info = (kind: number, vlen: number, kindFlag = false) => ((kindFlag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0;
  const types = [
    [1, info(BtfKind.INT, 0), 4, 32], // [1] int
    [0, info(BtfKind.INT, 0), 4, 3], // [2] a 3-bit int: a bitfield written without kind_flag
    [5, info(BtfKind.STRUCT, 3), 12, 7, 1, 0, 9, 2, 32, 0, 4, 64], // [3] struct s { int a; int b:3; union { int inner; }; }
    [0, info(BtfKind.UNION, 1), 4, 11, 1, 0], // [4] the anonymous union
    [17, info(BtfKind.STRUCT, 2, true), 4, 19, 1, (5 << 24) | 16, 21, 1, (8 << 24) | 24], // [5] struct k { x:5 at 16; y:8 at 24 }
    [23, info(BtfKind.STRUCT, 0), 0], // [6] an empty "fwd" stand-in before its definition
    [23, info(BtfKind.STRUCT, 1), 4, 7, 1, 0], // [7] struct fwd { int a; }
  ];
  const btf = new Btf(blob(types, strings), "test");

  test("legacy INT bitfields, kind_flag bitfields, anonymous unions", () => {
    expect(btf.memberOffset("s", "a")).toBe(0);
    expect(btf.member("s", "b")).toEqual({ typeId: 2, bitOffset: 32, bitfieldSize: 3 });
    expect(() => btf.memberOffset("s", "b")).toThrow("s.b is a 3-bit bitfield at bit 32");
    expect(btf.memberOffset("s", "inner")).toBe(8);
    expect(btf.member("k", "x")).toEqual({ typeId: 1, bitOffset: 16, bitfieldSize: 5 });
    expect(() => btf.memberOffset("k", "x")).toThrow(BtfError);
    expect(btf.memberOffset("k", "y")).toBe(3);
    expect(btf.memberSize("k", "y")).toBe(1);
    expect(btf.structSize("s")).toBe(12);
  });

  test("a definition wins over an empty struct of the same name", () => {
    expect(btf.findTypeId("fwd", BtfKind.STRUCT)).toBe(7);
    expect(btf.memberOffset("fwd", "a")).toBe(0);
    expect(btf.count).toBe(8);
  });

  test("damaged input is refused", () => {
    expect(() => new Btf(new Uint8Array(64), "junk")).toThrow("junk: not BTF");
    expect(() => new Btf(blob(types, strings).subarray(0, 40), "short")).toThrow("short: sections run past the end");
    const unknown = new Btf(blob([[1, info(25, 0), 4]], strings), "odd");
    expect(() => unknown.findTypeId("int")).toThrow("odd: type 1 has unknown kind 25");
    const cut = new Btf(blob([[5, info(BtfKind.STRUCT, 9), 4, 7, 1, 0]], strings), "cut");
    expect(() => cut.findTypeId("s")).toThrow("cut: type 1 runs past the end of the type section");
  });
});
