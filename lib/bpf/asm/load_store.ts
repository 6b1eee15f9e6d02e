// Memory and 64-bit immediate builders. LD_IMM64 is the only two-slot instruction; with a pseudo
// src it carries a map fd instead of a number.
import { Instruction, PSEUDO_MAP_FD } from "./instruction.ts";
import { Class, Mode, SIZE_BITS, LD_IMM64, AtomicOp, type Size } from "./opcode.ts";
import { register, imm32, off16, type Register } from "./register.ts";

/** dst = *(size *)(src + off) */
export function LoadMem(dst: Register, src: Register, off: number, size: Size): Instruction {
  return new Instruction(
    Class.LDX | Mode.MEM | SIZE_BITS[size], register(dst, "LoadMem"), register(src, "LoadMem"), off16(off, "LoadMem"), 0n,
  );
}
/** *(size *)(dst + off) = src */
export function StoreMem(dst: Register, off: number, src: Register, size: Size): Instruction {
  return new Instruction(
    Class.STX | Mode.MEM | SIZE_BITS[size], register(dst, "StoreMem"), register(src, "StoreMem"), off16(off, "StoreMem"), 0n,
  );
}
/** *(size *)(dst + off) = imm (for DW: imm sign-extended) */
export function StoreImm(dst: Register, off: number, imm: number | bigint, size: Size): Instruction {
  return new Instruction(
    Class.ST | Mode.MEM | SIZE_BITS[size], register(dst, "StoreImm"), 0, off16(off, "StoreImm"), imm32(imm, "StoreImm"),
  );
}
/** atomically *(size *)(dst + off) op= src; the Fetch forms, Xchg and CmpXchg leave the old value in src (r0 for CmpXchg) */
export function Atomic(op: AtomicOp, dst: Register, off: number, src: Register, size: Size): Instruction {
  if (size !== "W" && size !== "DW") throw new RangeError(`Atomic: size must be W or DW, not ${size}`);
  return new Instruction(
    Class.STX | Mode.ATOMIC | SIZE_BITS[size], register(dst, "Atomic"), register(src, "Atomic"), off16(off, "Atomic"),
    BigInt(op),
  );
}
/** lock *(size *)(dst + off) += src */
export const AtomicAdd = (dst: Register, off: number, src: Register, size: Size) => Atomic(AtomicOp.Add, dst, off, src, size);

/** dst = value (two slots); values up to 2^64-1 are taken as bit patterns */
export function LoadImm64(dst: Register, value: number | bigint): Instruction {
  const v = BigInt(value);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new RangeError(`LoadImm64: ${v} does not fit 64 bits`);
  return new Instruction(LD_IMM64, register(dst, "LoadImm64"), 0, 0, BigInt.asIntN(64, v));
}
/** dst = the map with this fd */
export function LoadMapPtr(dst: Register, fd: number): Instruction {
  return new Instruction(LD_IMM64, register(dst, "LoadMapPtr"), PSEUDO_MAP_FD, 0, BigInt(fd));
}
/** dst = the map named `name`; its fd comes from assemble(insns, { maps }) */
export function LoadMapRef(dst: Register, name: string): Instruction {
  return new Instruction(LD_IMM64, register(dst, "LoadMapRef"), PSEUDO_MAP_FD, 0, 0n, undefined, name);
}
