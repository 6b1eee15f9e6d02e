// Instructions to the kernel's bytes and back. Labels and map names are resolved here, at the
// last moment, so programs can be built in any order and their maps created afterwards.
import { Instruction, PSEUDO_CALL } from "./instruction.ts";
import { LD_IMM64, Class, JumpOp, isJump, jumpOp, opClass } from "./opcode.ts";

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

/** Raw 8-byte slots the program occupies (what the verifier counts and jump offsets measure). */
export function rawLength(insns: readonly Instruction[]): number {
  let n = 0;
  for (const i of insns) n += i.width;
  return n;
}

function labelSlots(insns: readonly Instruction[]): Map<string, number> {
  const at = new Map<string, number>();
  let slot = 0;
  for (const i of insns) {
    if (i.symbol !== undefined) {
      if (at.has(i.symbol)) throw new AsmError(`duplicate label "${i.symbol}" (slots ${at.get(i.symbol)} and ${slot})`);
      at.set(i.symbol, slot);
    }
    slot += i.width;
  }
  return at;
}

/**
 * The same instructions with jump offsets, bpf-to-bpf call distances and map fds filled in.
 * References are kept, so disassemble(resolve(insns)) shows both the distance and the label.
 */
export function resolve(insns: readonly Instruction[], opts: AssembleOptions = {}): Instruction[] {
  const labels = labelSlots(insns);
  const out: Instruction[] = [];
  let slot = 0;
  for (const i of insns) {
    let r = i;
    const ref = i.reference;
    if (ref !== undefined) {
      if (i.isLoadFromMap()) {
        const fd = opts.maps?.[ref];
        if (fd === undefined) throw new AsmError(`slot ${slot}: map "${ref}" has no fd (pass it in maps)`);
        // the upper half is the offset into the value of a PSEUDO_MAP_VALUE load
        r = i.withConstant(BigInt.asIntN(64, (BigInt.asUintN(64, i.constant) & ~0xffffffffn) | BigInt.asUintN(32, BigInt(fd))));
      } else if (isJump(i.opcode)) {
        const target = labels.get(ref);
        if (target === undefined) throw new AsmError(`slot ${slot}: jump to undefined label "${ref}"`);
        const delta = target - (slot + 1);
        const op = jumpOp(i.opcode);
        if (op === JumpOp.Call && i.src === PSEUDO_CALL) r = i.withConstant(BigInt(delta));
        else if (op === JumpOp.Ja && opClass(i.opcode) === Class.JMP32) r = i.withConstant(BigInt(delta));
        else if (op === JumpOp.Call || op === JumpOp.Exit)
          throw new AsmError(`slot ${slot}: ${i} cannot refer to "${ref}"`);
        else {
          if (delta < -0x8000 || delta > 0x7fff)
            throw new AsmError(`slot ${slot}: jump to "${ref}" is ${delta} slots away, beyond the 16-bit offset`);
          r = i.withOffset(delta);
        }
      } else throw new AsmError(`slot ${slot}: ${i} cannot refer to "${ref}"`);
    }
    out.push(r);
    slot += i.width;
  }
  return out;
}

/** Raw little-endian bytes, 8 per slot, ready for BPF_PROG_LOAD. */
export function assemble(insns: readonly Instruction[], opts: AssembleOptions = {}): Uint8Array {
  const resolved = resolve(insns, opts);
  const bytes = new Uint8Array(rawLength(resolved) * 8);
  const dv = new DataView(bytes.buffer);
  let off = 0;
  for (const i of resolved) {
    if (i.dst < 0 || i.dst > 15 || i.src < 0 || i.src > 15) throw new AsmError(`slot ${off / 8}: ${i}: register out of range`);
    if (!Number.isInteger(i.offset) || i.offset < -0x8000 || i.offset > 0x7fff)
      throw new AsmError(`slot ${off / 8}: ${i}: offset ${i.offset} does not fit 16 bits`);
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

/** Bytes back into instructions: offsets as stored, no labels (as the kernel reports a program). */
export function decode(bytes: Uint8Array): Instruction[] {
  if (bytes.byteLength % 8) throw new AsmError(`program is ${bytes.byteLength} bytes, not a multiple of 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let off = 0; off < bytes.byteLength; ) {
    const opcode = dv.getUint8(off);
    const regs = dv.getUint8(off + 1);
    const offset = dv.getInt16(off + 2, true);
    if (opcode === LD_IMM64) {
      if (off + 16 > bytes.byteLength) throw new AsmError(`slot ${off / 8}: LD_IMM64 without its second half`);
      if (dv.getUint32(off + 8, true) !== 0) throw new AsmError(`slot ${off / 8 + 1}: second half of LD_IMM64 has non-zero fields`);
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
