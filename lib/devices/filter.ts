// A cgroup's device filter: compile rules to the program (the host's denies first, then the
// container's v1 list), attach it with runc's replacement semantics
// (libcontainer/cgroups/ebpf LoadAttachCgroupDeviceFilter), read back the rules in force from the
// attached programs, and change one rule in place.
import {
  deviceFilterInstructions, decompileDeviceFilter, type DecompiledFilter, type FilterException, type FilterSpec, type HostDeny,
} from "../../bpf/devicefilter.ts";
import { assemble, decode, Exit, Mov32Imm, R0, type Instruction } from "../bpf/asm/index.ts";
import {
  AttachFlag, AttachType, BpfProgram, ProgType, progAttach, progDetach, progFdById, progInfoByFd, progQuery,
  progXlated,
} from "../bpf/index.ts";
import { LOCK, O, close, flock, isErrno, open } from "../sys/index.ts";
import { ContainerDevices, Emulator, emulatorFromReduced, type ReducedRules } from "./emulator.ts";
import { Access, DeviceRuleError, type NormalRule } from "./rule.ts";

/** The name of hookshim's program for a container (host denies, then its own rules), so it can be told from runc's and systemd's. */
export const DEVICE_PROGRAM_NAME = "hookshim_dev";
/**
 * The name of hookshim's host-only program: the host's denies over allow-all, attached beside the
 * runtime's program only when the container's input was refused (fail mode open).
 */
export const HOST_PROGRAM_NAME = "hookshim_host";
const HOOKSHIM_PROGRAMS: readonly string[] = [DEVICE_PROGRAM_NAME, HOST_PROGRAM_NAME];

export interface CompiledFilter {
  /** the host deny blocks, checked first, each with the rule it came from */
  hostDenies: HostDeny[];
  /** the container's v1 list after them */
  reduced: ReducedRules;
  instructions: Instruction[];
  bytes: Uint8Array;
}

/** The program for `source` (a v1 list) with `hostDenies` checked before it. */
export function compileDeviceFilter(source: Emulator | NormalRule[], hostDenies: HostDeny[] = []): CompiledFilter {
  const emu = source instanceof Emulator ? source : new Emulator().applyAll(source);
  const reduced = emu.reduced();
  const spec: FilterSpec = { ...reduced, hostDenies };
  const instructions = deviceFilterInstructions(spec);
  return { hostDenies, reduced, instructions, bytes: assemble(instructions) };
}

/** One deny block per host deny rule, in order; a type "a" rule is a b block and a c block. */
export function hostDenyBlocks(rules: readonly NormalRule[]): HostDeny[] {
  return rules.flatMap((r) => {
    if (r.allow) throw new DeviceRuleError(`${r.source ?? "a host rule"}: the host's program prefix holds denies only`);
    const types = r.type === "a" ? (["b", "c"] as const) : [r.type];
    const any = r.type === "a";
    return types.map((type) => ({ type, major: any ? -1 : r.major, minor: any ? -1 : r.minor, access: any ? Access.ALL : r.access, source: r.source }));
  });
}

/** Whether a host deny block denies the request: same device, a requested bit in the rule. */
export function hostDenyMatches(d: FilterException, type: "b" | "c", major: number, minor: number, access: number): boolean {
  return d.type === type && (d.major < 0 || d.major === major) && (d.minor < 0 || d.minor === minor) && (d.access & access) !== 0;
}

/** The one program a container's cgroup gets, and its name. */
export interface ContainerFilter {
  /** DEVICE_PROGRAM_NAME: host denies, then the container's list; HOST_PROGRAM_NAME: host denies over allow-all */
  name: string;
  compiled: CompiledFilter;
}

/**
 * The container's program: the host's denies first, then its v1 list. Without a container list
 * (its input was refused) the host's denies alone, to sit beside the runtime's program; undefined
 * then when the host denies nothing.
 */
