// The BPF_PROG_TYPE_CGROUP_DEVICE program for a reduced device rule set, in the shape of runc's
// ebpf/devicefilter (after crun's ebpf.c): a prologue that loads struct bpf_cgroup_dev_ctx into
// registers, one block per exception (or run of them, below) labelled block-N, and a default.
// Before the exceptions, a program may hold the host's denies (labelled host-N): one block per host
// deny rule, checked first, so no exception after it can reach one. A host block tests the access in r0 (an exception
// block uses r1), which is how the way back tells the two apart. Unlike runc, a deny block
// matches when the requested access shares any bit with the rule (the v1 controller's partial
// match, so a request with no bits never matches one), an allow block only when the request is a
// subset of it. Also unlike runc, a run of adjacent exceptions that differ only in consecutive
// minors (c 200:0, c 200:1, … c 200:999, all rw) is one block testing lo <= minor <= hi: the
// verifier walks every block, so 1,000 such rules cost one block's load time, not 1,000.
//
// Also the way back: decompileDeviceFilter reads hookshim's and runc's program shapes (as the
// kernel reports them, xlated) and returns the blocks, one per exception (a range block gives one
// per minor), so the rules in force can be shown and edited.
import {
  ALUOp, Class, JumpOp, R0, R1, R2, R3, R4, R5, Source, Word, LoadMem, And32Imm, RSh32Imm, Mov32Reg, Mov32Imm, JumpImm,
  JumpReg, Jump32Imm, Exit, aluOp, isALU, isJump, jumpOp, opClass, opSource, type Instruction,
} from "../lib/bpf/asm/index.ts";
import { DevcgAccess, DevcgType } from "../lib/bpf/constants.ts";

/**
 * One exception of a v1 device list, and one block of the program: a device match and the access
 * bits it grants (default deny) or denies (default allow). The emulator (lib/devices) keeps its
 * list in this shape, so what it reduces is what the program encodes.
 */
export interface Exception {
  type: "b" | "c";
  /** -1: any */
  major: number;
  /** -1: any */
  minor: number;
  /** DevcgAccess bits */
  access: number;
}

/** A v1 list in reduced form: what one device program encodes after its host denies. */
export interface ReducedRules {
  defaultAllow: boolean;
  /** sorted by type, major, minor; wildcards first; none subsumed by another; each one block, or a run of them one */
  exceptions: Exception[];
}

/** A host deny block: it denies a request of the type and numbers that shares a bit with `access`. */
export interface HostDeny extends Exception {
  /** the rule it came from ("policy.rules[2]") */
  source?: string;
}

export interface FilterSpec extends ReducedRules {
  /** each becomes one deny block before the exceptions, in this order */
  hostDenies?: HostDeny[];
}

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
const PROLOGUE: readonly Instruction[] = [
  LoadMem(R2, R1, 0, Word), // r2 = type (low 16 bits)
  And32Imm(R2, 0xffff),
  LoadMem(R3, R1, 0, Word), // r3 = requested access (high 16 bits)
  RSh32Imm(R3, 16),
  LoadMem(R4, R1, 4, Word), // r4 = major
  LoadMem(R5, R1, 8, Word), // r5 = minor
];
export const PROLOGUE_LENGTH = PROLOGUE.length;
export const EPILOGUE_LENGTH = 2;

/** Instructions of one host deny block: type 1, access 3, major 1, minor 1, verdict 2. */
export function hostDenyInstructionCount(denies: readonly Exception[]): number {
  return denies.reduce((n, d) => n + 6 + (d.major >= 0 ? 1 : 0) + (d.minor >= 0 ? 1 : 0), 0);
}

const typeValue = (t: "b" | "c") => (t === "b" ? DevcgType.BLOCK : DevcgType.CHAR);

/** Compare a u32 context field with a number: a 64-bit jump sign-extends its immediate, so large numbers use JMP32. */
function jumpIf(op: JumpOp, reg: number, value: number, label: string): Instruction {
  return value <= 0x7fffffff ? JumpImm(op, reg, value, label) : Jump32Imm(op, reg, value | 0, label);
}

/** What one exception block encodes: `ex` for minors ex.minor..lastMinor (lastMinor = ex.minor but in a run). */
interface BlockMatch {
  ex: Exception;
  lastMinor: number;
}

