// The eBPF assembler, builder by builder: encodings checked against the kernel's and cilium's, the
// golden runc/cilium program texts, labels, the disassembler. One file of about 450 lines because
// the golden texts are compared against each builder in turn; split it only along instruction classes.
import { describe, expect, test } from "bun:test";
import * as asm from "../../lib/bpf/asm/index.ts";
import {
  ALUOp, AtomicOp, JumpOp, R0, R1, R2, R3, R4, R5, R10, Word, assemble, decode, disassemble, resolve, rawLength,
  AsmError, type Instruction,
} from "../../lib/bpf/asm/index.ts";

/** Encode, decode, compare every raw field, and encode the decoded instructions again. */
function roundTrip(insns: Instruction[], maps?: Record<string, number>): Uint8Array {
  const bytes = assemble(insns, { maps });
  const back = decode(bytes);
  const resolved = resolve(insns, { maps });
  expect(back.length).toBe(insns.length);
  back.forEach((b, i) => {
    const r = resolved[i]!;
    expect([b.opcode, b.dst, b.src, b.offset, b.constant]).toEqual([r.opcode, r.dst, r.src, r.offset, r.constant]);
    expect(b.reference).toBeUndefined();
  });
  expect(assemble(back)).toEqual(bytes);
  return bytes;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("encoding", () => {
  test("ALU and ALU64, immediate and register, every operation", () => {
    const ops = Object.values(ALUOp).filter((op) => op !== ALUOp.Swap);
    const insns = ops.flatMap((op) => [
      asm.ALU64Imm(op, R1, -5),
      asm.ALU64Reg(op, R2, R3),
      asm.ALU32Imm(op, R4, 0x7fffffff),
      asm.ALU32Reg(op, R5, R0),
    ]);
    roundTrip([...insns, asm.Neg64(R1), asm.Neg32(R2)]);
    // opcode = operation | source | class, as in the kernel's BPF_ALU64_REG(BPF_ADD, ...)
    expect(hex(assemble([asm.Add64Reg(R1, R2)]))).toBe("0f21000000000000");
    expect(hex(assemble([asm.Mov32Imm(R0, 1)]))).toBe("b400000001000000");
    // 0xffffffff is accepted as the bit pattern of -1
    expect(hex(assemble([asm.And32Imm(R3, 0xffffffff)]))).toBe("54030000ffffffff");
    expect(decode(assemble([asm.And32Imm(R3, 0xffffffff)]))[0]!.constant).toBe(-1n);
  });

  test("JMP and JMP32, immediate and register, every condition", () => {
    const conds = Object.values(JumpOp).filter((op) => op !== JumpOp.Call && op !== JumpOp.Exit && op !== JumpOp.Ja);
    expect(conds.length).toBe(11);
    const insns = conds.flatMap((op) => [
      asm.JumpImm(op, R1, -1, "end"),
      asm.JumpReg(op, R1, R2, "end"),
      asm.Jump32Imm(op, R3, 7, "start"),
      asm.Jump32Reg(op, R3, R4, "start"),
    ]);
    roundTrip([asm.Mov64Imm(R0, 0).withSymbol("start"), ...insns, asm.Ja("end"), asm.Exit().withSymbol("end")]);
    // if r2 != 2 goto +3; if (u32)r1 > (u32)r2 goto -2
    const bytes = assemble([
      asm.JumpImm(JumpOp.JNE, R2, 2, "x").withSymbol("y"),
      asm.Jump32Reg(JumpOp.JGT, R1, R2, "y"),
      asm.Mov64Imm(R0, 0),
      asm.Mov64Imm(R0, 0),
      asm.Exit().withSymbol("x"),
    ]);
    expect(hex(bytes.subarray(0, 16))).toBe("55020300020000002e21feff00000000");
    expect(() => asm.JumpImm(JumpOp.Exit, R0, 0, "x")).toThrow(RangeError);
  });

  test("LD_IMM64 takes two slots and keeps negative and 64-bit values", () => {
    // cilium/ebpf's TestWrite64bitImmediate: r0 = math.MinInt32 - 1
    expect(hex(assemble([asm.LoadImm64(R0, -(2n ** 31n) - 1n)]))).toBe("18000000ffffff7f00000000ffffffff");
    const insns = [
      asm.LoadImm64(R1, 0x123456789abcdef0n),
      asm.LoadImm64(R2, -2n),
      asm.LoadImm64(R3, 0xffffffffffffffffn),
      asm.LoadImm64(R4, 2 ** 40),
      asm.Exit(),
    ];
    const back = decode(roundTrip(insns));
    expect(rawLength(insns)).toBe(9);
    expect(back.map((i) => i.constant)).toEqual([0x123456789abcdef0n, -2n, -1n, 2n ** 40n, 0n]);
    expect(() => asm.LoadImm64(R0, 1n << 64n)).toThrow(/does not fit 64 bits/);
  });

  test("map fd loads: by fd, and by name resolved at assemble time", () => {
    const insns = [asm.LoadMapPtr(R1, 7), asm.LoadMapRef(R2, "events"), asm.Exit()];
    const bytes = roundTrip(insns, { events: 9 });
    expect(hex(bytes.subarray(0, 16))).toBe("1811000007000000" + "0000000000000000");
    const back = decode(bytes);
    expect(back[1]!.src).toBe(asm.PSEUDO_MAP_FD);
    expect(back[1]!.constant).toBe(9n);
    expect(() => assemble(insns)).toThrow('map "events" has no fd');
    expect(() => assemble(insns, { maps: { other: 3 } })).toThrow(AsmError);
  });

  test("LDX, STX and ST for every size; atomics; CALL; EXIT", () => {
    const insns = (["B", "H", "W", "DW"] as const).flatMap((size) => [
      asm.LoadMem(R0, R1, -8, size),
      asm.StoreMem(R10, -16, R2, size),
      asm.StoreImm(R10, -24, -3, size),
    ]);
    const atomics = Object.values(AtomicOp).flatMap((op) => [asm.Atomic(op, R1, 8, R2, "W"), asm.Atomic(op, R1, 8, R2, "DW")]);
    roundTrip([...insns, ...atomics, asm.Call(asm.Helper.MapLookupElem), asm.Call(asm.Helper.KtimeGetBootNs), asm.Exit()]);
    // r0 = *(u32 *)(r1 + 4); *(u64 *)(r10 - 8) = r2; *(u8 *)(r10 - 1) = 5; call 14; exit
    expect(
      hex(assemble([asm.LoadMem(R0, R1, 4, "W"), asm.StoreMem(R10, -8, R2, "DW"), asm.StoreImm(R10, -1, 5, "B"),
        asm.Call(asm.Helper.GetCurrentPidTgid), asm.Exit()])),
    ).toBe("6110040000000000" + "7b2af8ff00000000" + "720affff05000000" + "850000000e000000" + "9500000000000000");
    expect(() => asm.AtomicAdd(R0, 0, R1, "B")).toThrow(/W or DW/);
  });

  test("out-of-range immediates, offsets and registers are refused when built", () => {
    expect(() => asm.Mov64Imm(R0, 2 ** 33)).toThrow(/does not fit 32 bits/);
    expect(() => asm.LoadMem(R0, R1, 40000, "W")).toThrow(/does not fit 16 bits/);
    expect(() => asm.Mov64Reg(11, R1)).toThrow(/r11 is not a register/);
  });

  test("decode refuses truncated programs", () => {
    expect(() => decode(new Uint8Array(12))).toThrow(/not a multiple of 8/);
    expect(() => decode(assemble([asm.LoadImm64(R0, 1)]).subarray(0, 8))).toThrow(/without its second half/);
    const bad = assemble([asm.LoadImm64(R0, 1)]);
    bad[8] = 0x07;
    expect(() => decode(bad)).toThrow(/non-zero fields/);
  });
});

describe("labels", () => {
  test("forward and backward jumps resolve to slot distances (LD_IMM64 counts twice)", () => {
    const insns = [
      asm.Mov64Imm(R0, 0).withSymbol("top"),
      asm.JumpImm(JumpOp.JEq, R0, 1, "out"),
      asm.LoadImm64(R1, 1n),
      asm.Ja("top"),
      asm.Exit().withSymbol("out"),
    ];
    const r = resolve(insns);
    expect(r[1]!.offset).toBe(3); // slot 1 -> slot 5
    expect(r[3]!.offset).toBe(-5); // slot 4 -> slot 0
    expect(r[1]!.reference).toBe("out");
    expect(insns[1]!.offset).toBe(-1); // builders' instructions are not changed
    expect(insns[0]!.withSymbol("again").symbol).toBe("again");
    expect(insns[0]!.symbol).toBe("top");
  });

  test("bpf-to-bpf calls resolve into imm", () => {
    const r = resolve([asm.CallLabel("fn"), asm.Exit(), asm.Mov64Imm(R0, 1).withSymbol("fn"), asm.Exit()]);
    expect(r[0]!.constant).toBe(1n);
    expect(r[0]!.offset).toBe(0);
  });

  test("undefined, duplicate and too-distant labels are errors naming the label", () => {
    expect(() => assemble([asm.Ja("nowhere"), asm.Exit()])).toThrow('jump to undefined label "nowhere"');
    expect(() => assemble([asm.Exit().withSymbol("x"), asm.Exit().withSymbol("x")])).toThrow('duplicate label "x"');
    const filler = (n: number) => Array.from({ length: n }, () => asm.Mov64Imm(R0, 0));
    // 32767 slots ahead is the farthest a 16-bit offset reaches
    expect(resolve([asm.Ja("end"), ...filler(32767), asm.Exit().withSymbol("end")])[0]!.offset).toBe(32767);
    const far = [asm.Ja("end"), ...filler(32768), asm.Exit().withSymbol("end")];
    expect(() => assemble(far)).toThrow(AsmError);
    expect(() => assemble(far)).toThrow('jump to "end" is 32768 slots away, beyond the 16-bit offset');
    const back = [asm.Exit().withSymbol("top"), ...filler(32768), asm.Ja("top")];
    expect(() => assemble(back)).toThrow('jump to "top" is -32770 slots away');
  });

  test("only jumps and map loads can refer to something", () => {
    expect(() => assemble([asm.Mov64Imm(R0, 0).withReference("x").withSymbol("x"), asm.Exit()])).toThrow(/cannot refer to "x"/);
  });
});

/** runc's testDeviceFilter comparison: trimmed lines, blank lines and `//` comments dropped. */
function hash(s: string): string {
  return s.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("//")).join("\n");
}

