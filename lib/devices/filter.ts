// A cgroup's device filter: compile rules to the program, attach it with runc's replacement
// semantics (libcontainer/cgroups/ebpf LoadAttachCgroupDeviceFilter), read back the rules in force
// from the attached programs, and change one rule in place.
import {
  deviceFilterInstructions, decompileDeviceFilter, type DecompiledFilter, type FilterSpec,
} from "../../bpf/devicefilter.ts";
import { assemble, decode, Exit, Mov32Imm, R0, type Instruction } from "../bpf/asm/index.ts";
import {
  AttachFlag, AttachType, BpfProgram, ProgType, progAttach, progDetach, progFdById, progInfoByFd, progQuery,
  progXlated,
} from "../bpf/index.ts";
import { LOCK, O, close, flock, isErrno, open } from "../sys/index.ts";
import { Emulator, emulatorFromReduced, type ReducedRules } from "./emulator.ts";
import type { NormalRule } from "./rule.ts";

/** The name hookshim's device programs carry, so they can be told from runc's and systemd's. */
export const DEVICE_PROGRAM_NAME = "hookshim_dev";

export interface CompiledFilter {
  reduced: ReducedRules;
  instructions: Instruction[];
  bytes: Uint8Array;
}

export function compileDeviceFilter(source: Emulator | NormalRule[]): CompiledFilter {
  const emu = source instanceof Emulator ? source : new Emulator().applyAll(source);
  const reduced = emu.reduced();
  const spec: FilterSpec = reduced;
  const instructions = deviceFilterInstructions(spec);
  return { reduced, instructions, bytes: assemble(instructions) };
}

export function loadDeviceFilter(compiled: CompiledFilter, name = DEVICE_PROGRAM_NAME): BpfProgram {
  return BpfProgram.load({
    type: ProgType.CGROUP_DEVICE,
    instructions: compiled.bytes,
    name,
    expectedAttachType: AttachType.CGROUP_DEVICE,
  });
}

let replaceSupported: boolean | undefined;

/**
 * Whether BPF_PROG_ATTACH knows BPF_F_REPLACE (5.6+), probed once as runc does: attach a trivial
 * program to a non-cgroup fd with the flag. EINVAL means the flag is unknown; any later check
 * (EBADF for the target) means it was accepted.
 */
export function haveProgReplace(): boolean {
  if (replaceSupported !== undefined) return replaceSupported;
  const prog = BpfProgram.load({
    type: ProgType.CGROUP_DEVICE,
    instructions: assemble([Mov32Imm(R0, 0), Exit()]),
    name: "hookshim_probe",
  });
  const devNull = open("/dev/null", O.RDONLY);
  try {
    progAttach({
      targetFd: devNull,
      progFd: prog.fd,
      attachType: AttachType.CGROUP_DEVICE,
      flags: AttachFlag.ALLOW_MULTI | AttachFlag.REPLACE,
    });
    replaceSupported = true; // cannot attach to /dev/null; reaching here is not expected
  } catch (e) {
    replaceSupported = !isErrno(e, "EINVAL");
  } finally {
    close(devNull);
    prog.close();
  }
  return replaceSupported;
}

function openCgroup(dir: string): number {
  return open(dir, O.RDONLY | O.DIRECTORY);
}

/** Ids of the device programs attached to the cgroup itself (not inherited ones). */
export function attachedDeviceProgramIds(cgroupFd: number): number[] {
  return progQuery(cgroupFd, AttachType.CGROUP_DEVICE).progIds;
}

/** fds of the attached programs; ones an LSM hides from us or that went away meanwhile are skipped, as runc does. */
function attachedProgramFds(cgroupFd: number): number[] {
  const fds: number[] = [];
  for (const id of attachedDeviceProgramIds(cgroupFd)) {
    try {
      fds.push(progFdById(id));
    } catch (e) {
      if (!isErrno(e, "EPERM", "EACCES", "ENOENT")) {
        fds.forEach(close);
        throw e;
      }
    }
  }
  return fds;
}

export interface AttachResult {
  progId: number;
  /** ids of the programs it replaced */
  replaced: number[];
  /** one old program swapped with BPF_F_REPLACE (no moment with both or neither) */
  atomic: boolean;
}

/**
 * Load the filter and put it in place of whatever device programs the cgroup has: one old program
 * is replaced atomically where the kernel can; otherwise the new one is attached first and the old
 * ones detached after, so the cgroup is never without a filter.
 */
export function attachDeviceFilter(cgroupDir: string, compiled: CompiledFilter): AttachResult {
  const cgroupFd = openCgroup(cgroupDir);
  try {
    return attachToFd(cgroupFd, compiled);
  } finally {
    close(cgroupFd);
  }
}

