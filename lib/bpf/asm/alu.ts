// Arithmetic builders: ALU64 works on the whole register, ALU (the "32" forms) on the low half and
// zero-extends the result.
import { Instruction } from "./instruction.ts";
import { Class, Source, ALUOp } from "./opcode.ts";
import { register, imm32, type Register } from "./register.ts";

export function ALU64Imm(op: ALUOp, dst: Register, imm: number | bigint): Instruction {
  return new Instruction(Class.ALU64 | op | Source.K, register(dst, "ALU64Imm"), 0, 0, imm32(imm, "ALU64Imm"));
}
export function ALU64Reg(op: ALUOp, dst: Register, src: Register): Instruction {
  return new Instruction(Class.ALU64 | op | Source.X, register(dst, "ALU64Reg"), register(src, "ALU64Reg"), 0, 0n);
}
export function ALU32Imm(op: ALUOp, dst: Register, imm: number | bigint): Instruction {
  return new Instruction(Class.ALU | op | Source.K, register(dst, "ALU32Imm"), 0, 0, imm32(imm, "ALU32Imm"));
}
export function ALU32Reg(op: ALUOp, dst: Register, src: Register): Instruction {
  return new Instruction(Class.ALU | op | Source.X, register(dst, "ALU32Reg"), register(src, "ALU32Reg"), 0, 0n);
}

type Imm = number | bigint;
export const Mov64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Mov, dst, imm);
export const Mov64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Mov, dst, src);
export const Mov32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.Mov, dst, imm);
export const Mov32Reg = (dst: Register, src: Register) => ALU32Reg(ALUOp.Mov, dst, src);
export const Add64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Add, dst, imm);
export const Add64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Add, dst, src);
export const Add32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.Add, dst, imm);
export const Add32Reg = (dst: Register, src: Register) => ALU32Reg(ALUOp.Add, dst, src);
export const Sub64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Sub, dst, imm);
export const Sub64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Sub, dst, src);
export const Sub32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.Sub, dst, imm);
export const Sub32Reg = (dst: Register, src: Register) => ALU32Reg(ALUOp.Sub, dst, src);
export const Mul64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Mul, dst, imm);
export const Mul64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Mul, dst, src);
export const Div64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Div, dst, imm);
export const Mod64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Mod, dst, imm);
export const And64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.And, dst, imm);
export const And64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.And, dst, src);
export const And32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.And, dst, imm);
export const And32Reg = (dst: Register, src: Register) => ALU32Reg(ALUOp.And, dst, src);
export const Or64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Or, dst, imm);
export const Or64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Or, dst, src);
export const Or32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.Or, dst, imm);
export const Xor64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.Xor, dst, imm);
export const Xor64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.Xor, dst, src);
export const Xor32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.Xor, dst, imm);
export const LSh64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.LSh, dst, imm);
export const LSh64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.LSh, dst, src);
export const LSh32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.LSh, dst, imm);
export const RSh64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.RSh, dst, imm);
export const RSh64Reg = (dst: Register, src: Register) => ALU64Reg(ALUOp.RSh, dst, src);
export const RSh32Imm = (dst: Register, imm: Imm) => ALU32Imm(ALUOp.RSh, dst, imm);
export const ArSh64Imm = (dst: Register, imm: Imm) => ALU64Imm(ALUOp.ArSh, dst, imm);
export const Neg64 = (dst: Register) => ALU64Imm(ALUOp.Neg, dst, 0);
export const Neg32 = (dst: Register) => ALU32Imm(ALUOp.Neg, dst, 0);