type RuncRule = { type: "a" | "b" | "c"; major: number; minor: number; access: number; allow: boolean };

/** The program runc's devicefilter.go emits, written with our builders the way it writes them with cilium's. */
function runcDeviceFilter(rules: RuncRule[], defaultAllow: boolean): Instruction[] {
  const insns: Instruction[] = [
    asm.LoadMem(R2, R1, 0, Word),
    asm.And32Imm(R2, 0xffff),
    asm.LoadMem(R3, R1, 0, Word),
    asm.RSh32Imm(R3, 16),
    asm.LoadMem(R4, R1, 4, Word),
    asm.LoadMem(R5, R1, 8, Word),
  ];
  let block = 0;
  const emit = (insn: Instruction, first: boolean) => insns.push(first ? insn.withSymbol(`block-${block}`) : insn);
  for (const rule of rules) {
    const next = `block-${block + 1}`;
    const body: Instruction[] = [];
    if (rule.type !== "a") body.push(asm.JumpImm(JumpOp.JNE, R2, rule.type === "b" ? 1 : 2, next));
    if (rule.access !== 7) body.push(asm.Mov32Reg(R1, R3), asm.And32Imm(R1, rule.access), asm.JumpReg(JumpOp.JNE, R1, R3, next));
    if (rule.major >= 0) body.push(asm.JumpImm(JumpOp.JNE, R4, rule.major, next));
    if (rule.minor >= 0) body.push(asm.JumpImm(JumpOp.JNE, R5, rule.minor, next));
    body.push(asm.Mov32Imm(R0, rule.allow ? 1 : 0), asm.Exit());
    body.forEach((b, i) => emit(b, i === 0));
    block++;
  }
  emit(asm.Mov32Imm(R0, defaultAllow ? 1 : 0), true);
  emit(asm.Exit(), false);
  return insns;
}

