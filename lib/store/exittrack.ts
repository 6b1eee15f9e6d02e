// Loading the exit program (bpf/exitsnoop.ts) once per store: the raw tracepoint link is pinned next
// to the maps so the program outlives whoever loaded it. A later caller finds the pinned link, checks
// that its program is alive and still uses this store's maps, and does nothing; otherwise (a link
// left defunct, maps re-created under it) it replaces the pin with a fresh load.
import { join } from "../posix-path.ts";
import { BpfLink, BpfMap, BpfProgram, ProgType, progInfoByFd, progFdById, rawTracepointOpen } from "../bpf/index.ts";
import { assemble } from "../bpf/asm/index.ts";
import { kernelBtf } from "../bpf/btf.ts";
import { close, isErrno } from "../sys/index.ts";
import { removeTree } from "../sys/file.ts";
import { EXITSNOOP_MAPS, exitsnoopInstructions, type ExitsnoopOffsets } from "../../bpf/exitsnoop.ts";
import { EXIT_TRACEPOINT, groupDeadSource } from "../../bpf/groupdead.ts";
import { PIN } from "./paths.ts";

export { EXIT_TRACEPOINT };
const PROGRAM_NAME = "hs_exitsnoop";

export interface ExitProgramState {
  /** true when this call loaded and pinned the program */
  loaded: boolean;
  progId: number;
  linkId: number;
}

let cachedOffsets: ExitsnoopOffsets | undefined;

/** Kernel structure offsets the program needs, from /sys/kernel/btf/vmlinux. */
export function exitsnoopOffsets(): ExitsnoopOffsets {
  if (cachedOffsets) return cachedOffsets;
  const btf = kernelBtf();
  cachedOffsets = {
    taskTgid: btf.memberOffset("task_struct", "tgid"),
    taskExitCode: btf.memberOffset("task_struct", "exit_code"),
    taskStartBoottime: btf.memberOffset("task_struct", "start_boottime"),
    taskThreadPid: btf.memberOffset("task_struct", "thread_pid"),
    pidLevel: btf.memberOffset("pid", "level"),
    pidNumbers: btf.memberOffset("pid", "numbers"),
    upidSize: btf.structSize("upid"),
    upidNs: btf.memberOffset("upid", "ns"),
    pidnsNs: btf.memberOffset("pid_namespace", "ns"),
    nsInum: btf.memberOffset("ns_common", "inum"),
    groupDead: groupDeadSource(btf),
  };
  return cachedOffsets;
}

/** The running exit program's ids when the pinned link is alive and bound to these maps. */
export function pinnedExitProgram(dir: string, maps: { tracing: BpfMap; exited: BpfMap }): ExitProgramState | undefined {
  let link: BpfLink;
  try {
    link = BpfLink.fromPin(join(dir, PIN.exitLink));
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw e;
  }
  try {
    const info = link.info();
    if (info.progId === 0) return undefined;
    let progFd: number;
    try {
      progFd = progFdById(info.progId);
    } catch (e) {
      if (isErrno(e, "ENOENT")) return undefined;
      throw e;
    }
    try {
      const mapIds = progInfoByFd(progFd).mapIds;
      const wanted = [maps.tracing.info().id, maps.exited.info().id];
      if (!wanted.every((id) => mapIds.includes(id))) return undefined;
    } finally {
      close(progFd);
    }
    return { loaded: false, progId: info.progId, linkId: info.id };
  } finally {
    link.close();
  }
}

/**
 * The exit program bound to `maps`, loaded but not attached (attach it to EXIT_TRACEPOINT with
 * rawTracepointOpen). `name` tells a probe's copy from the store's.
 */
export function loadExitProgram(maps: { tracing: BpfMap; exited: BpfMap }, name = PROGRAM_NAME, offsets = exitsnoopOffsets()): BpfProgram {
  const insns = assemble(exitsnoopInstructions(offsets), {
    maps: { [EXITSNOOP_MAPS.tracing]: maps.tracing.fd, [EXITSNOOP_MAPS.exited]: maps.exited.fd },
  });
  return BpfProgram.load({ type: ProgType.RAW_TRACEPOINT, instructions: insns, name, license: "GPL" });
}

/** Call with the store lock held. */
export function ensureExitProgram(dir: string, maps: { tracing: BpfMap; exited: BpfMap }): ExitProgramState {
  const running = pinnedExitProgram(dir, maps);
  if (running) return running;
  const prog = loadExitProgram(maps);
  try {
    const link = rawTracepointOpen(EXIT_TRACEPOINT, prog.fd);
    try {
      const pinPath = join(dir, PIN.exitLink);
      removeTree(pinPath); // a defunct link or one bound to maps that are gone
      link.pin(pinPath);
      const info = link.info();
      return { loaded: true, progId: info.progId, linkId: info.id };
    } finally {
      link.close();
    }
  } finally {
    prog.close();
  }
}
