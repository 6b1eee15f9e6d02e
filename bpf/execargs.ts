// execargs: the argv of every execve, captured at sys_enter_execve before the exec happens, so the
// notifier can read a runtime's arguments while fanotify holds its FAN_OPEN_EXEC_PERM event (by then
// /proc/PID/cmdline still shows the old program). A BPF_PROG_TYPE_TRACEPOINT program:
//
//   rec = scratch[0]                     (per-CPU array: the record is too big for the 512-byte stack)
//   rec.filename = probe_read_user_str(ctx->filename)
//   unless basename(rec.filename) is a watched name: return   (only runtime execs take a slot)
//   rec.tid, rec.tgid, rec.uid, rec.gid, rec.ktimeNs = current
//   for i < MAX_ARGS: p = argv[i]; if p == NULL break; rec.args[i] = probe_read_user_str(p); argc++
//   rec.flags |= TRUNCATED when argv[MAX_ARGS] != NULL
//   records[tid] = rec                   (LRU hash: records nobody takes age out)
//
// Keyed by thread id: fanotify (FAN_REPORT_TID) reports the thread that opens the binary for exec,
// which is the thread that entered execve. The field offsets of the tracepoint record come from
// tracefs (events/syscalls/sys_enter_execve/format), not from constants.
//
// The basename filter compares the tail of the filename against each watched name with byte
// immediates, found from the length probe_read_user_str returns: no loop over the path. An exec through
// a link of another name is not recorded; the notifier then reads /proc (and counts the fallback).
// An unwatched exec costs one map lookup, one string read and the comparison: the filter comes first.
// No tracepoint fires for the watched inodes only: sys_enter_execve(at) runs before the path is
// resolved, so only the name can be compared here. Filtering by inode needs the opened file, i.e.
// fentry/LSM on security_bprm_check with BTF-relocated offsets, which lib/bpf does not load; and
// sched_process_exec comes after fanotify has been answered, too late for the argv to be read while
// the exec is held.
// The uid is the exec's real uid, whose claims the notifier then checks (see lib/notifier/trust.ts).
import {
  R0, R1, R2, R3, R4, R6, R7, R8, R9, R10,
  Mov64Reg, Mov64Imm, Add64Imm, ALU64Imm, ALUOp, LoadMem, StoreMem, StoreImm, LoadMapRef,
  Add64Reg, Ja, JumpImm, JumpOp, Call, Helper, Exit, type Instruction,
} from "../lib/bpf/asm/index.ts";

export const EXECARGS_MAPS = { scratch: "execargs_scratch", records: "execargs_records" } as const;

export const EXECARGS_MAX_ARGS = 20;
export const EXECARGS_ARG_SIZE = 256;

/** records: key u32 tid -> this value (also the layout of the scratch slot). */
export const EXEC_RECORD = {
  tid: 0,
  tgid: 4,
  argc: 8,
  flags: 12,
  ktimeNs: 16,
  uid: 24,
  gid: 28,
  filename: 32,
  args: 32 + EXECARGS_ARG_SIZE,
  size: 32 + EXECARGS_ARG_SIZE * (1 + EXECARGS_MAX_ARGS),
} as const;
export const EXEC_RECORD_KEY_SIZE = 4;
/** flags: argv had more than EXECARGS_MAX_ARGS arguments */
export const EXEC_FLAG_TRUNCATED = 1;

/** Byte offsets of the sys_enter_execve(at) tracepoint record's pointer fields. */
export interface ExecveTracepointOffsets {
  filename: number;
  argv: number;
}

const BPF_ANY = 0;
const ZERO_KEY = -4; // u32 scratch index
const TID_KEY = -8; // u32 records key
const ARG_PTR = -16; // u64 argv[i]

/**
 * Instructions that go on at "record" when the filename in the record (R7) has one of `names` as its
 * basename and jump to "out" otherwise. R9 holds probe_read_user_str's result: the length with the NUL.
 */
