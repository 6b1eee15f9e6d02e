// The lifecycle store: one record of every container (created, started, stopped, with its exit code)
// kept in BPF maps pinned under <bpffs>/<store>/ (default /sys/fs/bpf/hookshim/, root overridable
// with $HOOKSHIM_BPFFS), so short-lived hooks, the shim, the notifier and the CLI all share it and it
// survives every one of them. Exit codes come from the kernel: a raw tracepoint program on
// sched_process_exit (bpf/exitsnoop.ts, after embedshim's exitsnoop) records the wait status of each
// traced process.
//
// Opening
//   openStore(name?, opts?) → Store           create/open + load the exit program once (root needed)
//   openExistingStore(name?, {bpffs?}) → Store readers: never creates; StoreMissingError when absent
//   ensureRunning(name?, opts?) → {loaded, progId, linkId, dir}
//   resetStore(name?, {bpffs?}) → boolean      unpin maps and program link, remove the directory
//   opts: {bpffs?, maxContainers? (4096), maxEvents? (16384), maxTracing? (4096)} — fixed at creation
//
// Exit tracking (embedshim's Store)
//   store.trace(pid, {traceId?, pidns?}) → {traceId, pidnsIno, startTicks, existing, replaced?}
//       pid is a host pid; traceId defaults to store.newTraceId() (unique across processes);
//       pidns defaults to the inode of /proc/PID/ns/pid. An exit of that pid in another pid
//       namespace records nothing and drops the tracing entry. A process is traced once: tracing it
//       again returns its entry (existing: true); an entry of an earlier process with the same pid
//       (pid, start time differ) is replaced (replaced). ProcessGoneError: it exited first.
//   store.getTracingTask(pid) / deleteTracingTask(pid) / tracing.untrace(pid, traceId)
//   store.getExitedEvent(traceId) → ExitStatus {pid, waitStatus, startBoottimeNs, exitedBoottimeNs}
//   store.deleteExitedEvent(traceId); await store.waitExitedEvent(traceId, {timeoutMs?})
//   exitedEventFromWaitStatus(status) → {exitCode, signal, coreDumped}
//
// Containers
//   newContainerRecord({id, ...}) → ContainerRecord with unknowns empty
//   store.putContainer(rec) → warnings[]        full table: oldest stopped record evicted (warned),
//                                               none stopped: StoreFullError "N running containers"
//   store.updateContainer(id, patch | fn) → {record, warnings}   read-modify-write under the lock
//   store.getContainer(id), store.containers() (oldest first), store.deleteContainer(id)
//   store.collectExit(id) → record marked stopped with the kernel's exit status, or undefined
//   store.reconcile() → {stopped[], ...}      gone containers (pid + start time) marked stopped with
//                                               the kernel's status or none ("unknown"); see reconcile.ts
//   liveness(rec, store.tracing) → running | gone | unverified;  processStat(pid), liveStartTicks(pid)
//
// Events (ARCHITECTURE.md format)
//   makeEvent({type, id, source, ...}) → LifecycleEvent;  eventToJSON(ev);  eventLine(ev)
//   store.append(ev) → {seq, warnings}          many writers, dense sequence, oldest evicted when full
//   store.readEvents(after?, limit?) → {events: [{seq, event}], last, lost}
//   for await (const {seq, event} of store.follow({after?, signal?, intervalMs?, onLost?}))
//
// Housekeeping: store.gc(olderThanNs) → {containers, exitedEvents, tracingTasks, events}; store.close().
// The writer lock (flock on the store directory) dies with its holder and is waited for at most
// LOCK_TIMEOUT_MS (StoreLockTimeoutError). A store directory hookshim did not make: StoreDirError.
// Field limits (bytes): id 128, name 128, runtime 32, bundle and cgroup path 256; longer input is
// rejected with FieldTooLongError (exit code 2), never truncated. Record layouts carry
// LAYOUT_VERSION in the meta map; another version fails with StoreVersionError naming both.
export { openStore, openExistingStore, ensureRunning, resetStore, checkStoreDir, storeMapSpecs, DEFAULT_CAPACITY, type StoreOptions } from "./open.ts";
export { Store, type GcResult } from "./store.ts";
export { newContainerRecord, liveness, byAge, type Liveness } from "./containers.ts";
export { type TraceResult } from "./tracing.ts";
export { reconcile, goneRecord, releaseStopped, PID_WAIT_GRACE_NS, type ReconcileResult } from "./reconcile.ts";
export { nsInode, processIds, processStat, liveStartTicks, sameStart, type ProcessStat } from "./process.ts";
export { LOCK_TIMEOUT_MS } from "./lock.ts";
export { DEFAULT_STORE, bpffsRoot, storeDir, checkStoreName, PIN } from "./paths.ts";
export {
  LAYOUT_VERSION, LIMITS, CONTAINER_STATES, CONTAINER_RECORD_SIZE, EVENT_RECORD_SIZE, encodeContainer, decodeContainer, encodeEvent, decodeEvent,
  containerKey, TRACING_VALUE, type ContainerRecord, type ContainerState, type TaskInfo, type ExitStatus,
} from "./layout.ts";
export {
  EVENT_TYPES, EVENT_SOURCES, makeEvent, eventToJSON, eventLine, formatTime, wallClockNs,
  type LifecycleEvent, type EventType, type EventSource,
} from "./event.ts";
export { exitedEventFromWaitStatus, waitStatusOf, type ExitOutcome } from "./waitstatus.ts";
export { type AppendResult, type ReadResult, type StoredEvent } from "./eventlog.ts";
export { exitsnoopOffsets, loadExitProgram, EXIT_TRACEPOINT, type ExitProgramState } from "./exittrack.ts";
export {
  FieldTooLongError, FieldValueError, StoreVersionError, StoreFullError, StoreMissingError, StoreDamagedError, StoreDirError,
  StoreLockTimeoutError, NoSuchContainerError, ProcessGoneError,
} from "./errors.ts";
