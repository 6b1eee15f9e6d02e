// Reconciliation: records whose container is gone are marked stopped, so the store never says
// created or running for a container that no longer exists. Liveness is the pid together with the
// process's start time (containers.ts liveness), never the pid alone. The exit status is the one the
// kernel recorded for that very process (exited_events under the record's trace id, with a matching
// start time) where one exists; otherwise the record says so: exitCode and signal stay null and
// `reconciled` is set, nothing is invented. Each such stop also goes into the event log (source
// "store"), before the record changes: a reconciler killed in between leaves a record that the next
// run reconciles again (a stop may be logged twice, never lost).
//
// What runs it, and why there, is docs/store-consistency.md's subject.
import { bootTimeWallNs } from "../sys/index.ts";
import { makeEvent, wallClockNs } from "./event.ts";
import { liveness } from "./containers.ts";
import { sameStart } from "./process.ts";
import { exitedEventFromWaitStatus } from "./waitstatus.ts";
import type { ContainerRecord } from "./layout.ts";
import type { Store } from "./store.ts";

/** A record without a pid is a container whose runtime has not reported one; after this long, it never will. */
export const PID_WAIT_GRACE_NS = 5n * 60n * 1_000_000_000n;

export interface ReconcileResult {
  /** records this run marked stopped, as written */
  stopped: ContainerRecord[];
  /** exit statuses dropped because a stopped record had already taken them */
  exitedEvents: number;
  /** tracing entries of processes that are gone */
  tracingTasks: number;
}

/** The record of a gone container, stopped with the kernel's exit status for its process if there is one. */
export function goneRecord(store: Store, rec: ContainerRecord, now = wallClockNs()): ContainerRecord {
  const status = rec.traceId ? store.getExitedEvent(rec.traceId) : undefined;
  const ours = status && (rec.pidStartTicks === 0n || sameStart(rec.pidStartTicks, status.startBoottimeNs)) ? status : undefined;
  const outcome = ours ? exitedEventFromWaitStatus(ours.waitStatus) : { exitCode: null, signal: null, coreDumped: false };
  return {
    ...rec, ...outcome, state: "stopped", reconciled: true,
    stoppedNs: ours ? bootTimeWallNs() + ours.exitedBoottimeNs : now,
  };
}

export function reconcile(store: Store, opts: { pidWaitGraceNs?: bigint } = {}): ReconcileResult {
  const now = wallClockNs();
  const grace = opts.pidWaitGraceNs ?? PID_WAIT_GRACE_NS;
  const result: ReconcileResult = { stopped: [], exitedEvents: 0, tracingTasks: 0 };
  // judged outside the lock (a /proc read per record), re-checked under it before anything is written
  const gone = store.containers().filter((r) => r.state !== "stopped" && isGone(store, r, now, grace));
  for (const seen of gone) {
    const done = store.withLock(() => {
      const cur = store.getContainer(seen.id);
      if (!cur || cur.state === "stopped" || cur.pid !== seen.pid || cur.traceId !== seen.traceId || cur.createdNs !== seen.createdNs) return undefined;
      const rec = goneRecord(store, cur, now);
      store.append(makeEvent({
        type: "stopped", id: rec.id, name: rec.name, pid: rec.pid, bundle: rec.bundle, runtime: rec.runtime,
        cgroup: rec.cgroupPath, exitCode: rec.exitCode, signal: rec.signal, source: "store",
      }));
      store.putContainer(rec);
      return rec;
    });
    if (!done) continue;
    result.stopped.push(done);
    releaseStopped(store, done);
  }
  // statuses a stopped record already took (a collector killed between its two writes)
  const collected = new Set(store.containers().filter((r) => r.state === "stopped" && r.traceId).map((r) => r.traceId));
  for (const [traceId] of store.exitedEvents()) if (collected.has(traceId) && store.deleteExitedEvent(traceId)) result.exitedEvents++;
  result.tracingTasks = store.pruneTracing();
  return result;
}

function isGone(store: Store, r: ContainerRecord, now: bigint, grace: bigint): boolean {
  const l = liveness(r, store.tracing);
  if (l === "gone") return true;
  return r.pid === 0 && now - r.createdNs > grace;
}

/** What a stopped container no longer needs in the store: its exit status, tracing entry and filter entry. */
export function releaseStopped(store: Store, rec: ContainerRecord): void {
  if (rec.traceId) store.deleteExitedEvent(rec.traceId);
  store.tracing.untrace(rec.pid, rec.traceId);
  if (rec.cgroupId) store.unfilterCgroup(rec.cgroupId);
}
