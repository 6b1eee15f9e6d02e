// "Has the whole thread group died?" at sched_process_exit, on every kernel from 5.10 on.
//
// Kernels since 6.16 pass it: TP_PROTO(struct task_struct *p, bool group_dead), read as args[1].
// Older ones (5.10, 5.15, 6.1, 6.12) pass only the task, and a raw tracepoint program that reads
// args[1] there is refused when it is attached (EINVAL: context access past the tracepoint's
// arguments). On those, do_exit() has already run `group_dead = atomic_dec_and_test(&tsk->signal->live)`
// before the tracepoint fires, so task->signal->live == 0 is the same test, made on the task: it is
// thread-group death, not "pid == tgid", so a leader that calls pthread_exit, or one replaced by a
// non-leader's execve (de_thread), does not count as the process ending.
//
// One difference remains: when two threads of a group exit at the same instant, both may see live
// == 0 and both pass. Programs using this record the first exit only (BPF_NOEXIST, or a tracing
// entry deleted on first use), and threads leaving through exit_group or a fatal signal all carry
// the group's exit code, so the recorded status is the group's.
import { R0, R1, R2, R3, R10, Mov64Reg, Mov64Imm, Add64Imm, And64Imm, LoadMem, JumpImm, JumpOp, Call, Helper, type Instruction, type Register } from "../lib/bpf/asm/index.ts";
import type { Btf } from "../lib/bpf/btf.ts";

export type GroupDeadSource =
  /** args[1] of the tracepoint */
  | { kind: "argument" }
  /** task->signal->live, read with bpf_probe_read_kernel */
  | { kind: "signal-live"; taskSignal: number; signalLive: number };

export const EXIT_TRACEPOINT = "sched_process_exit";

/** The task->signal->live test, which every kernel allows. */
export function signalLiveSource(btf: Btf): GroupDeadSource {
  return { kind: "signal-live", taskSignal: btf.memberOffset("task_struct", "signal"), signalLive: btf.memberOffset("signal_struct", "live") };
}

/** Which test this kernel allows, from its BTF: the argument where the tracepoint passes it. */
export function groupDeadSource(btf: Btf): GroupDeadSource {
  const args = btf.tracepointArgCount(EXIT_TRACEPOINT);
  return args !== undefined && args >= 2 ? { kind: "argument" } : signalLiveSource(btf);
}

/**
 * Instructions that jump to `notDead` unless the exiting task's thread group has died. `ctx` holds
 * the program's context (u64 args[]), `task` args[0]; `scratch` is an 8-byte stack slot (fp offset)
 * the test may overwrite. Clobbers r0-r3.
 */
export function groupDeadTest(src: GroupDeadSource, regs: { ctx: Register; task: Register }, scratch: number, notDead: string): Instruction[] {
  if (src.kind === "argument") {
    return [LoadMem(R1, regs.ctx, 8, "DW"), And64Imm(R1, 0xff), JumpImm(JumpOp.JEq, R1, 0, notDead)];
  }
  const probeRead = (size: number): Instruction[] => [
    Mov64Reg(R1, R10),
    Add64Imm(R1, scratch),
    Mov64Imm(R2, size),
    Call(Helper.ProbeReadKernel),
    JumpImm(JumpOp.JNE, R0, 0, notDead),
  ];
  return [
    Mov64Reg(R3, regs.task),
    Add64Imm(R3, src.taskSignal),
    ...probeRead(8),
    LoadMem(R3, R10, scratch, "DW"),
    Add64Imm(R3, src.signalLive),
    ...probeRead(4),
    LoadMem(R1, R10, scratch, "W"),
    JumpImm(JumpOp.JNE, R1, 0, notDead),
  ];
}
