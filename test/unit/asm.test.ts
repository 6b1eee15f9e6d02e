import { describe, expect, test } from "bun:test";
import * as asm from "../../lib/bpf/asm/index.ts";
import {
  ALUOp, JumpOp, R0, R1, R2, R3, R4, R5, R10, assemble, decode, disassemble, resolve, rawLength, AsmError,
} from "../../lib/bpf/asm/index.ts";

/** Encode, decode, and compare every raw field (labels are not part of the bytes). */
function roundTrip(insns: asm.Instruction[], maps?: Record<string, number>) {
  const bytes = assemble(insns, { maps });
  const back = decode(bytes);
  const resolved = resolve(insns, { maps });
  expect(back.length).toBe(insns.length);
  back.forEach((b, i) => {
    const r = resolved[i]!;
    expect([b.opcode, b.dst, b.src, b.offset, b.constant]).toEqual([r.opcode, r.dst, r.src, r.offset, r.constant]);
  });
  expect(assemble(back)).toEqual(bytes);
  return bytes;
}

describe("encoding", () => {
  test("ALU and ALU64, immediate and register, every operation", () => {
    const ops = Object.values(ALUOp).filter((op) => op !== ALUOp.Swap && op !== ALUOp.Neg);
    const insns = ops.flatMap((op) => [
      asm.ALU64Imm(op, R1, -5),
      asm.ALU64Reg(op, R2, R3),
      asm.ALU32Imm(op, R4, 0x7fffffff),
      asm.ALU32Reg(op, R5, R0),
    ]);
    roundTrip([...insns, asm.Neg64(R1)]);
    // opcode = class | op | source
    const [b] = decode(assemble([asm.ALU64Reg(ALUOp.Add, R1, R2)]));
    expect(b!.opcode).toBe(0x0f);
    expect(decode(assemble([asm.Mov32Imm(R0, 1)]))[0]!.opcode).toBe(0xb4);
  });

  test("JMP and JMP32, immediate and register, every condition, with labels", () => {
    const conds = Object.values(JumpOp).filter((op) => op !== JumpOp.Call && op !== JumpOp.Exit && op !== JumpOp.Ja);
    const insns = conds.flatMap((op) => [
      asm.JumpImm(op, R1, -1, "end"),
      asm.JumpReg(op, R1, R2, "end"),
      asm.Jump32Imm(op, R3, 7, "start"),
      asm.Jump32Reg(op, R3, R4, "start"),
    ]);
    roundTrip([asm.Mov64Imm(R0, 0).withSymbol("start"), ...insns, asm.Ja("end"), asm.Exit().withSymbol("end")]);
  });

  test("LD_IMM64 takes two slots, keeps 64-bit and negative values; map fds by value and by name", () => {
    const insns = [
      asm.LoadImm64(R1, 0x123456789abcdef0n),
      asm.LoadImm64(R2, -2n),
      asm.LoadImm64(R3, 0xffffffffffffffffn),
      asm.LoadMapPtr(R4, 7),
      asm.LoadMapRef(R5, "events"),
      asm.Exit(),
    ];
    const bytes = roundTrip(insns, { events: 9 });
    expect(rawLength(insns)).toBe(11);
    expect(bytes.byteLength).toBe(88);
    const back = decode(bytes);
    expect(back[0]!.constant).toBe(0x123456789abcdef0n);
    expect(back[1]!.constant).toBe(-2n);
    expect(back[2]!.constant).toBe(-1n);
    expect(back[3]!.src).toBe(asm.PSEUDO_MAP_FD);
    expect(back[4]!.constant).toBe(9n);
    expect(() => assemble(insns)).toThrow('map "events" has no fd');
  });

  test("LDX, STX, ST and atomic add for every size; CALL; EXIT", () => {
    const insns = (["B", "H", "W", "DW"] as const).flatMap((size) => [
      asm.LoadMem(R0, R1, -8, size),
      asm.StoreMem(R10, -16, R2, size),
      asm.StoreImm(R10, -24, -3, size),
    ]);
    roundTrip([
      ...insns,
      asm.AtomicAdd(R0, 0, R1, "W"),
      asm.AtomicAdd(R0, 8, R1, "DW"),
      asm.Call(asm.Helper.MapLookupElem),
      asm.Call(asm.Helper.KtimeGetBootNs),
      asm.Exit(),
    ]);
    expect(() => asm.AtomicAdd(R0, 0, R1, "B")).toThrow(/W or DW/);
  });

  test("immediates and offsets out of range are refused when built", () => {
    expect(() => asm.Mov64Imm(R0, 2 ** 33)).toThrow(/does not fit 32 bits/);
    expect(() => asm.LoadMem(R0, R1, 40000, "W")).toThrow(/does not fit 16 bits/);
    expect(() => asm.LoadImm64(R0, 1n << 64n)).toThrow(/does not fit 64 bits/);
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
    expect(insns[1]!.offset).toBe(-1); // builders are not mutated
  });

  test("undefined, duplicate and too-distant labels are errors naming the label", () => {
    expect(() => assemble([asm.Ja("nowhere"), asm.Exit()])).toThrow('jump to undefined label "nowhere"');
    expect(() => assemble([asm.Exit().withSymbol("x"), asm.Exit().withSymbol("x")])).toThrow('duplicate label "x"');
    const far = [asm.Ja("end"), ...Array.from({ length: 40000 }, () => asm.Mov64Imm(R0, 0)), asm.Exit().withSymbol("end")];
    expect(() => assemble(far)).toThrow(AsmError);
    expect(() => assemble(far)).toThrow(/beyond the 16-bit offset/);
  });
});

