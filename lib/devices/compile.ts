// A container's device rules as a program and back, without touching the kernel: the host's denies
// first (one block each, with the rule it came from), then the container's v1 list as the emulator
// reduces it; and a decompiled program as emulator state and decisions.
import {
  deviceFilterInstructions, type DecompiledFilter, type Exception, type HostDeny, type ReducedRules,
} from "../../bpf/devicefilter.ts";
import { assemble, type Instruction } from "../bpf/asm/index.ts";
import { DevcgAccess } from "../bpf/constants.ts";
import { ContainerDevices, Emulator, emulatorFromReduced } from "./emulator.ts";
import { DeviceRuleError, type NormalRule } from "./rule.ts";

/** The name of hookshim's program for a container (host denies, then its own rules), so it can be told from runc's and systemd's. */
export const DEVICE_PROGRAM_NAME = "hookshim_dev";
/**
 * The name of hookshim's host-only program: the host's denies over allow-all, attached beside the
 * runtime's program only when the container's input was refused (fail mode open).
 */
export const HOST_PROGRAM_NAME = "hookshim_host";

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
  const instructions = deviceFilterInstructions({ ...reduced, hostDenies });
  return { hostDenies, reduced, instructions, bytes: assemble(instructions) };
}

/** One deny block per host deny rule, in order; a type "a" rule is a b block and a c block. */
export function hostDenyBlocks(rules: readonly NormalRule[]): HostDeny[] {
  return rules.flatMap((r) => {
    if (r.allow) throw new DeviceRuleError(`${r.source ?? "a host rule"}: the host's program prefix holds denies only`);
    const types = r.type === "a" ? (["b", "c"] as const) : [r.type];
    const any = r.type === "a";
    return types.map((type) => ({ type, major: any ? -1 : r.major, minor: any ? -1 : r.minor, access: any ? DevcgAccess.ALL : r.access, source: r.source }));
  });
}

/** Whether a host deny block denies the request: same device, a requested bit in the rule. */
export function hostDenyMatches(d: Exception, type: "b" | "c", major: number, minor: number, access: number): boolean {
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

/** The v1 list after a decompiled program's host denies, as emulator state: its blocks are the exceptions. */
export function emulatorFromFilter(f: DecompiledFilter): Emulator {
  return emulatorFromReduced({ defaultAllow: f.defaultAllow, exceptions: f.blocks });
}

/** What a decompiled program decides as a whole: its host denies first, then its v1 list. */
export function decisionsOf(f: DecompiledFilter): ContainerDevices {
  const denies = f.hostDenies.map((d): NormalRule => ({ allow: false, ...d }));
  return ContainerDevices.fromRules(denies, emulatorFromFilter(f));
}

