// eBPF opcode bytes (include/uapi/linux/bpf_common.h, bpf.h) and their names in cilium/ebpf's
// notation (OpCode.String), so disassembly reads like runc's golden device-filter tests.

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
/** Bytes moved by a load or store of this size. */
export const SIZE_BYTES: Record<Size, number> = { B: 1, H: 2, W: 4, DW: 8 };

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

/** The operation of a BPF_ATOMIC store, carried in imm (BPF_FETCH = 0x01 asks for the old value). */
export const AtomicOp = {
  Add: 0x00, Or: 0x40, And: 0x50, Xor: 0xa0, FetchAdd: 0x01, FetchOr: 0x41, FetchAnd: 0x51, FetchXor: 0xa1,
  Xchg: 0xe1, CmpXchg: 0xf1,
} as const;
export type AtomicOp = (typeof AtomicOp)[keyof typeof AtomicOp];

const invert = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [v, k])) as Record<number, string>;
const ALU_NAMES = invert(ALUOp);
const JUMP_NAMES = invert(JumpOp);
const ATOMIC_NAMES = invert(AtomicOp);
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

/**
 * cilium/ebpf's OpCode.String(): LdXMemW, StXAtomicAddDW, AndImm32, NegImm, SwapLE, BSwap, JNEImm,
 * JGT32Reg, Ja, Call, Exit. An atomic store is named by its imm, hence `constant`.
 */
export function opcodeName(op: number, constant = 0n): string {
  const cls = opClass(op);
  const src = opSource(op) ? "Reg" : "Imm";
  if (isLoadOrStore(op)) {
    const mode = opMode(op);
    let name = CLASS_NAMES[cls]! + (MODE_NAMES[mode] ?? `Mode(${mode})`);
    if (mode === Mode.ATOMIC) name += ATOMIC_NAMES[Number(constant)] ?? `AtomicOp(${constant})`;
    return name + opSize(op);
  }
  if (isALU(op)) {
    const a = aluOp(op);
    if (a === ALUOp.Swap) return cls === Class.ALU64 ? "BSwap" : `Swap${opSource(op) ? "BE" : "LE"}`;
    return (ALU_NAMES[a] ?? `ALUOp(${a})`) + src + (cls === Class.ALU ? "32" : "");
  }
  const j = jumpOp(op);
  const name = (JUMP_NAMES[j] ?? `JumpOp(${j})`) + (cls === Class.JMP32 ? "32" : "");
  return j === JumpOp.Exit || j === JumpOp.Call || j === JumpOp.Ja ? name : name + src;
}
