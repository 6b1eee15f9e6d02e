// eBPF opcode bytes (include/uapi/linux/bpf_common.h, bpf.h) and their names in cilium/ebpf's
// notation, so disassembly reads like runc's golden device-filter tests.

export const Class = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
export const Source = { K: 0x00, X: 0x08 } as const;
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;

export type Size = "B" | "H" | "W" | "DW";
export const Byte: Size = "B";
export const Half: Size = "H";
export const Word: Size = "W";
export const DWord: Size = "DW";
export const SIZE_BITS: Record<Size, number> = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 };
const SIZE_BY_BITS: Record<number, Size> = { 0x00: "W", 0x08: "H", 0x10: "B", 0x18: "DW" };

export const ALUOp = {
  Add: 0x00, Sub: 0x10, Mul: 0x20, Div: 0x30, Or: 0x40, And: 0x50, LSh: 0x60, RSh: 0x70, Neg: 0x80, Mod: 0x90,
  Xor: 0xa0, Mov: 0xb0, ArSh: 0xc0, Swap: 0xd0,
} as const;
export type ALUOp = (typeof ALUOp)[keyof typeof ALUOp];

export const JumpOp = {
  Ja: 0x00, JEq: 0x10, JGT: 0x20, JGE: 0x30, JSet: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70, Call: 0x80, Exit: 0x90,
  JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0,
} as const;
export type JumpOp = (typeof JumpOp)[keyof typeof JumpOp];

const ALU_NAMES = Object.fromEntries(Object.entries(ALUOp).map(([k, v]) => [v, k])) as Record<number, string>;
const JUMP_NAMES = Object.fromEntries(Object.entries(JumpOp).map(([k, v]) => [v, k])) as Record<number, string>;
const CLASS_NAMES: Record<number, string> = { 0: "Ld", 1: "LdX", 2: "St", 3: "StX" };
const MODE_NAMES: Record<number, string> = { 0x00: "Imm", 0x20: "Abs", 0x40: "Ind", 0x60: "Mem", 0x80: "MemSX", 0xc0: "Atomic" };

export const opClass = (op: number) => op & 0x07;
export const isLoadOrStore = (op: number) => opClass(op) <= Class.STX;
export const isALU = (op: number) => opClass(op) === Class.ALU || opClass(op) === Class.ALU64;
export const isJump = (op: number) => opClass(op) === Class.JMP || opClass(op) === Class.JMP32;
export const opSize = (op: number): Size => SIZE_BY_BITS[op & 0x18]!;
export const opMode = (op: number) => op & 0xe0;
export const opSource = (op: number) => op & 0x08;
export const aluOp = (op: number) => op & 0xf0;
export const jumpOp = (op: number) => op & 0xf0;

/** LD_IMM64: the one instruction that takes two 8-byte slots. */
export const LD_IMM64 = Class.LD | Mode.IMM | SIZE_BITS.DW;

/** cilium/ebpf's OpCode.String(): LdXMemW, AndImm32, JNEReg, MovImm32, Exit ... */
export function opcodeName(op: number): string {
  const cls = opClass(op);
  if (isLoadOrStore(op)) {
    const mode = MODE_NAMES[opMode(op)] ?? `Mode(${opMode(op)})`;
    return `${CLASS_NAMES[cls]}${mode}${opSize(op)}`;
  }
  if (isALU(op)) {
    const name = ALU_NAMES[aluOp(op)] ?? `ALUOp(${aluOp(op)})`;
    if (aluOp(op) === ALUOp.Neg) return `${name}${cls === Class.ALU ? "32" : ""}`;
    return `${name}${opSource(op) ? "Reg" : "Imm"}${cls === Class.ALU ? "32" : ""}`;
  }
  const j = jumpOp(op);
  let name = (JUMP_NAMES[j] ?? `JumpOp(${j})`) + (cls === Class.JMP32 ? "32" : "");
  if (j !== JumpOp.Exit && j !== JumpOp.Call && j !== JumpOp.Ja) name += opSource(op) ? "Reg" : "Imm";
  return name;
}