/**
 * The exceptions as blocks: a run of two or more adjacent ones with the same type, major (not a
 * wildcard) and access and consecutive minors is one block. The order (sorted by minor within a
 * type and major) puts a run's members next to each other.
 */
function blockMatches(exceptions: readonly Exception[]): BlockMatch[] {
  const out: BlockMatch[] = [];
  for (const ex of exceptions) {
    const run = out.at(-1);
    const joins = run !== undefined && ex.major >= 0 && ex.minor >= 0 && run.lastMinor >= 0 && ex.minor === run.lastMinor + 1 &&
      ex.type === run.ex.type && ex.major === run.ex.major && ex.access === run.ex.access;
    if (joins) run.lastMinor = ex.minor;
    else out.push({ ex, lastMinor: ex.minor });
  }
  return out;
}

/**
 * The minor test: none for any minor, minor != N for one, and for a range lo..hi minor < lo and
 * minor > hi (unsigned). With lo 0 the first could never jump, so it is left out.
 */
function minorTest(first: number, last: number, next: string): Instruction[] {
  if (first < 0) return [];
  if (first === last) return [jumpIf(JumpOp.JNE, R5, first, next)];
  return [...(first > 0 ? [jumpIf(JumpOp.JLT, R5, first, next)] : []), jumpIf(JumpOp.JGT, R5, last, next)];
}

export function deviceFilterInstructions(spec: FilterSpec): Instruction[] {
  const insns: Instruction[] = [...PROLOGUE];
  const hostDenies = spec.hostDenies ?? [];
  hostDenies.forEach((d, i) => {
    const next = i + 1 < hostDenies.length ? `host-${i + 1}` : "block-0";
    // always an access test: a request with no bits (F_OK) passes a deny, as in v1
    const block: Instruction[] = [JumpImm(JumpOp.JNE, R2, typeValue(d.type), next), Mov32Reg(R0, R3), And32Imm(R0, d.access), JumpImm(JumpOp.JEq, R0, 0, next)];
    if (d.major >= 0) block.push(jumpIf(JumpOp.JNE, R4, d.major, next));
    block.push(...minorTest(d.minor, d.minor, next));
    block.push(Mov32Imm(R0, 0), Exit());
    block[0] = block[0]!.withSymbol(`host-${i}`);
    insns.push(...block);
  });
  const verdict = spec.defaultAllow ? 0 : 1;
  const matches = blockMatches(spec.exceptions);
  matches.forEach(({ ex, lastMinor }, i) => {
    const next = `block-${i + 1}`;
    const block: Instruction[] = [JumpImm(JumpOp.JNE, R2, typeValue(ex.type), next)];
    // A deny block always tests the access: a request with no bits (access(2) with F_OK) shares
    // none with the rule, and v1 lets it through. An rwm allow block needs no test: every request,
    // that one included, is a subset of rwm.
    if (spec.defaultAllow || (ex.access & DevcgAccess.ALL) !== DevcgAccess.ALL) {
      block.push(Mov32Reg(R1, R3), And32Imm(R1, ex.access));
      block.push(
        spec.defaultAllow
          ? JumpImm(JumpOp.JEq, R1, 0, next) // deny: any requested bit in the rule
          : JumpReg(JumpOp.JNE, R1, R3, next), // allow: every requested bit in the rule
      );
    }
    if (ex.major >= 0) block.push(jumpIf(JumpOp.JNE, R4, ex.major, next));
    block.push(...minorTest(ex.minor, lastMinor, next));
    block.push(Mov32Imm(R0, verdict), Exit());
    block[0] = block[0]!.withSymbol(`block-${i}`);
    insns.push(...block);
  });
  insns.push(Mov32Imm(R0, spec.defaultAllow ? 1 : 0).withSymbol(`block-${matches.length}`), Exit());
  return insns;
}

/** What runc would generate for the same exceptions, a block each (no ranges): 6 + per block (3 + access 3 + major 1 + minor 1) + 2. */
export function runcInstructionCount(spec: FilterSpec): number {
  let n = PROLOGUE_LENGTH + EPILOGUE_LENGTH;
  for (const ex of spec.exceptions)
    n += 3 + ((ex.access & DevcgAccess.ALL) !== DevcgAccess.ALL ? 3 : 0) + (ex.major >= 0 ? 1 : 0) + (ex.minor >= 0 ? 1 : 0);
  return n;
}

