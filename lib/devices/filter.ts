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
import { ContainerDevices, Emulator, emulatorFromReduced, type ReducedRules } from "./emulator.ts";
import type { NormalRule } from "./rule.ts";

/** The name hookshim's program for a container's own rules carries, so it can be told from runc's and systemd's. */
export const DEVICE_PROGRAM_NAME = "hookshim_dev";
/** The name of hookshim's host policy program: the host's denies, attached beside the container's program. */
export const HOST_PROGRAM_NAME = "hookshim_host";
const HOOKSHIM_PROGRAMS: readonly string[] = [DEVICE_PROGRAM_NAME, HOST_PROGRAM_NAME];

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

/** The programs a container's cgroup gets; `host` is absent when the host policy denies nothing. */
export interface ContainerFilters {
  host?: CompiledFilter;
  /** absent: only the host policy is enforced, beside whatever program the runtime attached */
  container?: CompiledFilter;
}

export function compileContainerFilters(devices: ContainerDevices): ContainerFilters {
  return {
    host: devices.hostAllowsAll ? undefined : compileDeviceFilter(devices.host),
    container: devices.container && compileDeviceFilter(devices.container),
  };
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

interface AttachedProgram {
  fd: number;
  id: number;
  name: string;
}

/** The attached programs, opened; ones an LSM hides from us or that went away meanwhile are skipped, as runc does. */
function attachedPrograms(cgroupFd: number): AttachedProgram[] {
  const out: AttachedProgram[] = [];
  try {
    for (const id of attachedDeviceProgramIds(cgroupFd)) {
      let fd: number;
      try {
        fd = progFdById(id);
      } catch (e) {
        if (isErrno(e, "EPERM", "EACCES", "ENOENT")) continue;
        throw e;
      }
      const p = { fd, id, name: "" };
      out.push(p); // closed on the way out if reading its name fails
      p.name = progInfoByFd(fd).name;
    }
  } catch (e) {
    out.forEach((p) => close(p.fd));
    throw e;
  }
  return out;
}

export interface AttachResult {
  /** the container's program (the host program's when only that was attached) */
  progId: number;
  /** the host policy program, when one was attached */
  hostProgId?: number;
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
  return withCgroup(cgroupDir, (fd) => attachToFd(fd, [{ compiled, name: DEVICE_PROGRAM_NAME }]));
}

/**
 * A container's programs in place: with the container's filter, the host program (if any) and
 * the container's replace every device program the cgroup has; host-only, the host program is
 * attached beside the runtime's program and replaces only an earlier host program.
 */
export function attachContainerFilters(cgroupDir: string, filters: ContainerFilters): AttachResult | undefined {
  const programs = [
    ...(filters.host ? [{ compiled: filters.host, name: HOST_PROGRAM_NAME }] : []),
    ...(filters.container ? [{ compiled: filters.container, name: DEVICE_PROGRAM_NAME }] : []),
  ];
  if (programs.length === 0) return undefined;
  const replaces = filters.container ? () => true : (name: string) => name === HOST_PROGRAM_NAME;
  return withCgroup(cgroupDir, (fd) => attachToFd(fd, programs, replaces));
}

function withCgroup<T>(cgroupDir: string, fn: (cgroupFd: number) => T): T {
  const cgroupFd = openCgroup(cgroupDir);
  try {
    return fn(cgroupFd);
  } finally {
    close(cgroupFd);
  }
}

/**
 * Attach `programs` in order, then detach the old programs `replaces` selects. With both sets
 * attached for a moment an access passes only when old and new both allow it: never wider than
 * either. One program in place of one is swapped atomically where the kernel can.
 */
function attachToFd(
  cgroupFd: number,
  programs: { compiled: CompiledFilter; name: string }[],
  replaces: (name: string) => boolean = () => true,
): AttachResult {
  const all = attachedPrograms(cgroupFd);
  const old = all.filter((p) => replaces(p.name));
  const loaded: { prog: BpfProgram; name: string }[] = [];
  try {
    for (const p of programs) loaded.push({ prog: loadDeviceFilter(p.compiled, p.name), name: p.name });
    const atomic = loaded.length === 1 && old.length === 1 && haveProgReplace();
    const attachType = AttachType.CGROUP_DEVICE;
    if (atomic) {
      progAttach({ targetFd: cgroupFd, progFd: loaded[0]!.prog.fd, attachType, flags: AttachFlag.ALLOW_MULTI | AttachFlag.REPLACE, replaceFd: old[0]!.fd });
    } else {
      for (const { prog } of loaded) progAttach({ targetFd: cgroupFd, progFd: prog.fd, attachType, flags: AttachFlag.ALLOW_MULTI });
      for (const p of old) {
        try {
          progDetach({ targetFd: cgroupFd, progFd: p.fd, attachType });
        } catch (e) {
          if (!isErrno(e, "ENOENT")) throw e; // detached by someone else meanwhile
        }
      }
    }
    const idOf = (name: string) => loaded.find((l) => l.name === name)?.prog.info().id;
    const host = idOf(HOST_PROGRAM_NAME);
    return { progId: idOf(DEVICE_PROGRAM_NAME) ?? host!, hostProgId: host, replaced: old.map((p) => p.id), atomic };
  } finally {
    for (const l of loaded) l.prog.close(); // the cgroup holds its own reference
    all.forEach((p) => close(p.fd));
  }
}

/** Detach device programs from a cgroup: all of them, or those `which` selects by name. Returns the ids detached. */
export function detachDeviceFilters(cgroupDir: string, which: (name: string) => boolean = () => true): number[] {
  return withCgroup(cgroupDir, (cgroupFd) => {
    const programs = attachedPrograms(cgroupFd);
    const detached: number[] = [];
    try {
      for (const p of programs) {
        if (!which(p.name)) continue;
        progDetach({ targetFd: cgroupFd, progFd: p.fd, attachType: AttachType.CGROUP_DEVICE });
        detached.push(p.id);
      }
    } finally {
      programs.forEach((p) => close(p.fd));
    }
    return detached;
  });
}

export interface AttachedFilter {
  id: number;
  name: string;
  tag: string;
  /** one of hookshim's programs, by name */
  hookshim: boolean;
  /** hookshim's host policy program: its denies hold whatever the other programs allow */
  hostPolicy: boolean;
  /** the rules, when the program has hookshim's or runc's shape */
  filter?: DecompiledFilter;
  /** why the program could not be read back */
  error?: string;
}

export function describeProgram(id: number, fd: number): AttachedFilter {
  const info = progInfoByFd(fd);
  const out: AttachedFilter = {
    id, name: info.name, tag: info.tag, hookshim: HOOKSHIM_PROGRAMS.includes(info.name), hostPolicy: info.name === HOST_PROGRAM_NAME,
  };
  try {
    out.filter = decompileDeviceFilter(decode(progXlated(fd)));
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}

/** The device programs attached to the cgroup, each with the rules it encodes where it can be read. */
export function readDeviceFilters(cgroupDir: string): AttachedFilter[] {
  return withCgroup(cgroupDir, readFromFd);
}

function readFromFd(cgroupFd: number): AttachedFilter[] {
  const out: AttachedFilter[] = [];
  for (const id of attachedDeviceProgramIds(cgroupFd)) {
    let fd: number;
    try {
      fd = progFdById(id);
    } catch (e) {
      if (isErrno(e, "ENOENT")) continue;
      out.push({ id, name: "", tag: "", hookshim: false, hostPolicy: false, error: (e as Error).message });
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
 * hookshim's host policy program is neither read nor changed: its denies still hold. Serialised
 * against other hookshim writers with flock on the cgroup directory.
 */
export function changeDeviceRule(
  cgroupDir: string,
  rule: NormalRule,
): { before: ReducedRules; after: ReducedRules; attach: AttachResult; host: AttachedFilter[] } {
  return withCgroup(cgroupDir, (cgroupFd) => {
    flock(cgroupFd, LOCK.EX); // released when the fd is closed
    const all = readFromFd(cgroupFd);
    const host = all.filter((f) => f.hostPolicy);
    const filters = all.filter((f) => !f.hostPolicy);
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
    const attach = attachToFd(cgroupFd, [{ compiled, name: DEVICE_PROGRAM_NAME }], (name) => name !== HOST_PROGRAM_NAME);
    return { before, after: compiled.reduced, attach, host };
  });
}
