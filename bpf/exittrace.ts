// exittrace: the kernel half of `hookshim trace exit`. A raw tracepoint program on
// sched_process_exit (ctx = u64 args[], args[0] the exiting task):
//
//   when the thread group dies (bpf/groupdead.ts) and the current task's v2 cgroup id is in cgroup_filter
//   (the exiting task is current at this tracepoint and still in its cgroup: cgroup_exit comes
//   later in do_exit), push {tgid, tid, parent's tgid, p->exit_code, cgroup id, boot ns, comm}
//   onto the exits queue; when the queue is full, count the loss in lost[0] instead.
//
// Group death, as in exitsnoop.ts: one record per process, carrying the group's wait status.
// The task_struct offsets come from the running kernel's BTF at load time.
import {
  R0, R1, R2, R3, R6, R7, R10,
  Mov64Reg, Mov64Imm, Add64Imm, And64Imm, RSh64Imm, LoadMem, StoreMem, StoreImm, LoadMapRef,
  JumpImm, JumpOp, Call, Helper, Exit, AtomicAdd, type Instruction,
} from "../lib/bpf/asm/index.ts";
import { groupDeadTest, type GroupDeadSource } from "./groupdead.ts";

/** Map names the program refers to (resolve with assemble(insns, { maps: { [name]: fd } })). */
export const EXITTRACE_MAPS = { filter: "cgroup_filter", exits: "exits", lost: "lost" } as const;

/** A queue element: one exited process. */
export const EXIT_RECORD = { tgid: 0, tid: 4, ppid: 8, waitStatus: 12, cgroupId: 16, bootNs: 24, comm: 32, commLen: 16, size: 48 } as const;

export interface ExittraceOffsets {
  taskExitCode: number;
  taskRealParent: number;
  taskTgid: number;
  groupDead: GroupDeadSource;
}

// Stack frame (offsets from r10).
const KEY = -8; // u64 cgroup id, the filter key
const REC = -56; // EXIT_RECORD.size bytes: -56..-9
const SCRATCH = -64; // u64: a probe-read pointer, then the lost counter's u32 key

export function exittraceInstructions(o: ExittraceOffsets): Instruction[] {
  const fp = (off: number): Instruction[] => [Mov64Reg(R1, R10), Add64Imm(R1, off)];
  return [
    Mov64Reg(R6, R1),
    LoadMem(R7, R6, 0, "DW"), // args[0]: task
    ...groupDeadTest(o.groupDead, { ctx: R6, task: R7 }, SCRATCH, "out"),

    Call(Helper.GetCurrentCgroupId),
    StoreMem(R10, KEY, R0, "DW"),
    LoadMapRef(R1, EXITTRACE_MAPS.filter),
    Mov64Reg(R2, R10),
    Add64Imm(R2, KEY),
    Call(Helper.MapLookupElem),
    JumpImm(JumpOp.JEq, R0, 0, "out"),

    LoadMem(R1, R10, KEY, "DW"),
    StoreMem(R10, REC + EXIT_RECORD.cgroupId, R1, "DW"),
    Call(Helper.GetCurrentPidTgid),
    StoreMem(R10, REC + EXIT_RECORD.tid, R0, "W"),
    RSh64Imm(R0, 32),
    StoreMem(R10, REC + EXIT_RECORD.tgid, R0, "W"),

    // bpf_probe_read_kernel zeroes its destination when it fails: no field is left uninitialised
    ...fp(REC + EXIT_RECORD.waitStatus),
    Mov64Imm(R2, 4),
    Mov64Reg(R3, R7),
    Add64Imm(R3, o.taskExitCode),
    Call(Helper.ProbeReadKernel),

    StoreImm(R10, REC + EXIT_RECORD.ppid, 0, "W"),
    ...fp(SCRATCH),
    Mov64Imm(R2, 8),
    Mov64Reg(R3, R7),
    Add64Imm(R3, o.taskRealParent),
    Call(Helper.ProbeReadKernel),
    JumpImm(JumpOp.JNE, R0, 0, "no_parent"),
    LoadMem(R3, R10, SCRATCH, "DW"),
    Add64Imm(R3, o.taskTgid),
    ...fp(REC + EXIT_RECORD.ppid),
    Mov64Imm(R2, 4),
    Call(Helper.ProbeReadKernel),

    Call(Helper.KtimeGetBootNs).withSymbol("no_parent"),
    StoreMem(R10, REC + EXIT_RECORD.bootNs, R0, "DW"),
    ...fp(REC + EXIT_RECORD.comm),
    Mov64Imm(R2, EXIT_RECORD.commLen),
    Call(Helper.GetCurrentComm),

    LoadMapRef(R1, EXITTRACE_MAPS.exits),
    Mov64Reg(R2, R10),
    Add64Imm(R2, REC),
    Mov64Imm(R3, 0), // not BPF_EXIST: a full queue keeps what it has and we count the loss
    Call(Helper.MapPushElem),
    JumpImm(JumpOp.JEq, R0, 0, "out"),

    StoreImm(R10, SCRATCH, 0, "W"),
    LoadMapRef(R1, EXITTRACE_MAPS.lost),
    Mov64Reg(R2, R10),
    Add64Imm(R2, SCRATCH),
    Call(Helper.MapLookupElem),
    JumpImm(JumpOp.JEq, R0, 0, "out"),
    Mov64Imm(R1, 1),
    AtomicAdd(R0, 0, R1, "DW"),

    Mov64Imm(R0, 0).withSymbol("out"),
    Exit(),
  ];
}
