// Following a container to its exit: trace its init in the store's exit tracking, hold a pidfd on
// the verified process, and once it wakes read the exit status the kernel recorded (or, for a
// container that ended before it could be traced, the status of the foreground `run` runtime,
// which exits with its container's).
import { close, pidfdOpen } from "../sys/index.ts";
import {
  exitedEventFromWaitStatus, liveStartTicks, ProcessGoneError, type ExitOutcome, type ExitStatus, type LifecycleEvent, type Store,
} from "../store/index.ts";
import { startTime } from "./trust.ts";

/** A container being followed: the fields its events carry, and how its exit is tracked. */
export interface Followed extends Pick<LifecycleEvent, "id" | "name" | "pid" | "bundle" | "runtime" | "cgroup"> {
  /** the uid whose runtime started it (0 for survivors: the store, the cgroup tree, root's state dirs) */
  uid: number;
  traceId: bigint;
  /** we started the trace, so we free its exit status */
  ownTrace: boolean;
  /**
   * exit-tracking id of a foreground `run` runtime, which exits with its container's status: the
   * fallback when the container ended before its pid was known (runc writes the pid file after
   * starting it, so a short-lived container can beat the trace)
   */
  runtimeTraceId?: bigint;
  runtimePid?: number;
}

/**
 * Traces a container's init. `failure`: why it could not be traced, when that is an error: a
 * process that exited first (ProcessGoneError, or no longer there) is none, its exit comes from the
 * runtime's trace or nowhere.
 */
export function traceInit(store: Store, pid: number): { traceId: bigint; ownTrace: boolean; failure?: unknown } {
  try {
    const t = store.trace(pid);
    return { traceId: t.traceId, ownTrace: !t.existing }; // a hook traced it first: its poststop collects the status
  } catch (e) {
    const existing = store.getTracingTask(pid);
    if (existing) return { traceId: existing.traceId, ownTrace: false };
    const failure = !(e instanceof ProcessGoneError) && startTime(pid) !== undefined ? e : undefined;
    return { traceId: 0n, ownTrace: false, failure };
  }
}

/** A pidfd on `pid`, -1 when it is gone or (with `verifiedStartTime`) no longer the process verified. */
export function pidfdOfVerified(pid: number, verifiedStartTime?: number): number {
  let pidfd: number;
  try {
    pidfd = pidfdOpen(pid);
  } catch {
    return -1;
  }
  // the pidfd names the process that was verified, not a later one with its pid
  if (verifiedStartTime !== undefined && startTime(pid) !== verifiedStartTime) {
    close(pidfd);
    return -1;
  }
  return pidfd;
}

/** How a followed container ended; frees the exit statuses the notifier owns (its own trace, the runtime's). */
export async function exitOutcome(store: Store, w: Followed): Promise<ExitOutcome> {
  let status = w.traceId ? store.getExitedEvent(w.traceId) : undefined;
  // The exit program writes before the pidfd wakes; allow a little for another writer's race.
  for (let i = 0; !status && w.traceId && i < 20; i++) {
    await Bun.sleep(1);
    status = store.getExitedEvent(w.traceId);
  }
  if (status && w.ownTrace) store.deleteExitedEvent(w.traceId);
  let outcome: ExitOutcome = status ? exitedEventFromWaitStatus(status.waitStatus) : { exitCode: null, signal: null, coreDumped: false };
  if (w.runtimeTraceId) {
    if (!status) {
      // runc exits with the container's code, or 128+signal (which an exit code of that value mimics)
      const runtime = await runtimeExitStatus(store, w.runtimeTraceId, w.runtimePid).catch(() => undefined);
      if (runtime) outcome = { ...exitedEventFromWaitStatus(runtime.waitStatus), coreDumped: false };
    }
    untraceRuntime(store, w.runtimeTraceId, w.runtimePid);
  }
  return outcome;
}

/** How long a foreground runtime may outlive its container (runc's teardown) before its status is given up. */
export const RUNTIME_TEARDOWN_MS = 120_000;

/**
 * The exit status of a traced foreground runtime. It is waited for as long as the runtime lives
 * (up to RUNTIME_TEARDOWN_MS), not for a fixed short time: after its container exits, `runc run`
 * still removes the cgroup and its state, which on a loaded host can take seconds.
 */
async function runtimeExitStatus(store: Store, traceId: bigint, runtimePid: number | undefined): Promise<ExitStatus | undefined> {
  if (runtimePid === undefined) return store.waitExitedEvent(traceId, { timeoutMs: 5000 });
  const deadline = Date.now() + RUNTIME_TEARDOWN_MS;
  for (let interval = 1; ; interval = Math.min(interval * 2, 50)) {
    const status = store.getExitedEvent(traceId);
    if (status) return status;
    // The exit program removes the tracing entry as it writes the status: while the entry is there
    // and the traced process still runs (a Go runtime's zombie leader with threads left counts,
    // see liveStartTicks), the status may yet come.
    const traced = store.getTracingTask(runtimePid);
    const alive = traced?.traceId === traceId && liveStartTicks(runtimePid) === traced.startTicks;
    if (!alive || Date.now() >= deadline) return store.waitExitedEvent(traceId, { timeoutMs: alive ? 0 : 50, intervalMs: 1 });
    await Bun.sleep(interval);
  }
}

/** Forgets a runtime trace, whether or not the runtime has exited. */
export function untraceRuntime(store: Store, traceId: bigint | undefined, runtimePid?: number): void {
  if (!traceId) return;
  try {
    const t = store.getExitedEvent(traceId);
    if (t) store.deleteExitedEvent(traceId);
    else if (runtimePid && store.getTracingTask(runtimePid)?.traceId === traceId) store.deleteTracingTask(runtimePid);
  } catch {
    // already gone
  }
}