function attachToFd(cgroupFd: number, compiled: CompiledFilter): AttachResult {
  const oldFds = attachedProgramFds(cgroupFd);
  let prog: BpfProgram | undefined;
  try {
    const replaced = oldFds.map((fd) => progInfoByFd(fd).id);
    prog = loadDeviceFilter(compiled);
    const atomic = oldFds.length === 1 && haveProgReplace();
    const attachType = AttachType.CGROUP_DEVICE;
    if (atomic) {
      progAttach({ targetFd: cgroupFd, progFd: prog.fd, attachType, flags: AttachFlag.ALLOW_MULTI | AttachFlag.REPLACE, replaceFd: oldFds[0] });
    } else {
      progAttach({ targetFd: cgroupFd, progFd: prog.fd, attachType, flags: AttachFlag.ALLOW_MULTI });
      for (const fd of oldFds) {
        try {
          progDetach({ targetFd: cgroupFd, progFd: fd, attachType });
        } catch (e) {
          if (!isErrno(e, "ENOENT")) throw e; // detached by someone else meanwhile
        }
      }
    }
    return { progId: prog.info().id, replaced, atomic };
  } finally {
    prog?.close(); // the cgroup holds its own reference
    oldFds.forEach(close);
  }
}

/** Detach device programs from a cgroup: all of them, or those `which` selects. Returns the ids detached. */
export function detachDeviceFilters(cgroupDir: string, which: (name: string) => boolean = () => true): number[] {
  const cgroupFd = openCgroup(cgroupDir);
  const fds = attachedProgramFds(cgroupFd);
  const detached: number[] = [];
  try {
    for (const fd of fds) {
      const info = progInfoByFd(fd);
      if (!which(info.name)) continue;
      progDetach({ targetFd: cgroupFd, progFd: fd, attachType: AttachType.CGROUP_DEVICE });
      detached.push(info.id);
    }
  } finally {
    fds.forEach(close);
    close(cgroupFd);
  }
  return detached;
}

export interface AttachedFilter {
  id: number;
  name: string;
  tag: string;
  /** hookshim's own program, by name */
  hookshim: boolean;
  /** the rules, when the program has hookshim's or runc's shape */
  filter?: DecompiledFilter;
  /** why the program could not be read back */
  error?: string;
}

export function describeProgram(id: number, fd: number): AttachedFilter {
  const info = progInfoByFd(fd);
  const out: AttachedFilter = { id, name: info.name, tag: info.tag, hookshim: info.name === DEVICE_PROGRAM_NAME };
  try {
    out.filter = decompileDeviceFilter(decode(progXlated(fd)));
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}

/** The device programs attached to the cgroup, each with the rules it encodes where it can be read. */
export function readDeviceFilters(cgroupDir: string): AttachedFilter[] {
  const cgroupFd = openCgroup(cgroupDir);
  try {
    return readFromFd(cgroupFd);
  } finally {
    close(cgroupFd);
  }
}

function readFromFd(cgroupFd: number): AttachedFilter[] {
  const out: AttachedFilter[] = [];
  for (const id of attachedDeviceProgramIds(cgroupFd)) {
    let fd: number;
    try {
      fd = progFdById(id);
    } catch (e) {
      if (isErrno(e, "ENOENT")) continue;
      out.push({ id, name: "", tag: "", hookshim: false, error: (e as Error).message });
      continue;
    }
    try {
      out.push(describeProgram(id, fd));
    } finally {
      close(fd);
    }
  }
  return out;
}

/** The emulator state a decompiled program stands for. */
export function emulatorFromFilter(f: DecompiledFilter): Emulator {
  return emulatorFromReduced({
    defaultAllow: f.defaultAllow,
    exceptions: f.blocks.map(({ type, major, minor, access }) => ({ type, major, minor, access })),
  });
}

/**
 * Apply one rule on top of the rules in force on the cgroup (add = allow, remove = deny) and
 * replace the program, keeping every other rule. A cgroup with no device program allows everything.
 * Serialised against other hookshim writers with flock on the cgroup directory.
 */
export function changeDeviceRule(cgroupDir: string, rule: NormalRule): { before: ReducedRules; after: ReducedRules; attach: AttachResult } {
  const cgroupFd = openCgroup(cgroupDir);
  try {
    flock(cgroupFd, LOCK.EX);
    const filters = readFromFd(cgroupFd);
    if (filters.length > 1)
      throw new Error(`${cgroupDir}: ${filters.length} device programs are attached (ids ${filters.map((f) => f.id).join(", ")}); refusing to merge them`);
    let emu = emulatorFromReduced({ defaultAllow: true, exceptions: [] });
    if (filters.length === 1) {
      const f = filters[0]!;
      if (!f.filter) throw new Error(`${cgroupDir}: program ${f.id} (${f.name || "unnamed"}) cannot be read back: ${f.error}`);
      emu = emulatorFromFilter(f.filter);
    }
    const before = emu.reduced();
    emu.apply(rule);
    const compiled = compileDeviceFilter(emu);
    return { before, after: compiled.reduced, attach: attachToFd(cgroupFd, compiled) };
  } finally {
    close(cgroupFd); // releases the lock
  }
}
