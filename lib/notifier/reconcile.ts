// Keeping the store's container records in step with what the notifier follows, without
// overwriting what a hook recorded: a running record when a container is added, its stop (exit code
// or signal) when it is removed. Only verified containers get a record.
import { makeEvent, newContainerRecord, processIds, type ContainerRecord, type ExitOutcome, type Store } from "../store/index.ts";
import { ContainerInfoError } from "./container-info.ts";
import type { Followed } from "./exits.ts";

/** A non-root container whose id a live container of the store already holds: not recorded. */
export class ContainerIdTakenError extends ContainerInfoError {
  constructor(readonly id: string, readonly uid: number) {
    super("store", `container ${id} of uid ${uid}: the store holds another container with this id: not recorded`);
    this.name = "ContainerIdTakenError";
  }
}

/**
 * Records `w` as running. A record of the same process is left as it is; a non-root container never
 * replaces the record of another live container with its id (ContainerIdTakenError).
 */
export function recordRunning(store: Store, w: Followed, alive: (pid: number) => boolean): void {
  const cur = store.getContainer(w.id);
  const now = makeEvent({ type: "add", id: w.id, source: "notifier" }).timeNs;
  if (cur && cur.pid === w.pid) return;
  if (cur && w.uid !== 0 && cur.state !== "stopped" && (cur.pid === 0 || alive(cur.pid))) throw new ContainerIdTakenError(w.id, w.uid);
  store.putContainer({
    ...(cur ?? newContainerRecord({ id: w.id })),
    id: w.id, name: w.name, pid: w.pid, bundle: w.bundle, runtime: w.runtime, cgroupPath: w.cgroup || cur?.cgroupPath || "", state: "running",
    ...processIds(w.pid, w.cgroup || cur?.cgroupPath || ""),
    startedNs: now, createdNs: cur?.createdNs || now, stoppedNs: 0n, exitCode: null, signal: null, coreDumped: false,
    traceId: w.traceId, source: cur?.source ?? "notifier",
  });
}

/** Records the stop of `w`, if the record is still its process's; a store that refuses is no error (the event says it). */
export function recordStopped(store: Store, w: Followed, outcome: ExitOutcome): void {
  try {
    store.updateContainer(w.id, (r: ContainerRecord) =>
      r.pid === w.pid ? { ...r, state: "stopped", stoppedNs: makeEvent({ type: "remove", id: w.id, source: "notifier" }).timeNs, exitCode: outcome.exitCode, signal: outcome.signal, coreDumped: outcome.coreDumped } : r,
    );
  } catch {
    // not recorded (or the store is full): the event is what matters
  }
}
