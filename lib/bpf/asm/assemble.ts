// Turning instructions into the kernel's bytes and back, with labels resolved at encode time.
import { Instruction, PSEUDO_MAP_FD, PSEUDO_CALL } from "./instruction.ts";
import { LD_IMM64, isJump, jumpOp, JumpOp } from "./opcode.ts";

export class AsmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AsmError";
  }
}

export interface AssembleOptions {
  /** map name -> fd, for LoadMapRef */
  maps?: Record<string, number>;
}

export function rawLength(insns: Instruction[]): number {
  let n = 0;
  for (const i of insns) n += i.width;
  return n;
}

function labelSlots(insns: Instruction[]): Map<string, number> {
  const at = new Map<string, number>();
  let slot = 0;
  for (const i of insns) {
    if (i.symbol !== undefined) {
      if (at.has(i.symbol)) throw new AsmError(`duplicate label "${i.symbol}"`);
      at.set(i.symbol, slot);
    }
    slot += i.width;
  }
  return at;
}

/** Instructions with jump offsets, call targets and map fds filled in (references kept for display). */
export function resolve(insns: Instruction[], opts: AssembleOptions = {}): Instruction[] {
  const labels = labelSlots(insns);
  const out: Instruction[] = [];
  let slot = 0;
  for (const i of insns) {
    let r = i;
    if (i.reference !== undefined) {
      if (i.opcode === LD_IMM64 && i.src === PSEUDO_MAP_FD) {
        const fd = opts.maps?.[i.reference];
        if (fd === undefined) throw new AsmError(`instruction ${slot}: map "${i.reference}" has no fd (pass it in maps)`);
        r = i.withConstant(BigInt(fd));
      } else if (isJump(i.opcode)) {
        const target = labels.get(i.reference);
        if (target === undefined) throw new AsmError(`instruction ${slot}: jump to undefined label "${i.reference}"`);
        const delta = target - (slot + 1);
        if (jumpOp(i.opcode) === JumpOp.Call && i.src === PSEUDO_CALL) r = i.withConstant(BigInt(delta));
        else {
          if (delta < -0x8000 || delta > 0x7fff)
            throw new AsmError(`instruction ${slot}: jump to "${i.reference}" is ${delta} slots away, beyond the 16-bit offset`);
          r = i.withOffset(delta);
        }
      }
    }
    out.push(r);
    slot += i.width;
  }
  return out;
}

/** Raw little-endian bytes, 8 per slot, ready for BPF_PROG_LOAD. */
export function assemble(insns: Instruction[], opts: AssembleOptions = {}): Uint8Array {
  const resolved = resolve(insns, opts);
  const bytes = new Uint8Array(rawLength(resolved) * 8);
  const dv = new DataView(bytes.buffer);
  let off = 0;
  for (const i of resolved) {
    if (i.dst < 0 || i.dst > 10 || i.src < 0 || i.src > 15) throw new AsmError(`instruction ${off / 8}: bad register`);
    dv.setUint8(off, i.opcode);
    dv.setUint8(off + 1, (i.src << 4) | i.dst);
    dv.setInt16(off + 2, i.offset, true);
    if (i.opcode === LD_IMM64) {
      const u = BigInt.asUintN(64, i.constant);
      dv.setUint32(off + 4, Number(u & 0xffffffffn), true);
      dv.setUint32(off + 12, Number(u >> 32n), true);
      off += 16;
    } else {
      dv.setInt32(off + 4, Number(BigInt.asIntN(32, i.constant)), true);
      off += 8;
    }
  }
  return bytes;
}

/** Bytes back into instructions (offsets as stored; no labels). */
export function decode(bytes: Uint8Array): Instruction[] {
  if (bytes.byteLength % 8) throw new AsmError(`program is ${bytes.byteLength} bytes, not a multiple of 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let off = 0; off < bytes.byteLength; ) {
    const opcode = dv.getUint8(off);
    const regs = dv.getUint8(off + 1);
    const offset = dv.getInt16(off + 2, true);
    if (opcode === LD_IMM64) {
      if (off + 16 > bytes.byteLength) throw new AsmError(`instruction ${off / 8}: LD_IMM64 without its second half`);
      const lo = BigInt(dv.getUint32(off + 4, true));
      const hi = BigInt(dv.getUint32(off + 12, true));
      out.push(new Instruction(opcode, regs & 0xf, regs >> 4, offset, BigInt.asIntN(64, (hi << 32n) | lo)));
      off += 16;
    } else {
      out.push(new Instruction(opcode, regs & 0xf, regs >> 4, offset, BigInt(dv.getInt32(off + 4, true))));
      off += 8;
    }
  }
  return out;
}

/** cilium/ebpf's Instructions.Format: symbol lines, then `\t<slot>: <instruction>`. */
export function disassemble(insns: Instruction[]): string {
  const width = String(Math.max(0, rawLength(insns) - 1)).length;
  const lines: string[] = [];
  let slot = 0;
  for (const i of insns) {
    if (i.symbol !== undefined) lines.push(`${i.symbol}:`);
    lines.push(`\t${String(slot).padStart(width)}: ${i.toString()}`);
    slot += i.width;
  }
  return lines.join("\n") + "\n";
}
