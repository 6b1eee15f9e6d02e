// Probes for `hookshim doctor`: each loads and attaches a program the hooks or the notifier need, as
// they do it, on objects of its own (maps, a scratch cgroup), then removes everything. A kernel that
// would refuse a container start or the notifier refuses the probe first, and the probe reports the
// kernel's own words (the verifier's last lines, the errno) instead of guessing from files in /sys.
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { AttachFlag, AttachType, BpfMap, progAttach, progDetach, rawTracepointOpen } from "../bpf/index.ts";
import { EXIT_TRACEPOINT, exitsnoopOffsets, loadExitProgram, storeMapSpecs } from "../store/index.ts";
import type { ExitsnoopOffsets } from "../../bpf/exitsnoop.ts";
import { ExecArgsCapture, existingRuntimes, runtimeNames } from "../notifier/index.ts";
import { EMPTY_POLICY, attachedDeviceProgramIds, loadDeviceFilter, type CompiledFilter, type DevicePolicy } from "../devices/index.ts";
import { containerDeviceFilter } from "../lifecycle/devices.ts";
import { cgroupMount } from "../cgroup/index.ts";
import { O, close, open } from "../sys/index.ts";

export interface ProbeResult {
  name: string;
  ok: boolean;
  /** what was done when ok; the kernel's reason when not */
  detail: string;
  /** what a host that fails it needs */
  fix: string;
}

/** Kernel object names of the probes' programs and maps: none of them outlives a probe. */
export const PROBE_NAMES = {
  exitProgram: "hs_probe_exit",
  execargsProgram: "hs_probe_exec",
  deviceProgram: "hs_probe_dev",
  tracingMap: "hs_probe_trc",
  exitedMap: "hs_probe_exd",
} as const;

/** The scratch cgroup a device probe creates under `root`. */
export function scratchCgroupName(pid = process.pid): string {
  return `hookshim-doctor-${pid}`;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs `body` with a list of things to close afterwards, last opened first. */
function withCleanup(name: string, fix: string, body: (keep: <T extends { close(): void }>(x: T) => T) => string): ProbeResult {
  const opened: { close(): void }[] = [];
  try {
    return { name, ok: true, detail: body((x) => (opened.push(x), x)), fix };
  } catch (e) {
    return { name, ok: false, detail: reason(e), fix };
  } finally {
    for (const x of opened.reverse()) {
      try {
        x.close();
      } catch {
        // a close that fails leaves nothing the kernel keeps: the fd is gone either way
      }
    }
  }
}

/**
 * The exit program of every store (bpf/exitsnoop.ts, offsets and group-death test from this kernel's
 * BTF) on two maps of its own, attached to sched_process_exit, then detached. `tracepoint` and
 * `offsets` exist to show a refusal.
 */
export function probeExitProgram(o: { tracepoint?: string; offsets?: ExitsnoopOffsets } = {}): ProbeResult {
  return withCleanup("exit program", "a kernel with BTF and raw tracepoints (5.10 or later)", (keep) => {
    const offsets = o.offsets ?? exitsnoopOffsets();
    const tracepoint = o.tracepoint ?? EXIT_TRACEPOINT;
    const specs = storeMapSpecs({ maxTracing: 1 });
    const tracing = keep(BpfMap.create({ ...specs.tracing, name: PROBE_NAMES.tracingMap }));
    const exited = keep(BpfMap.create({ ...specs.exited, name: PROBE_NAMES.exitedMap }));
    const prog = keep(loadExitProgram({ tracing, exited }, PROBE_NAMES.exitProgram, offsets));
    keep(rawTracepointOpen(tracepoint, prog.fd));
    const test = offsets.groupDead.kind === "argument" ? "the group_dead argument" : "task->signal->live";
    return `loaded and attached to raw tracepoint ${tracepoint} (thread-group death from ${test}), removed`;
  });
}

/** The notifier's argv capture (bpf/execargs.ts) on syscalls/sys_enter_execve, for the runtimes found here. */
export function probeExecArgs(watchedNames?: readonly string[]): ProbeResult {
  return withCleanup("execargs tracepoint", "a kernel with syscall tracepoints (CONFIG_FTRACE_SYSCALLS) and tracefs", (keep) => {
    const names = watchedNames ?? runtimeNames(existingRuntimes());
    keep(ExecArgsCapture.start(names, PROBE_NAMES.execargsProgram));
    return `loaded and attached to syscalls/sys_enter_execve (watching ${names.join(", ")}), removed`;
  });
}

/**
 * A container's device filter (the runtime's default devices plus `policy`) attached to a scratch
 * cgroup made under `root` (default: the cgroup2 mount), then detached; the cgroup is removed.
 * `filter` exists to show a refusal.
 */
export function probeDeviceProgram(o: { root?: string; policy?: DevicePolicy; filter?: CompiledFilter } = {}): ProbeResult {
  return withCleanup("device program", "cgroup v2 with CONFIG_CGROUP_BPF and a cgroup2 mount root can write to", (keep) => {
    const root = o.root ?? cgroupMount().mountpoint;
    const dir = join(root, scratchCgroupName());
    const compiled = o.filter ?? containerDeviceFilter({}, o.policy ?? EMPTY_POLICY).compiled;
    mkdirSync(dir);
    keep({ close: () => rmdirSync(dir) });
    const fd = open(dir, O.RDONLY | O.DIRECTORY);
    keep({ close: () => close(fd) });
    const prog = keep(loadDeviceFilter(compiled, PROBE_NAMES.deviceProgram));
    const attachType = AttachType.CGROUP_DEVICE;
    progAttach({ targetFd: fd, progFd: prog.fd, attachType, flags: AttachFlag.ALLOW_MULTI });
    keep({ close: () => progDetach({ targetFd: fd, progFd: prog.fd, attachType }) });
    const id = prog.info().id;
    if (!attachedDeviceProgramIds(fd).includes(id)) throw new Error(`program ${id} attached to ${dir} but not listed by BPF_PROG_QUERY`);
    return `${compiled.instructions.length} instructions attached to a scratch cgroup under ${root}, detached and removed`;
  });
}

/** Every probe, in the order doctor prints them. */
export function runProbes(o: { policy?: DevicePolicy } = {}): ProbeResult[] {
  return [probeExitProgram(), probeExecArgs(), probeDeviceProgram({ policy: o.policy })];
}