describe("disassembly", () => {
  test("reads like runc's golden device-filter test (TestDeviceFilter_PrivilegedExceptSingleDevice)", () => {
    const insns = [
      asm.LoadMem(R2, R1, 0, "W"),
      asm.And32Imm(R2, 0xffff),
      asm.LoadMem(R3, R1, 0, "W"),
      asm.RSh32Imm(R3, 16),
      asm.LoadMem(R4, R1, 4, "W"),
      asm.LoadMem(R5, R1, 8, "W"),
      asm.JumpImm(JumpOp.JNE, R2, 1, "block-1").withSymbol("block-0"),
      asm.JumpImm(JumpOp.JNE, R4, 8, "block-1"),
      asm.JumpImm(JumpOp.JNE, R5, 0, "block-1"),
      asm.Mov32Imm(R0, 0),
      asm.Exit(),
      asm.Mov32Imm(R0, 1).withSymbol("block-1"),
      asm.Exit(),
    ];
    // runc's expected text, comments dropped (its test compares trimmed lines without comments)
    const golden = `
         0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
         1: AndImm32 dst: r2 imm: 65535
         2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
         3: RShImm32 dst: r3 imm: 16
         4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
         5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
block-0:
         6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
         7: JNEImm dst: r4 off: -1 imm: 8 <block-1>
         8: JNEImm dst: r5 off: -1 imm: 0 <block-1>
         9: MovImm32 dst: r0 imm: 0
        10: Exit
block-1:
        11: MovImm32 dst: r0 imm: 1
        12: Exit
`;
    const trim = (s: string) => s.split("\n").map((l) => l.trim()).filter(Boolean).join("\n");
    expect(trim(disassemble(insns))).toBe(trim(golden));
    // resolved offsets show where the jumps really go
    expect(disassemble(resolve(insns))).toContain("6: JNEImm dst: r2 off: 4 imm: 1 <block-1>");
  });

  test("other instruction forms", () => {
    const text = disassemble([
      asm.Mov64Reg(R1, R2),
      asm.MovReg32(R1, R2),
      asm.LoadMapPtr(R1, 3),
      asm.LoadMapRef(R1, "events"),
      asm.LoadImm64(R2, 5n),
      asm.StoreImm(R10, -8, 7, "DW"),
      asm.StoreMem(R10, -4, R1, "W"),
      asm.Call(asm.Helper.MapLookupElem),
      asm.Jump32Reg(JumpOp.JGT, R1, R2, "x").withSymbol("x"),
      asm.Exit(),
    ]);
    expect(text.split("\n").map((l) => l.trim())).toEqual([
      "0: MovReg dst: r1 src: r2",
      "1: MovReg32 dst: r1 src: r2",
      "2: LoadMapPtr dst: r1 fd: 3",
      "4: LoadMapPtr dst: r1 map: events",
      "6: LdImmDW dst: r2 imm: 5",
      "8: StMemDW dst: r10 src: r0 off: -8 imm: 7",
      "9: StXMemW dst: r10 src: r1 off: -4 imm: 0",
      "10: Call FnMapLookupElem",
      "x:",
      "11: JGT32Reg dst: r1 off: -1 src: r2 <x>",
      "12: Exit",
      "",
    ]);
  });
});