/** How a block tests the requested access. */
export type AccessTest = "none" | "subset" | "overlap";

export interface DecompiledBlock extends Exception {
  allow: boolean;
  test: AccessTest;
  /** the block decides as the v1 controller would for its rule */
  v1: boolean;
}

export interface DecompiledFilter {
  /** the host deny blocks before the exceptions (hookshim's programs only), in program order */
  hostDenies: Exception[];
  defaultAllow: boolean;
  blocks: DecompiledBlock[];
}

export class NotADeviceFilterError extends Error {
  constructor(at: number, what: string) {
    super(`instruction ${at}: ${what}: not a hookshim or runc device filter`);
    this.name = "NotADeviceFilterError";
  }
}

// The instruction kinds the two shapes use, tested with lib/bpf/asm's opcode fields. runc's
// programs and the kernel's rewrites use the 64-bit and 32-bit forms of some of them.
const ALU32 = [Class.ALU] as const;
const ANY_ALU = [Class.ALU, Class.ALU64] as const;
const JMP64 = [Class.JMP] as const;
const ANY_JMP = [Class.JMP, Class.JMP32] as const;
const isALUOp = (i: Instruction, op: ALUOp, source: number, classes: readonly number[]) =>
  isALU(i.opcode) && aluOp(i.opcode) === op && opSource(i.opcode) === source && classes.includes(opClass(i.opcode));
const isJumpOp = (i: Instruction, op: JumpOp, source: number, classes: readonly number[]) =>
  isJump(i.opcode) && jumpOp(i.opcode) === op && opSource(i.opcode) === source && classes.includes(opClass(i.opcode));
const isExit = (i: Instruction) => i.opcode === Exit().opcode;
/** The same instruction as `want` (a template built with the DSL), its label aside. */
const sameAs = (i: Instruction, want: Instruction) =>
  i.opcode === want.opcode && i.dst === want.dst && i.src === want.src && i.offset === want.offset && i.constant === want.constant;

const u32 = (c: bigint) => Number(BigInt.asUintN(32, c));

/**
 * The most exceptions a program is read back as. A range block stands for up to 2^32 of them;
 * hookshim's own programs come from config.json (16 MiB at most: some 300,000 rules), so a program
 * past this is not one of them and is not expanded.
 */
const MAX_DECOMPILED_EXCEPTIONS = 1 << 20;

