// One eBPF instruction as the DSL builds it: the raw fields plus an optional symbol (a label
// defined at this instruction), reference (the label a jump targets, or the name of a map whose fd
// is filled in at assemble time) and comment. Immutable, so a builder's result can be reused: the
// with* methods return copies.
import {
  LD_IMM64, opcodeName, isLoadOrStore, isALU, isJump, opMode, Mode, aluOp, ALUOp, opSource, opClass, Class, jumpOp,
  JumpOp,
} from "./opcode.ts";
import { helperName } from "./helpers.ts";

/** LD_IMM64 src: imm is a map fd */
export const PSEUDO_MAP_FD = 1;
/** LD_IMM64 src: imm is a map fd, the upper half of the constant an offset into its value */
export const PSEUDO_MAP_VALUE = 2;
/** CALL src: imm is the slot distance to a bpf-to-bpf function */
export const PSEUDO_CALL = 1;
/** CALL src: imm is the BTF id of a kernel function */
export const PSEUDO_KFUNC_CALL = 2;

export class Instruction {
  constructor(
    readonly opcode: number,
    readonly dst: number,
    readonly src: number,
    /** jump/memory offset; -1 on a jump assemble() has not resolved yet, as cilium/ebpf prints it */
    readonly offset: number,
    /** imm, sign-extended; the whole 64-bit value for LD_IMM64 */
    readonly constant: bigint,
    readonly symbol?: string,
    readonly reference?: string,
    /** shown above the instruction by disassemble(), like cilium's asm.Comment source */
    readonly comment?: string,
  ) {}

  private with(f: Partial<Instruction>): Instruction {
    return new Instruction(
      f.opcode ?? this.opcode, f.dst ?? this.dst, f.src ?? this.src, f.offset ?? this.offset, f.constant ?? this.constant,
      "symbol" in f ? f.symbol : this.symbol, "reference" in f ? f.reference : this.reference,
      "comment" in f ? f.comment : this.comment,
    );
  }

  withSymbol(name: string): Instruction {
    return this.with({ symbol: name });
  }

  withReference(name: string): Instruction {
    return this.with({ reference: name });
  }

  withComment(text: string): Instruction {
    return this.with({ comment: text });
  }

  withOffset(offset: number): Instruction {
    return this.with({ offset });
  }

  withConstant(constant: bigint): Instruction {
    return this.with({ constant });
  }

  /** Raw 8-byte slots this instruction occupies. */
  get width(): number {
    return this.opcode === LD_IMM64 ? 2 : 1;
  }

  isLoadFromMap(): boolean {
    return this.opcode === LD_IMM64 && (this.src === PSEUDO_MAP_FD || this.src === PSEUDO_MAP_VALUE);
  }

  /** cilium/ebpf's Instruction.Format("%v"). */
  toString(): string {
    const op = this.opcode;
    const r = (n: number) => `r${n}`;
    if (isJump(op) && jumpOp(op) === JumpOp.Exit) return opcodeName(op);
    let s: string;
    if (this.isLoadFromMap()) {
      const fd = BigInt.asIntN(32, this.constant);
      s = this.src === PSEUDO_MAP_FD
        ? `LoadMapPtr dst: ${r(this.dst)} fd: ${fd}`
        : `LoadMapValue dst: ${r(this.dst)}, fd: ${fd} off: ${BigInt.asUintN(64, this.constant) >> 32n}`;
    } else if (isLoadOrStore(op)) {
      s = `${opcodeName(op, this.constant)} `;
      switch (opMode(op)) {
        case Mode.IMM: s += `dst: ${r(this.dst)} imm: ${this.constant}`; break;
        case Mode.ABS: s += `imm: ${this.constant}`; break;
        case Mode.IND: s += `dst: ${r(this.dst)} src: ${r(this.src)} imm: ${this.constant}`; break;
        case Mode.ATOMIC: s += `dst: ${r(this.dst)} src: ${r(this.src)} off: ${this.offset}`; break;
        default: s += `dst: ${r(this.dst)} src: ${r(this.src)} off: ${this.offset} imm: ${this.constant}`;
      }
    } else if (isALU(op)) {
      s = opcodeName(op);
      // cilium prints the width only for the unconditional 64-bit byte swap
      if (aluOp(op) === ALUOp.Swap && opClass(op) === Class.ALU64) s += String(this.constant);
      s += ` dst: ${r(this.dst)} `;
      if (aluOp(op) !== ALUOp.Swap) s += opSource(op) ? `src: ${r(this.src)}` : `imm: ${this.constant}`;
    } else {
      s = `${opcodeName(op)} `;
      switch (jumpOp(op)) {
        case JumpOp.Call:
          if (this.src === PSEUDO_CALL) s += String(this.constant);
          else if (this.src === PSEUDO_KFUNC_CALL) s += `Kfunc(${this.constant})`;
          else s += helperName(Number(this.constant));
          break;
        case JumpOp.Ja:
          s += opClass(op) === Class.JMP32 ? `imm: ${this.constant}` : `off: ${this.offset}`;
          break;
        default:
          s += `dst: ${r(this.dst)} off: ${this.offset} `;
          s += opSource(op) ? `src: ${r(this.src)}` : `imm: ${this.constant}`;
      }
    }
    return this.reference ? `${s} <${this.reference}>` : s;
  }
}