const M = 1, RWM = 7;
const c = (major: number, minor: number, access = RWM): RuncRule => ({ type: "c", major, minor, access, allow: true });

// The expected texts below are runc's libcontainer/cgroups/devices/devicefilter_test.go, verbatim.
describe("disassembly matches runc's golden device-filter tests", () => {
  test("TestDeviceFilter_Nil", () => {
    const expected = `
// load parameters into registers
        0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
        1: AndImm32 dst: r2 imm: 65535
        2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
        3: RShImm32 dst: r3 imm: 16
        4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
        5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
block-0:
// return 0 (reject)
        6: MovImm32 dst: r0 imm: 0
        7: Exit
	`;
    expect(hash(disassemble(runcDeviceFilter([], false)))).toBe(hash(expected));
  });

  test("TestDeviceFilter_Privileged", () => {
    const expected = `
// load parameters into registers
        0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
        1: AndImm32 dst: r2 imm: 65535
        2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
        3: RShImm32 dst: r3 imm: 16
        4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
        5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
block-0:
// return 1 (accept)
        6: MovImm32 dst: r0 imm: 1
        7: Exit
	`;
    expect(hash(disassemble(runcDeviceFilter([], true)))).toBe(hash(expected));
  });

  test("TestDeviceFilter_PrivilegedExceptSingleDevice", () => {
    const expected = `
// load parameters into registers
         0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
         1: AndImm32 dst: r2 imm: 65535
         2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
         3: RShImm32 dst: r3 imm: 16
         4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
         5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
block-0:
// return 0 (reject) if type==b && major == 8 && minor == 0
         6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
         7: JNEImm dst: r4 off: -1 imm: 8 <block-1>
         8: JNEImm dst: r5 off: -1 imm: 0 <block-1>
         9: MovImm32 dst: r0 imm: 0
        10: Exit
block-1:
// return 1 (accept)
        11: MovImm32 dst: r0 imm: 1
        12: Exit
`;
    const insns = runcDeviceFilter([{ type: "b", major: 8, minor: 0, access: RWM, allow: false }], true);
    expect(hash(disassemble(insns))).toBe(hash(expected));
    // resolved, the same text shows the real distances
    expect(disassemble(resolve(insns))).toContain("\t 6: JNEImm dst: r2 off: 4 imm: 1 <block-1>\n");
  });

  test("TestDeviceFilter_BuiltInAllowList", () => {
    const expected = `
// load parameters into registers
        0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
        1: AndImm32 dst: r2 imm: 65535
        2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
        3: RShImm32 dst: r3 imm: 16
        4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
        5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
block-0:
// (b, wildcard, wildcard, m, true)
        6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
        7: MovReg32 dst: r1 src: r3
        8: AndImm32 dst: r1 imm: 1
        9: JNEReg dst: r1 off: -1 src: r3 <block-1>
        10: MovImm32 dst: r0 imm: 1
        11: Exit
block-1:
// (c, wildcard, wildcard, m, true)
        12: JNEImm dst: r2 off: -1 imm: 2 <block-2>
        13: MovReg32 dst: r1 src: r3
        14: AndImm32 dst: r1 imm: 1
        15: JNEReg dst: r1 off: -1 src: r3 <block-2>
        16: MovImm32 dst: r0 imm: 1
        17: Exit
block-2:
        18: JNEImm dst: r2 off: -1 imm: 2 <block-3>
        19: JNEImm dst: r4 off: -1 imm: 1 <block-3>
        20: JNEImm dst: r5 off: -1 imm: 3 <block-3>
        21: MovImm32 dst: r0 imm: 1
        22: Exit
block-3:
        23: JNEImm dst: r2 off: -1 imm: 2 <block-4>
        24: JNEImm dst: r4 off: -1 imm: 1 <block-4>
        25: JNEImm dst: r5 off: -1 imm: 5 <block-4>
        26: MovImm32 dst: r0 imm: 1
        27: Exit
block-4:
        28: JNEImm dst: r2 off: -1 imm: 2 <block-5>
        29: JNEImm dst: r4 off: -1 imm: 1 <block-5>
        30: JNEImm dst: r5 off: -1 imm: 7 <block-5>
        31: MovImm32 dst: r0 imm: 1
        32: Exit
block-5:
        33: JNEImm dst: r2 off: -1 imm: 2 <block-6>
        34: JNEImm dst: r4 off: -1 imm: 1 <block-6>
        35: JNEImm dst: r5 off: -1 imm: 8 <block-6>
        36: MovImm32 dst: r0 imm: 1
        37: Exit
block-6:
        38: JNEImm dst: r2 off: -1 imm: 2 <block-7>
        39: JNEImm dst: r4 off: -1 imm: 1 <block-7>
        40: JNEImm dst: r5 off: -1 imm: 9 <block-7>
        41: MovImm32 dst: r0 imm: 1
        42: Exit
block-7:
        43: JNEImm dst: r2 off: -1 imm: 2 <block-8>
        44: JNEImm dst: r4 off: -1 imm: 5 <block-8>
        45: JNEImm dst: r5 off: -1 imm: 0 <block-8>
        46: MovImm32 dst: r0 imm: 1
        47: Exit
block-8:
        48: JNEImm dst: r2 off: -1 imm: 2 <block-9>
        49: JNEImm dst: r4 off: -1 imm: 5 <block-9>
        50: JNEImm dst: r5 off: -1 imm: 2 <block-9>
        51: MovImm32 dst: r0 imm: 1
        52: Exit
block-9:
// tuntap (c, 10, 200, rwm, true)
        53: JNEImm dst: r2 off: -1 imm: 2 <block-10>
        54: JNEImm dst: r4 off: -1 imm: 10 <block-10>
        55: JNEImm dst: r5 off: -1 imm: 200 <block-10>
        56: MovImm32 dst: r0 imm: 1
        57: Exit
block-10:
// /dev/pts (c, 136, wildcard, rwm, true)
	58: JNEImm dst: r2 off: -1 imm: 2 <block-11>
        59: JNEImm dst: r4 off: -1 imm: 136 <block-11>
        60: MovImm32 dst: r0 imm: 1
        61: Exit
block-11:
        62: MovImm32 dst: r0 imm: 0
        63: Exit
`;
    const rules: RuncRule[] = [
      { type: "b", major: -1, minor: -1, access: M, allow: true },
      { type: "c", major: -1, minor: -1, access: M, allow: true },
      c(1, 3), c(1, 5), c(1, 7), c(1, 8), c(1, 9), c(5, 0), c(5, 2), c(10, 200), c(136, -1),
    ];
    const insns = runcDeviceFilter(rules, false);
    expect(hash(disassemble(insns))).toBe(hash(expected));
    expect(rawLength(insns)).toBe(64);
    expect(assemble(insns).byteLength).toBe(64 * 8);
  });
});

