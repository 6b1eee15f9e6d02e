// Instruction builders in cilium/ebpf's vocabulary. Jumps take a label and carry offset -1 until
// assemble() resolves them.
import { Instruction, PSEUDO_MAP_FD, PSEUDO_CALL } from "./instruction.ts";
import { Class, Source, Mode, SIZE_BITS, ALUOp, JumpOp, LD_IMM64, type Size } from "./opcode.ts";

export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
/** the read-only frame pointer */
export const RFP = R10;
export type Register = number;

const imm32 = (v: number | bigint, what: string): bigint => {
  const b = BigInt(v);
  if (b < -0x80000000n || b > 0xffffffffn) throw new RangeError(`${what}: immediate ${b} does not fit 32 bits`);
  return BigInt.asIntN(32, b);
};
const off16 = (v: number, what: string): number => {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`${what}: offset ${v} does not fit 16 bits`);
  return v;
};

export function ALU64Imm(op: ALUOp, dst: Register, imm: number | bigint): Instruction {
  return new Instruction(Class.ALU64 | op | Source.K, dst, 0, 0, imm32(imm, "ALU64Imm"));
}
export function ALU64Reg(op: ALUOp, dst: Register, src: Register): Instruction {
  return new Instruction(Class.ALU64 | op | Source.X, dst, src, 0, 0n);
}
export function ALU32Imm(op: ALUOp, dst: Register, imm: number | bigint): Instruction {
  return new Instruction(Class.ALU | op | Source.K, dst, 0, 0, imm32(imm, "ALU32Imm"));
}
export function ALU32Reg(op: ALUOp, dst: Register, src: Register): Instruction {
  return new Instruction(Class.ALU | op | Source.X, dst, src, 0, 0n);
}

export const Mov64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.Mov, dst, imm);
export const Mov64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Mov, dst, src);
export const Mov32Imm = (dst: Register, imm: number | bigint) => ALU32Imm(ALUOp.Mov, dst, imm);
export const Mov32Reg = (dst: Register, src: Register) => ALU32Reg(ALUOp.Mov, dst, src);
/** cilium spells the 32-bit register move MovReg32 */
export const MovReg32 = Mov32Reg;
export const Add64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.Add, dst, imm);
export const Add64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Add, dst, src);
export const Sub64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.Sub, dst, imm);
export const Sub64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Sub, dst, src);
export const Mul64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.Mul, dst, imm);
export const And64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.And, dst, imm);
export const And32Imm = (dst: Register, imm: number | bigint) => ALU32Imm(ALUOp.And, dst, imm);
export const Or64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.Or, dst, imm);
export const LSh64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.LSh, dst, imm);
export const RSh64Imm = (dst: Register, imm: number | bigint) => ALU64Imm(ALUOp.RSh, dst, imm);
export const RSh32Imm = (dst: Register, imm: number | bigint) => ALU32Imm(ALUOp.RSh, dst, imm);
export const Neg64 = (dst: Register) => new Instruction(Class.ALU64 | ALUOp.Neg, dst, 0, 0, 0n);

/** dst = *(size *)(src + off) */
export function LoadMem(dst: Register, src: Register, off: number, size: Size): Instruction {
  return new Instruction(Class.LDX | Mode.MEM | SIZE_BITS[size], dst, src, off16(off, "LoadMem"), 0n);
}
/** *(size *)(dst + off) = src */
export function StoreMem(dst: Register, off: number, src: Register, size: Size): Instruction {
  return new Instruction(Class.STX | Mode.MEM | SIZE_BITS[size], dst, src, off16(off, "StoreMem"), 0n);
}
/** *(size *)(dst + off) = imm */
export function StoreImm(dst: Register, off: number, imm: number | bigint, size: Size): Instruction {
  return new Instruction(Class.ST | Mode.MEM | SIZE_BITS[size], dst, 0, off16(off, "StoreImm"), imm32(imm, "StoreImm"));
}
/** lock *(size *)(dst + off) += src (BPF_ATOMIC BPF_ADD; W or DW) */
export function AtomicAdd(dst: Register, off: number, src: Register, size: Size): Instruction {
  if (size !== "W" && size !== "DW") throw new RangeError("AtomicAdd: size must be W or DW");
  return new Instruction(Class.STX | Mode.ATOMIC | SIZE_BITS[size], dst, src, off16(off, "AtomicAdd"), 0n);
}

/** dst = imm64 (two slots) */
export function LoadImm64(dst: Register, value: number | bigint): Instruction {
  const v = BigInt(value);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new RangeError(`LoadImm64: ${v} does not fit 64 bits`);
  return new Instruction(LD_IMM64, dst, 0, 0, BigInt.asIntN(64, v));
}
/** dst = the map with this fd */
export function LoadMapPtr(dst: Register, fd: number): Instruction {
  return new Instruction(LD_IMM64, dst, PSEUDO_MAP_FD, 0, BigInt(fd));
}
/** dst = the map named `name`; its fd comes from assemble(insns, { maps }) */
export function LoadMapRef(dst: Register, name: string): Instruction {
  return new Instruction(LD_IMM64, dst, PSEUDO_MAP_FD, 0, 0n, undefined, name);
}

function jump(cls: number, op: JumpOp, src: number, dst: Register, srcReg: Register, imm: number | bigint, label: string) {
  return new Instruction(cls | op | src, dst, srcReg, -1, imm32(imm, "Jump"), undefined, label);
}
export const JumpImm = (op: JumpOp, dst: Register, imm: number | bigint, label: string) =>
  jump(Class.JMP, op, Source.K, dst, 0, imm, label);
export const JumpReg = (op: JumpOp, dst: Register, src: Register, label: string) =>
  jump(Class.JMP, op, Source.X, dst, src, 0, label);
export const Jump32Imm = (op: JumpOp, dst: Register, imm: number | bigint, label: string) =>
  jump(Class.JMP32, op, Source.K, dst, 0, imm, label);
export const Jump32Reg = (op: JumpOp, dst: Register, src: Register, label: string) =>
  jump(Class.JMP32, op, Source.X, dst, src, 0, label);
export const Ja = (label: string) => jump(Class.JMP, JumpOp.Ja, Source.K, 0, 0, 0, label);

/** call a kernel helper (lib/bpf/asm Helper ids) */
export function Call(helper: number): Instruction {
  return new Instruction(Class.JMP | JumpOp.Call, 0, 0, 0, BigInt(helper));
}
/** bpf-to-bpf call to a label */
export function CallLabel(label: string): Instruction {
  return new Instruction(Class.JMP | JumpOp.Call, 0, PSEUDO_CALL, 0, -1n, undefined, label);
}
export function Exit(): Instruction {
  return new Instruction(Class.JMP | JumpOp.Exit, 0, 0, 0, 0n);
}
