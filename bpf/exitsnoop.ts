// exitsnoop: the kernel half of exit tracking (after embedshim's pkg/exitsnoop). A raw tracepoint
// program on sched_process_exit, TP_PROTO(struct task_struct *p, bool group_dead), ctx = u64 args[]:
//
//   when the thread group dies (group_dead) and tracing_tasks has an entry for p->tgid:
//     if the task's active pid namespace (p->thread_pid->numbers[level].ns->ns.inum) is the one the
//     entry was traced with, write {tgid, p->exit_code, p->start_boottime, bpf_ktime_get_boot_ns()}
//     into exited_events[entry.traceId] (NOEXIST: the first exit wins);
//     drop the tracing entry either way: a namespace mismatch means the traced process was gone
//     before it was traced and its pid now belongs to someone else, so the entry can never match.
//
// Group death rather than "p->pid == p->tgid": the leader can die first (pthread_exit) or be killed
// by a non-leader thread's execve (de_thread), neither of which ends the process; the last thread's
// exit_code is the group's status whenever the group exits through exit_group or a fatal signal.
//
// Member offsets come from the running kernel's BTF at load time (no CO-RE relocations needed).
import {
  R0, R1, R2, R3, R4, R6, R7, R8, R9, R10,
  Mov64Reg, Mov64Imm, Add64Imm, ALU64Imm, ALU64Reg, ALUOp, LoadMem, StoreMem, LoadMapRef,
  JumpImm, JumpReg, JumpOp, Call, Helper, Exit, type Instruction,
} from "../lib/bpf/asm/index.ts";
import { groupDeadTest, type GroupDeadSource } from "./groupdead.ts";

/** Map names the program refers to (resolve with assemble(insns, { maps: { [name]: fd } })). */
export const EXITSNOOP_MAPS = { tracing: "tracing_tasks", exited: "exited_events" } as const;

/** tracing_tasks: key u32 tgid (host pid namespace) -> this value. */
export const TASK_INFO = { traceId: 0, pidnsIno: 8, size: 16 } as const;
export const TRACING_KEY_SIZE = 4;

/** exited_events: key u64 trace id -> this value. */
export const EXIT_STATUS = { pid: 0, waitStatus: 4, startBoottime: 8, exitedBoottime: 16, size: 24 } as const;
export const EXITED_KEY_SIZE = 8;

/** Byte offsets in kernel structures, read from BTF by the loader. */
export interface ExitsnoopOffsets {
  taskTgid: number;
  taskExitCode: number;
  taskStartBoottime: number;
  taskThreadPid: number;
  pidLevel: number;
  pidNumbers: number;
  upidSize: number;
  upidNs: number;
  pidnsNs: number;
  nsInum: number;
  groupDead: GroupDeadSource;
}

const BPF_NOEXIST = 1;

// Stack frame (offsets from r10).
const TGID = -8; // u32 tracing key
const SCRATCH = -16; // u64 probe-read target
const STATUS = -40; // EXIT_STATUS.size bytes: -40..-17
const TRACE_ID = -48; // u64 exited key

export function exitsnoopInstructions(o: ExitsnoopOffsets): Instruction[] {
  /** r1 = fp+dst, r2 = size, r3 already set: bpf_probe_read_kernel(fp+dst, size, r3) */
  const probeRead = (dst: number, size: number, bail: boolean): Instruction[] => [
    Mov64Reg(R1, R10),
    Add64Imm(R1, dst),
    Mov64Imm(R2, size),
    Call(Helper.ProbeReadKernel),
    ...(bail ? [JumpImm(JumpOp.JNE, R0, 0, "out")] : []),
  ];
  const fromTask = (off: number): Instruction[] => [Mov64Reg(R3, R7), Add64Imm(R3, off)];

  return [
    Mov64Reg(R6, R1),
    LoadMem(R7, R6, 0, "DW"), // args[0]: task
    ...groupDeadTest(o.groupDead, { ctx: R6, task: R7 }, SCRATCH, "out"),
    ...fromTask(o.taskTgid),
    ...probeRead(TGID, 4, true),

    LoadMapRef(R1, EXITSNOOP_MAPS.tracing),
    Mov64Reg(R2, R10),
    Add64Imm(R2, TGID),
    Call(Helper.MapLookupElem),
    JumpImm(JumpOp.JEq, R0, 0, "out"),
    Mov64Reg(R8, R0),

    // pid namespace inode: task->thread_pid->numbers[pid->level].ns->ns.inum
    ...fromTask(o.taskThreadPid),
    ...probeRead(SCRATCH, 8, true),
    LoadMem(R9, R10, SCRATCH, "DW"),
    Mov64Reg(R3, R9),
    Add64Imm(R3, o.pidLevel),
    ...probeRead(SCRATCH, 4, true),
    LoadMem(R3, R10, SCRATCH, "W"),
    ALU64Imm(ALUOp.And, R3, 0x3f), // MAX_PID_NS_LEVEL is 32
    ALU64Imm(ALUOp.Mul, R3, o.upidSize),
    ALU64Reg(ALUOp.Add, R3, R9),
    Add64Imm(R3, o.pidNumbers + o.upidNs),
    ...probeRead(SCRATCH, 8, true),
    LoadMem(R3, R10, SCRATCH, "DW"),
    Add64Imm(R3, o.pidnsNs + o.nsInum),
    ...probeRead(SCRATCH, 4, true),
    LoadMem(R1, R10, SCRATCH, "W"),
    LoadMem(R2, R8, TASK_INFO.pidnsIno, "DW"),
    JumpReg(JumpOp.JNE, R1, R2, "drop"),

    LoadMem(R1, R10, TGID, "W"),
    StoreMem(R10, STATUS + EXIT_STATUS.pid, R1, "W"),
    ...fromTask(o.taskExitCode),
    ...probeRead(STATUS + EXIT_STATUS.waitStatus, 4, false),
    ...fromTask(o.taskStartBoottime),
    ...probeRead(STATUS + EXIT_STATUS.startBoottime, 8, false),
    Call(Helper.KtimeGetBootNs),
    StoreMem(R10, STATUS + EXIT_STATUS.exitedBoottime, R0, "DW"),
    LoadMem(R1, R8, TASK_INFO.traceId, "DW"),
    StoreMem(R10, TRACE_ID, R1, "DW"),
    LoadMapRef(R1, EXITSNOOP_MAPS.exited),
    Mov64Reg(R2, R10),
    Add64Imm(R2, TRACE_ID),
    Mov64Reg(R3, R10),
    Add64Imm(R3, STATUS),
    Mov64Imm(R4, BPF_NOEXIST),
    Call(Helper.MapUpdateElem),

    LoadMapRef(R1, EXITSNOOP_MAPS.tracing).withSymbol("drop"),
    Mov64Reg(R2, R10),
    Add64Imm(R2, TGID),
    Call(Helper.MapDeleteElem),

    Mov64Imm(R0, 0).withSymbol("out"),
    Exit(),
  ];
}
