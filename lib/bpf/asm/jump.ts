// Control flow builders. A jump names its target label; it carries offset -1 until assemble()
// (or resolve()) measures the distance, as cilium/ebpf does.
import { Instruction, PSEUDO_CALL } from "./instruction.ts";
import { Class, Source, JumpOp } from "./opcode.ts";
import { register, imm32, type Register } from "./register.ts";

function jump(cls: number, op: JumpOp, source: number, dst: Register, src: Register, imm: number | bigint, label: string) {
  if (op === JumpOp.Call || op === JumpOp.Exit) throw new RangeError("jumps: use Call() or Exit() for calls and exits");
  return new Instruction(cls | op | source, register(dst, "Jump"), register(src, "Jump"), -1, imm32(imm, "Jump"), undefined, label);
}

/** if dst op imm goto label (64-bit compare; imm sign-extended) */
export const JumpImm = (op: JumpOp, dst: Register, imm: number | bigint, label: string) =>
  jump(Class.JMP, op, Source.K, dst, 0, imm, label);
/** if dst op src goto label (64-bit compare) */
export const JumpReg = (op: JumpOp, dst: Register, src: Register, label: string) =>
  jump(Class.JMP, op, Source.X, dst, src, 0, label);
/** if (u32)dst op (u32)imm goto label */
export const Jump32Imm = (op: JumpOp, dst: Register, imm: number | bigint, label: string) =>
  jump(Class.JMP32, op, Source.K, dst, 0, imm, label);
/** if (u32)dst op (u32)src goto label */
export const Jump32Reg = (op: JumpOp, dst: Register, src: Register, label: string) =>
  jump(Class.JMP32, op, Source.X, dst, src, 0, label);
/** goto label */
export const Ja = (label: string) => jump(Class.JMP, JumpOp.Ja, Source.K, 0, 0, 0, label);

/** r0 = helper(r1, ..., r5); ids in Helper */
export function Call(helper: number): Instruction {
  return new Instruction(Class.JMP | JumpOp.Call, 0, 0, 0, BigInt(helper));
}
/** bpf-to-bpf call to the function starting at label */
export function CallLabel(label: string): Instruction {
  return new Instruction(Class.JMP | JumpOp.Call, 0, PSEUDO_CALL, 0, -1n, undefined, label);
}
/** return r0 */
export function Exit(): Instruction {
  return new Instruction(Class.JMP | JumpOp.Exit, 0, 0, 0, 0n);
}