function basenameFilter(names: readonly string[]): Instruction[] {
  const out: Instruction[] = [];
  const encoder = new TextEncoder();
  names.forEach((name, k) => {
    const b = encoder.encode(name);
    if (!b.length || b.length >= EXECARGS_ARG_SIZE - 1 || b.includes(0x2f))
      throw new RangeError(`execargs: watched name ${JSON.stringify(name)} is not a file name shorter than ${EXECARGS_ARG_SIZE - 1} bytes`);
    const next = `name_${k + 1}`;
    // R1 = rec + length, so the name's last byte is at R1 + filename - 2; the bounds let the
    // verifier prove every access stays inside the filename field.
    const block: Instruction[] = [
      JumpImm(JumpOp.JLT, R9, b.length + 1, next),
      JumpImm(JumpOp.JGT, R9, EXECARGS_ARG_SIZE, next),
      Mov64Reg(R1, R7),
      Add64Reg(R1, R9),
    ];
    const tail = EXEC_RECORD.filename - 1 - b.length;
    b.forEach((byte, j) => block.push(LoadMem(R2, R1, tail + j, "B"), JumpImm(JumpOp.JNE, R2, byte, next)));
    block.push(
      JumpImm(JumpOp.JEq, R9, b.length + 1, "record"), // the whole filename is the name
      LoadMem(R2, R1, tail - 1, "B"),
      JumpImm(JumpOp.JEq, R2, 0x2f, "record"), // "/" before it
    );
    block[0] = block[0]!.withSymbol(`name_${k}`);
    out.push(...block);
  });
  out.push(Ja("out").withSymbol(`name_${names.length}`));
  return out;
}

/**
 * The program for a tracepoint record layout. `watchedNames`: basenames whose execs are recorded (the
 * runtime binaries); empty records every exec.
 */
export function execargsInstructions(o: ExecveTracepointOffsets, watchedNames: readonly string[] = [], opts: { recordEmptyFilename?: boolean } = {}): Instruction[] {
  const readArgPointer = (i: number): Instruction[] => [
    Mov64Reg(R1, R10),
    Add64Imm(R1, ARG_PTR),
    Mov64Imm(R2, 8),
    Mov64Reg(R3, R9),
    Add64Imm(R3, i * 8),
    Call(Helper.ProbeReadUser),
    JumpImm(JumpOp.JNE, R0, 0, "store"),
    LoadMem(R3, R10, ARG_PTR, "DW"),
    JumpImm(JumpOp.JEq, R3, 0, "store"),
  ];
  const args: Instruction[] = [];
  for (let i = 0; i < EXECARGS_MAX_ARGS; i++) {
    args.push(
      ...readArgPointer(i),
      Mov64Reg(R1, R7),
      Add64Imm(R1, EXEC_RECORD.args + i * EXECARGS_ARG_SIZE),
      Mov64Imm(R2, EXECARGS_ARG_SIZE),
      Call(Helper.ProbeReadUserStr),
      Add64Imm(R8, 1),
    );
  }

  return [
    Mov64Reg(R6, R1),
    StoreImm(R10, ZERO_KEY, 0, "W"),
    LoadMapRef(R1, EXECARGS_MAPS.scratch),
    Mov64Reg(R2, R10),
    Add64Imm(R2, ZERO_KEY),
    Call(Helper.MapLookupElem),
    JumpImm(JumpOp.JEq, R0, 0, "out"),
    Mov64Reg(R7, R0),

    Mov64Reg(R1, R7),
    Add64Imm(R1, EXEC_RECORD.filename),
    Mov64Imm(R2, EXECARGS_ARG_SIZE),
    LoadMem(R3, R6, o.filename, "DW"),
    Call(Helper.ProbeReadUserStr),
    // execveat(fd, "", ..., AT_EMPTY_PATH) (fexecve, the shim's exec of the lower runtime) names no
    // file: recorded when asked, the fanotify event says which binary it was. The empty string reads
    // as length 1, or 0 on older kernels such as 6.1 (there the NUL of an empty string is not counted).
    ...(watchedNames.length
      ? [Mov64Reg(R9, R0), ...(opts.recordEmptyFilename ? [JumpImm(JumpOp.JLE, R9, 1, "record")] : []), ...basenameFilter(watchedNames)]
      : []),

    Call(Helper.GetCurrentPidTgid).withSymbol("record"),
    StoreMem(R7, EXEC_RECORD.tid, R0, "W"),
    StoreMem(R10, TID_KEY, R0, "W"),
    ALU64Imm(ALUOp.RSh, R0, 32),
    StoreMem(R7, EXEC_RECORD.tgid, R0, "W"),
    Call(Helper.GetCurrentUidGid),
    StoreMem(R7, EXEC_RECORD.uid, R0, "W"),
    ALU64Imm(ALUOp.RSh, R0, 32),
    StoreMem(R7, EXEC_RECORD.gid, R0, "W"),
    StoreImm(R7, EXEC_RECORD.flags, 0, "W"),
    Call(Helper.KtimeGetNs),
    StoreMem(R7, EXEC_RECORD.ktimeNs, R0, "DW"),

    LoadMem(R9, R6, o.argv, "DW"),
    Mov64Imm(R8, 0), // argc
    ...args,
    // all MAX_ARGS taken: is there more?
    ...readArgPointer(EXECARGS_MAX_ARGS),
    StoreImm(R7, EXEC_RECORD.flags, EXEC_FLAG_TRUNCATED, "W"),

    StoreMem(R7, EXEC_RECORD.argc, R8, "W").withSymbol("store"),
    LoadMapRef(R1, EXECARGS_MAPS.records),
    Mov64Reg(R2, R10),
    Add64Imm(R2, TID_KEY),
    Mov64Reg(R3, R7),
    Mov64Imm(R4, BPF_ANY),
    Call(Helper.MapUpdateElem),

    Mov64Imm(R0, 0).withSymbol("out"),
    Exit(),
  ];
}

