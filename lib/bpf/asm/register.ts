// Registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 callee-saved, r10 the
// read-only frame pointer.
export type Register = number;

export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
/** the read-only frame pointer */
export const RFP = R10;

/** A register number, refused at build time so a typo does not reach the verifier as a bad encoding. */
export function register(r: Register, what: string): Register {
  if (!Number.isInteger(r) || r < R0 || r > R10) throw new RangeError(`${what}: r${r} is not a register (r0-r10)`);
  return r;
}

/** imm as the kernel sees it: 32 bits, sign-extended; 0x80000000-0xffffffff are taken as bit patterns. */
export function imm32(v: number | bigint, what: string): bigint {
  const b = BigInt(v);
  if (b < -0x80000000n || b > 0xffffffffn) throw new RangeError(`${what}: immediate ${b} does not fit 32 bits`);
  return BigInt.asIntN(32, b);
}

export function off16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`${what}: offset ${v} does not fit 16 bits`);
  return v;
}
