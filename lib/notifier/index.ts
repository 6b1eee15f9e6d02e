// container-notifier: fanotify FAN_OPEN_EXEC_PERM on the runtime binaries + the execargs eBPF program
// on sys_enter_execve, reporting precreate/add/remove with exit codes (see notifier.ts).
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { fanotifyInit, fanotifyMark, FAN, close } from "../sys/index.ts";
import { existingRuntimes } from "./paths.ts";

export { runNotifier, DEFAULT_HOLD_BOUND_MS, type NotifierOptions } from "./run.ts";
export { NotifierCore, type NotifierCoreOptions } from "./notifier.ts";
export type { NotifierSink } from "./output.ts";
export { NotifierMetrics, Histogram, HOLD_BUCKETS_SECONDS, parseListenAddress } from "./metrics.ts";
export { RUNTIME_PATHS, existingRuntimes, runtimeNames, runtimeKind, type RuntimeBinary, type RuntimeKind } from "./paths.ts";
export { ensureTracefs, tracepointFormat, parseTracepointFormat, TRACEFS, type TracepointField } from "./tracefs.ts";
export { ExecArgsCapture, EXECVE_TRACEPOINT, RECORD_SLOTS } from "./execargs.ts";
export { PermissionWatcher, type PermissionWatcherOptions } from "./permission.ts";
export { ReportedContainers, REPORTED_PIN, type Reported } from "./reported.ts";
export { nameFromBundle, readPidFile, parsePid, readRuncStatePid, readInitProcess, NAME_ANNOTATIONS, ContainerInfoError, type InitProcess } from "./container-info.ts";
export { runningContainers, runtimeStateRoots, stateDirContainers, initPid, type RunningContainer } from "./survivors.ts";
export { startTime, parentPid, validContainerId, printable, verifyContainerPid, UidCaps, type Claimant } from "./trust.ts";

/** Whether this host can run the notifier, for `hookshim doctor`: one reason when it cannot. */
export function notifierSupport(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: "run as root (fanotify permission events need CAP_SYS_ADMIN)" };
  if (!existsSync("/proc/sys/fs/fanotify/max_user_groups")) return { ok: false, reason: "kernel without fanotify (CONFIG_FANOTIFY)" };
  const selfNs = readLink("/proc/self/ns/pid"), initNs = readLink("/proc/1/ns/pid");
  if (selfNs && initNs && selfNs !== initNs) return { ok: false, reason: "not in the host pid namespace (run with hostPID)" };
  const runtimes = existingRuntimes();
  if (!runtimes.length) return { ok: false, reason: "no runc, crun or conmon in the usual paths (use --runtime-path)" };
  let fd = -1;
  try {
    fd = fanotifyInit(FAN.CLASS_CONTENT | FAN.CLOEXEC | FAN.NONBLOCK | FAN.REPORT_TID);
    fanotifyMark(fd, FAN.MARK_ADD, FAN.OPEN_EXEC_PERM, runtimes[0]!.realPath);
  } catch (e) {
    return { ok: false, reason: `fanotify permission events unavailable (CONFIG_FANOTIFY_ACCESS_PERMISSIONS?): ${e instanceof Error ? e.message : e}` };
  } finally {
    close(fd);
  }
  if (!existsSync("/sys/kernel/tracing/events") && !existsSync("/sys/kernel/debug/tracing/events") && !tracefsAvailable())
    return { ok: false, reason: "no tracefs: argv capture needs /sys/kernel/tracing (mount -t tracefs tracefs /sys/kernel/tracing)" };
  return { ok: true };
}

function tracefsAvailable(): boolean {
  try {
    return readFileSync("/proc/filesystems", "utf8").includes("\ttracefs");
  } catch {
    return false;
  }
}

function readLink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}