export interface ExecRecord {
  tid: number;
  tgid: number;
  /** real uid and gid of the exec'ing task */
  uid: number;
  gid: number;
  /** CLOCK_MONOTONIC ns (bpf_ktime_get_ns) at sys_enter_execve */
  ktimeNs: bigint;
  filename: string;
  argv: string[];
  /** argv had more arguments than the record holds */
  truncated: boolean;
}

const decoder = new TextDecoder();
function field(rec: Uint8Array, off: number, size: number): string {
  const f = rec.subarray(off, off + size);
  const end = f.indexOf(0);
  return decoder.decode(end < 0 ? f : f.subarray(0, end));
}

/**
 * Whether argument `i` of a record is exactly `ascii` (with its NUL), read in place: for the
 * permission worker, which decides before answering and so decodes nothing there.
 */
export function execRecordArgIs(rec: Uint8Array, i: number, ascii: string): boolean {
  const at = EXEC_RECORD.args + i * EXECARGS_ARG_SIZE;
  if (ascii.length >= EXECARGS_ARG_SIZE) return false;
  for (let j = 0; j < ascii.length; j++) if (rec[at + j] !== ascii.charCodeAt(j)) return false;
  return rec[at + ascii.length] === 0;
}

/** A little-endian u32 of the record, read in place (no DataView: the worker's answer path allocates nothing). */
const u32At = (rec: Uint8Array, off: number) => (rec[off]! | (rec[off + 1]! << 8) | (rec[off + 2]! << 16) | (rec[off + 3]! << 24)) >>> 0;

/** The record's argc, as far as it holds arguments. */
export function execRecordArgc(rec: Uint8Array): number {
  return Math.min(u32At(rec, EXEC_RECORD.argc), EXECARGS_MAX_ARGS);
}

/** The exec's uid, read in place. */
export function execRecordUid(rec: Uint8Array): number {
  return u32At(rec, EXEC_RECORD.uid);
}

export function decodeExecRecord(rec: Uint8Array): ExecRecord {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const argc = execRecordArgc(rec);
  const argv: string[] = [];
  for (let i = 0; i < argc; i++) argv.push(field(rec, EXEC_RECORD.args + i * EXECARGS_ARG_SIZE, EXECARGS_ARG_SIZE));
  return {
    tid: dv.getUint32(EXEC_RECORD.tid, true),
    tgid: dv.getUint32(EXEC_RECORD.tgid, true),
    uid: dv.getUint32(EXEC_RECORD.uid, true),
    gid: dv.getUint32(EXEC_RECORD.gid, true),
    ktimeNs: dv.getBigUint64(EXEC_RECORD.ktimeNs, true),
    filename: field(rec, EXEC_RECORD.filename, EXECARGS_ARG_SIZE),
    argv,
    truncated: (dv.getUint32(EXEC_RECORD.flags, true) & EXEC_FLAG_TRUNCATED) !== 0,
  };
}