describe("disassembly in cilium/ebpf's exact layout", () => {
  test("ExampleInstructions_Format's default output", () => {
    const text = disassemble([asm.Call(asm.Helper.MapLookupElem).withSymbol("my_func"), asm.LoadImm64(R0, 42), asm.Exit()]);
    expect(text).toBe("my_func:\n\t0: Call FnMapLookupElem\n\t1: LdImmDW dst: r0 imm: 42\n\t3: Exit\n");
  });

  test("slot column width, labels unindented, comments as `; text`", () => {
    const insns = runcDeviceFilter([], false);
    insns[0] = insns[0]!.withComment("load parameters into registers");
    expect(disassemble(insns)).toBe(
      [
        "\t  ; load parameters into registers",
        "\t 0: LdXMemW dst: r2 src: r1 off: 0 imm: 0",
        "\t 1: AndImm32 dst: r2 imm: 65535",
        "\t 2: LdXMemW dst: r3 src: r1 off: 0 imm: 0",
        "\t 3: RShImm32 dst: r3 imm: 16",
        "\t 4: LdXMemW dst: r4 src: r1 off: 4 imm: 0",
        "\t 5: LdXMemW dst: r5 src: r1 off: 8 imm: 0",
        "block-0:",
        "\t 6: MovImm32 dst: r0 imm: 0",
        "\t 7: Exit",
        "",
      ].join("\n"),
    );
    expect(disassemble([])).toBe("");
  });

  test("every other instruction form", () => {
    const lines = disassemble([
      asm.Mov64Reg(R1, R2),
      asm.Mov32Reg(R1, R2),
      asm.Neg64(R1),
      asm.Neg32(R1),
      asm.ALU64Imm(ALUOp.ArSh, R1, -3),
      asm.LoadMapPtr(R1, 3),
      asm.LoadMapRef(R1, "events"),
      new asm.Instruction(0x18, R1, asm.PSEUDO_MAP_VALUE, 0, (16n << 32n) | 4n),
      asm.LoadImm64(R2, -5n),
      asm.StoreImm(R10, -8, 7, "DW"),
      asm.StoreMem(R10, -4, R1, "W"),
      asm.LoadMem(R1, R10, -2, "H"),
      asm.AtomicAdd(R1, 8, R2, "DW"),
      asm.Atomic(AtomicOp.CmpXchg, R1, 0, R2, "W"),
      asm.Call(asm.Helper.GetCurrentTaskBtf),
      asm.Call(9999),
      asm.CallLabel("x"),
      asm.Jump32Reg(JumpOp.JGT, R1, R2, "x").withSymbol("x"),
      asm.JumpImm(JumpOp.JSLE, R1, -2, "x"),
      asm.Ja("x"),
      asm.Exit(),
    ]).split("\n");
    expect(lines).toEqual([
      "\t 0: MovReg dst: r1 src: r2",
      "\t 1: MovReg32 dst: r1 src: r2",
      "\t 2: NegImm dst: r1 imm: 0",
      "\t 3: NegImm32 dst: r1 imm: 0",
      "\t 4: ArShImm dst: r1 imm: -3",
      "\t 5: LoadMapPtr dst: r1 fd: 3",
      "\t 7: LoadMapPtr dst: r1 fd: 0 <events>",
      "\t 9: LoadMapValue dst: r1, fd: 4 off: 16",
      "\t11: LdImmDW dst: r2 imm: -5",
      "\t13: StMemDW dst: r10 src: r0 off: -8 imm: 7",
      "\t14: StXMemW dst: r10 src: r1 off: -4 imm: 0",
      "\t15: LdXMemH dst: r1 src: r10 off: -2 imm: 0",
      "\t16: StXAtomicAddDW dst: r1 src: r2 off: 8",
      "\t17: StXAtomicCmpXchgW dst: r1 src: r2 off: 0",
      "\t18: Call FnGetCurrentTaskBtf",
      "\t19: Call BuiltinFunc(9999)",
      "\t20: Call -1 <x>",
      "x:",
      "\t21: JGT32Reg dst: r1 off: -1 src: r2 <x>",
      "\t22: JSLEImm dst: r1 off: -1 imm: -2 <x>",
      "\t23: Ja off: -1 <x>",
      "\t24: Exit",
      "",
    ]);
  });

  test("a decoded program prints offsets and no labels", () => {
    const bytes = assemble(runcDeviceFilter([{ type: "b", major: 8, minor: 0, access: RWM, allow: false }], true));
    const text = disassemble(decode(bytes));
    expect(text).toContain("\t 6: JNEImm dst: r2 off: 4 imm: 1\n");
    expect(text).not.toContain("block-");
  });
});