export function compileContainerFilter(devices: ContainerDevices): ContainerFilter | undefined {
  const hostDenies = hostDenyBlocks(devices.hostDenies);
  if (devices.container) return { name: DEVICE_PROGRAM_NAME, compiled: compileDeviceFilter(devices.container, hostDenies) };
  if (hostDenies.length === 0) return undefined;
  return { name: HOST_PROGRAM_NAME, compiled: compileDeviceFilter(emulatorFromReduced({ defaultAllow: true, exceptions: [] }), hostDenies) };
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

/**
 * BPF_F_REPLACE of `oldFd` by `progFd`; false when this kernel does not know the flag (EINVAL, before
 * 5.6), so the caller attaches, then detaches. Tried directly rather than probed first with
 * haveProgReplace: the probe loads a program of its own, a hook's every start paying for it. An
 * EINVAL for another reason takes the same safe path, whose attach then reports the real error.
 */
function replaceAttach(cgroupFd: number, progFd: number, oldFd: number): boolean {
  if (replaceSupported === false) return false;
  try {
    progAttach({ targetFd: cgroupFd, progFd, attachType: AttachType.CGROUP_DEVICE, flags: AttachFlag.ALLOW_MULTI | AttachFlag.REPLACE, replaceFd: oldFd });
    return (replaceSupported = true);
  } catch (e) {
    if (replaceSupported !== true && isErrno(e, "EINVAL")) return false;
    throw e;
  }
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
  return withCgroup(cgroupDir, (fd) => attachToFd(fd, compiled, DEVICE_PROGRAM_NAME));
}

/**
 * A container's program in place: hookshim_dev replaces every device program the cgroup has (the
 * runtime's one atomically where the kernel can), so it alone decides; the host-only program is
 * attached beside the runtime's and replaces only an earlier host-only program.
 */
export function attachContainerFilter(cgroupDir: string, filter: ContainerFilter): AttachResult {
  const replaces = filter.name === HOST_PROGRAM_NAME ? (name: string) => name === HOST_PROGRAM_NAME : () => true;
  return withCgroup(cgroupDir, (fd) => attachToFd(fd, filter.compiled, filter.name, replaces));
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
 * Attach the program, then detach the old programs `replaces` selects. With both attached for a
 * moment an access passes only when old and new both allow it: never wider than either. One
 * program in place of one is swapped atomically where the kernel can.
 */
function attachToFd(
  cgroupFd: number,
  compiled: CompiledFilter,
  name: string,
  replaces: (name: string) => boolean = () => true,
): AttachResult {
  const all = attachedPrograms(cgroupFd);
  const old = all.filter((p) => replaces(p.name));
  let prog: BpfProgram | undefined;
  try {
    prog = loadDeviceFilter(compiled, name);
    const attachType = AttachType.CGROUP_DEVICE;
    const atomic = old.length === 1 && replaceAttach(cgroupFd, prog.fd, old[0]!.fd);
    if (!atomic) {
      progAttach({ targetFd: cgroupFd, progFd: prog.fd, attachType, flags: AttachFlag.ALLOW_MULTI });
      for (const p of old) {
        try {
          progDetach({ targetFd: cgroupFd, progFd: p.fd, attachType });
        } catch (e) {
          if (!isErrno(e, "ENOENT")) throw e; // detached by someone else meanwhile
        }
      }
    }
    return { progId: prog.info().id, replaced: old.map((p) => p.id), atomic };
  } finally {
    prog?.close(); // the cgroup holds its own reference
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
  /** hookshim's host-only program (fail mode open): its denies hold whatever the runtime's program allows */
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

/** The v1 list after a decompiled program's host denies, as emulator state. */
export function emulatorFromFilter(f: DecompiledFilter): Emulator {
  return emulatorFromReduced({
    defaultAllow: f.defaultAllow,
    exceptions: f.blocks.map(({ type, major, minor, access }) => ({ type, major, minor, access })),
  });
}

/** What a decompiled program decides as a whole: its host denies first, then its v1 list. */
export function decisionsOf(f: DecompiledFilter): ContainerDevices {
  const denies = f.hostDenies.map((d): NormalRule => ({ allow: false, ...d }));
  return ContainerDevices.fromRules(denies, emulatorFromFilter(f));
}

/** Host denies in force on a cgroup: a program's own prefix, or a host-only program's. */
export interface HostDenies {
  progId: number;
  denies: FilterException[];
}

/**
 * Apply one rule on top of the rules in force on the cgroup (add = allow, remove = deny) and
 * replace the program, keeping every other rule. A cgroup with no device program allows everything.
 * The program's host deny prefix is kept as it is, ahead of the changed list, and a host-only
 * program is neither read nor changed: host denies still hold. Serialised against other hookshim
 * writers with flock on the cgroup directory.
 */
export function changeDeviceRule(
  cgroupDir: string,
  rule: NormalRule,
): { before: ReducedRules; after: ReducedRules; attach: AttachResult; host: HostDenies[] } {
  return withCgroup(cgroupDir, (cgroupFd) => {
    flock(cgroupFd, LOCK.EX); // released when the fd is closed
    const all = readFromFd(cgroupFd);
    const hostOnly = all.filter((f) => f.hostPolicy);
    const filters = all.filter((f) => !f.hostPolicy);
    if (filters.length > 1)
      throw new Error(`${cgroupDir}: ${filters.length} device programs are attached (ids ${filters.map((f) => f.id).join(", ")}); refusing to merge them`);
    let emu = emulatorFromReduced({ defaultAllow: true, exceptions: [] });
    let hostDenies: FilterException[] = [];
    if (filters.length === 1) {
      const f = filters[0]!;
      if (!f.filter) throw new Error(`${cgroupDir}: program ${f.id} (${f.name || "unnamed"}) cannot be read back: ${f.error}`);
      emu = emulatorFromFilter(f.filter);
      hostDenies = f.filter.hostDenies;
    }
    const before = emu.reduced();
    emu.apply(rule);
    const compiled = compileDeviceFilter(emu, hostDenies);
    const attach = attachToFd(cgroupFd, compiled, DEVICE_PROGRAM_NAME, (name) => name !== HOST_PROGRAM_NAME);
    const host = [
      ...(hostDenies.length ? [{ progId: attach.progId, denies: hostDenies }] : []),
      ...hostOnly.filter((f) => f.filter).map((f) => ({ progId: f.id, denies: f.filter!.hostDenies })),
    ];
    return { before, after: compiled.reduced, attach, host };
  });
}