/** Read the rules back from a program's instructions (lib/bpf/asm decode of the xlated bytes). */
export function decompileDeviceFilter(insns: Instruction[]): DecompiledFilter {
  const at = (pc: number) => {
    const i = insns[pc];
    if (!i) throw new NotADeviceFilterError(pc, "program ends early");
    return i;
  };
  const expect = (pc: number, ok: (i: Instruction) => boolean, what: string) => {
    if (!ok(at(pc))) throw new NotADeviceFilterError(pc, `expected ${what}`);
  };
  PROLOGUE.forEach((want, pc) => expect(pc, (i) => sameAs(i, want), String(want)));

  const verdictAt = (pc: number): number | undefined => {
    const mov = insns[pc];
    const exit = insns[pc + 1];
    if (!mov || !exit || !isExit(exit)) return undefined;
    if (isALUOp(mov, ALUOp.Mov, Source.K, ANY_ALU) && mov.dst === R0) return u32(mov.constant);
    return undefined;
  };

  /** One block at pc: its rule, its verdict, the register its access test uses, where it ends. */
  const blockAt = (pc: number) => {
    const head = at(pc);
    if (!(isJumpOp(head, JumpOp.JNE, Source.K, JMP64) && head.dst === R2)) throw new NotADeviceFilterError(pc, "expected a block's type test (if r2 != TYPE)");
    const next = pc + 1 + head.offset;
    const jumpsNext = (i: Instruction, p: number) => p + 1 + i.offset === next;
    const typeNum = u32(head.constant);
    if (typeNum !== DevcgType.BLOCK && typeNum !== DevcgType.CHAR) throw new NotADeviceFilterError(pc, `unknown device type ${typeNum}`);
    let p = pc + 1;
    let access: number = DevcgAccess.ALL;
    let test: AccessTest = "none";
    let scratch: number | undefined;
    for (const reg of [R1, R0]) {
      const mov = at(p);
      if (!(isALUOp(mov, ALUOp.Mov, Source.X, ANY_ALU) && mov.dst === reg && mov.src === R3)) continue;
      scratch = reg;
      expect(p + 1, (i) => isALUOp(i, ALUOp.And, Source.K, ALU32) && i.dst === reg, `w${reg} &= ACCESS`);
      access = u32(at(p + 1).constant);
      const t = at(p + 2);
      if (isJumpOp(t, JumpOp.JNE, Source.X, ANY_JMP) && t.dst === reg && t.src === R3 && jumpsNext(t, p + 2)) test = "subset";
      else if (isJumpOp(t, JumpOp.JEq, Source.K, ANY_JMP) && t.dst === reg && u32(t.constant) === 0 && jumpsNext(t, p + 2)) test = "overlap";
      else throw new NotADeviceFilterError(p + 2, "expected an access test jumping to the next block");
      p += 3;
      break;
    }
    /** The number a test `if REG OP N goto next` at p compares with, and p past it; undefined for another instruction. */
    const testOf = (op: JumpOp, reg: number): number | undefined => {
      const j = at(p);
      if (!(isJumpOp(j, op, Source.K, ANY_JMP) && j.dst === reg && jumpsNext(j, p))) return undefined;
      p++;
      return u32(j.constant);
    };
    const major = testOf(JumpOp.JNE, R4) ?? -1;
    // the minors: any (no test, -1..-1), one (!= N), or lo..hi (< lo, left out for 0, then > hi)
    let [minor, lastMinor] = [-1, -1];
    const one = testOf(JumpOp.JNE, R5);
    if (one !== undefined) [minor, lastMinor] = [one, one];
    else {
      const lo = testOf(JumpOp.JLT, R5);
      const hi = testOf(JumpOp.JGT, R5);
      if (hi !== undefined) [minor, lastMinor] = [lo ?? 0, hi];
      else if (lo !== undefined) throw new NotADeviceFilterError(p, "expected a minor range's upper bound (if r5 > HI)");
    }
    const verdict = verdictAt(p);
    if (verdict === undefined) throw new NotADeviceFilterError(p, "expected the block's verdict (r0 = N; exit)");
    if (p + 2 !== next) throw new NotADeviceFilterError(pc, "block does not end where its jumps lead");
    const allow = verdict !== 0;
    // an untested deny block also denies requests with no access bits, which v1 allows
    const v1 = allow ? test !== "overlap" : test === "overlap";
    const block: DecompiledBlock = { type: typeNum === DevcgType.BLOCK ? "b" : "c", major, minor, access, allow, test, v1 };
    return { block, lastMinor, host: scratch === R0, next };
  };

  const hostDenies: Exception[] = [];
  const blocks: DecompiledBlock[] = [];
  let count = 0;
  let pc = PROLOGUE_LENGTH;
  for (;;) {
    const end = verdictAt(pc);
    if (end !== undefined) {
      if (pc + 2 !== insns.length) throw new NotADeviceFilterError(pc + 2, "instructions after the default verdict");
      const defaultAllow = end !== 0;
      // A block whose verdict is the default changes nothing.
      return { hostDenies, defaultAllow, blocks: blocks.filter((b) => b.allow !== defaultAllow) };
    }
    const { block, lastMinor, host, next } = blockAt(pc);
    if (host) {
      if (blocks.length > 0) throw new NotADeviceFilterError(pc, "a host deny block after the exceptions");
      if (block.allow || block.test !== "overlap") throw new NotADeviceFilterError(pc, "a host block that is not a deny testing the access overlap");
    }
    // a range block is one exception per minor, as the emulator holds them; a wildcard is one (-1..-1)
    count += Math.max(0, lastMinor - block.minor + 1);
    if (count > MAX_DECOMPILED_EXCEPTIONS) throw new NotADeviceFilterError(pc, `more than ${MAX_DECOMPILED_EXCEPTIONS} exceptions`);
    for (let minor = block.minor; minor <= lastMinor; minor++) {
      const { type, major, access } = block;
      if (host) hostDenies.push({ type, major, minor, access });
      else blocks.push({ ...block, minor });
    }
    pc = next;
  }
}
