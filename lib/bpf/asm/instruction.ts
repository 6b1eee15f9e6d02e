// One eBPF instruction as the DSL builds it: raw fields plus an optional symbol (a label defined at
// this instruction) and reference (the label a jump targets, or the name of a map whose fd is filled
// in at assemble time). Immutable: withSymbol returns a copy.
import { LD_IMM64, opcodeName, isLoadOrStore, isALU, isJump, opMode, Mode, aluOp, ALUOp, opSource, jumpOp, JumpOp } from "./opcode.ts";
import { helperName } from "./helpers.ts";

export const PSEUDO_MAP_FD = 1;
export const PSEUDO_MAP_VALUE = 2;
export const PSEUDO_CALL = 1;

export class Instruction {
  constructor(
    readonly opcode: number,
    readonly dst: number,
    readonly src: number,
    /** jump/memory offset; -1 on an unresolved jump, as cilium/ebpf prints it */
    readonly offset: number,
    /** imm, sign-extended; the full 64-bit value for LD_IMM64 */
    readonly constant: bigint,
    readonly symbol?: string,
    readonly reference?: string,
  ) {}

  withSymbol(name: string): Instruction {
    return new Instruction(this.opcode, this.dst, this.src, this.offset, this.constant, name, this.reference);
  }

  withReference(name: string): Instruction {
    return new Instruction(this.opcode, this.dst, this.src, this.offset, this.constant, this.symbol, name);
  }

  withOffset(offset: number): Instruction {
    return new Instruction(this.opcode, this.dst, this.src, offset, this.constant, this.symbol, this.reference);
  }

  withConstant(constant: bigint): Instruction {
    return new Instruction(this.opcode, this.dst, this.src, this.offset, constant, this.symbol, this.reference);
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
    let s: string;
    if (isJump(op) && jumpOp(op) === JumpOp.Exit) s = opcodeName(op);
    else if (this.isLoadFromMap()) {
      s = this.src === PSEUDO_MAP_FD
        ? this.reference
          ? `LoadMapPtr dst: ${r(this.dst)} map: ${this.reference}`
          : `LoadMapPtr dst: ${r(this.dst)} fd: ${this.constant}`
        : `LoadMapValue dst: ${r(this.dst)} fd: ${this.constant & 0xffffffffn} off: ${this.constant >> 32n}`;
      return s; // the map name already names the reference
    } else {
      s = `${opcodeName(op)} `;
      if (isLoadOrStore(op)) {
        switch (opMode(op)) {
          case Mode.IMM: s += `dst: ${r(this.dst)} imm: ${this.constant}`; break;
          case Mode.ABS: s += `imm: ${this.constant}`; break;
          case Mode.IND: s += `dst: ${r(this.dst)} src: ${r(this.src)} imm: ${this.constant}`; break;
          case Mode.ATOMIC: s += `dst: ${r(this.dst)} src: ${r(this.src)} off: ${this.offset} imm: ${this.constant}`; break;
          default: s += `dst: ${r(this.dst)} src: ${r(this.src)} off: ${this.offset} imm: ${this.constant}`;
        }
      } else if (isALU(op)) {
        s += `dst: ${r(this.dst)} `;
        s += aluOp(op) === ALUOp.Swap || !opSource(op) ? `imm: ${this.constant}` : `src: ${r(this.src)}`;
      } else if (jumpOp(op) === JumpOp.Call) {
        s += this.src === PSEUDO_CALL ? String(this.constant) : helperName(Number(this.constant));
      } else {
        s += `dst: ${r(this.dst)} off: ${this.offset} `;
        s += opSource(op) ? `src: ${r(this.src)}` : `imm: ${this.constant}`;
      }
    }
    if (this.reference) s += ` <${this.reference}>`;
    return s;
  }
}
