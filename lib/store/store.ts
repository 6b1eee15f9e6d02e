// The Store: one open store's tables behind one object, for hooks, the shim, the notifier and the
// CLI. Each table lives in its own module (containers.ts, tracing.ts, eventlog.ts); opening and
// creating a store is open.ts's.
import { BpfMap, u32, u64 } from "../bpf/index.ts";
import { bootTimeWallNs } from "../sys/index.ts";
import type { DirLock } from "./lock.ts";
import { EventLog, Meta, type AppendResult, type ReadResult, type StoredEvent } from "./eventlog.ts";
import { pinnedExitProgram, type ExitProgramState } from "./exittrack.ts";
import { ContainerTable } from "./containers.ts";
import { ExitTracking, type TraceResult } from "./tracing.ts";
import { wallClockNs, type LifecycleEvent } from "./event.ts";
import { sameStart } from "./process.ts";
import { exitedEventFromWaitStatus } from "./waitstatus.ts";
import { reconcile, type ReconcileResult } from "./reconcile.ts";
import type { ContainerRecord, ExitStatus, TaskInfo } from "./layout.ts";

export type MapRole = "meta" | "containers" | "events" | "tracing" | "exited" | "cgroups";
export type StoreMaps = Record<MapRole, BpfMap>;

export interface GcResult {
  containers: number;
  exitedEvents: number;
  tracingTasks: number;
  events: number;
}

export class Store {
  readonly tracing: ExitTracking;
  private readonly table: ContainerTable;
  private readonly log: EventLog;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly maps: StoreMaps,
    private readonly lock: DirLock,
  ) {
    const meta = new Meta(maps.meta);
    this.log = new EventLog(name, maps.events, meta, lock);
    this.tracing = new ExitTracking(name, maps.tracing, maps.exited, meta, lock);
    this.table = new ContainerTable(name, maps.containers, lock, this.tracing);
  }

  get capacity(): { maxContainers: number; maxEvents: number; maxTracing: number } {
    return { maxContainers: this.table.capacity, maxEvents: this.log.capacity, maxTracing: this.tracing.capacity };
  }

  /** Runs fn holding the store's writer lock (nested holds are fine), so a multi-step change is seen whole by other writers. */
  withLock<T>(fn: () => T): T {
    return this.lock.hold(fn);
  }

  /**
   * The pinned cgroup-id filter map (u64 cgroup id -> u32 1): the hooks keep their containers in it,
   * Registry.populateBpfMap fills it from the hierarchy, programs filter on bpf_get_current_cgroup_id().
   */
  get cgroupFilter(): BpfMap {
    return this.maps.cgroups;
  }

  filterCgroup(cgroupId: bigint): void {
    this.maps.cgroups.update(u64.encode(cgroupId), u32.encode(1));
  }

  unfilterCgroup(cgroupId: bigint): boolean {
    return this.maps.cgroups.delete(u64.encode(cgroupId));
  }

  /** Every cgroup id in the filter map. */
  filteredCgroups(): bigint[] {
    return [...this.maps.cgroups.entries()].map(([k]) => u64.decode(k));
  }

  /** The pinned exit program, when it is alive and bound to this store's maps. */
  exitProgram(): ExitProgramState | undefined {
    return pinnedExitProgram(this.dir, this.maps);
  }

  // ---- exit tracking (tracing.ts) ----

  newTraceId(): bigint {
    return this.tracing.newTraceId();
  }

  trace(pid: number, opts: { traceId?: bigint; pidns?: number } = {}): TraceResult {
    return this.tracing.trace(pid, opts);
  }

  getTracingTask(pid: number): TaskInfo | undefined {
    return this.tracing.getTracingTask(pid);
  }

  deleteTracingTask(pid: number): boolean {
    return this.tracing.deleteTracingTask(pid);
  }

  tracingTasks(): [number, TaskInfo][] {
    return this.tracing.tracingTasks();
  }

  /** Drops tracing entries whose process is gone; returns how many. */
  pruneTracing(): number {
    return this.tracing.pruneStale();
  }

  getExitedEvent(traceId: bigint): ExitStatus | undefined {
    return this.tracing.getExitedEvent(traceId);
  }

  deleteExitedEvent(traceId: bigint): boolean {
    return this.tracing.deleteExitedEvent(traceId);
  }

  exitedEvents(): [bigint, ExitStatus][] {
    return this.tracing.exitedEvents();
  }

  waitExitedEvent(traceId: bigint, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<ExitStatus | undefined> {
    return this.tracing.waitExitedEvent(traceId, opts);
  }

  // ---- containers (containers.ts) ----

  getContainer(id: string): ContainerRecord | undefined {
    return this.table.get(id);
  }

  /** Every record, oldest first. */
  containers(): ContainerRecord[] {
    return this.table.list();
  }

  putContainer(rec: ContainerRecord): string[] {
    return this.table.put(rec);
  }

  updateContainer(id: string, change: Partial<ContainerRecord> | ((r: ContainerRecord) => ContainerRecord)): {
    record: ContainerRecord;
    warnings: string[];
  } {
    return this.table.update(id, change);
  }

  deleteContainer(id: string): boolean {
    return this.table.delete(id);
  }

  /**
   * The record of a traced container as stopped with the exit status the kernel recorded for its
   * process (exit code or signal, exit time), not yet written; undefined when the container is
   * unknown or not traced, or its exit has not been seen (yet).
   */
  exitOf(id: string): ContainerRecord | undefined {
    const cur = this.getContainer(id);
    if (!cur || cur.traceId === 0n) return undefined;
    const status = this.getExitedEvent(cur.traceId);
    if (!status || (cur.pidStartTicks !== 0n && !sameStart(cur.pidStartTicks, status.startBoottimeNs))) return undefined;
    return {
      ...cur, ...exitedEventFromWaitStatus(status.waitStatus), state: "stopped",
      stoppedNs: bootTimeWallNs() + status.exitedBoottimeNs,
    };
  }

  /** exitOf, written: the record marked stopped and the exit status freed. */
  collectExit(id: string): ContainerRecord | undefined {
    return this.lock.hold(() => {
      const record = this.exitOf(id);
      if (!record) return undefined;
      this.putContainer(record);
      this.deleteExitedEvent(record.traceId);
      return record;
    });
  }

  /** Marks stopped every record whose container is gone (reconcile.ts). */
  reconcile(opts: { pidWaitGraceNs?: bigint } = {}): ReconcileResult {
    return reconcile(this, opts);
  }

  // ---- event log (eventlog.ts) ----

  append(ev: LifecycleEvent): AppendResult {
    return this.log.append(ev);
  }

  readEvents(after = 0n, limit = Infinity): ReadResult {
    return this.log.read(after, limit);
  }

  eventBounds(): { tail: bigint; head: bigint } {
    return this.log.bounds();
  }

  /**
   * Every event after `after` (default: from the oldest kept), then new ones as they are appended,
   * until `signal` aborts. The store has no wakeup fd, so this polls every `intervalMs`.
   * `onLost` hears about events evicted before this reader got to them.
   */
  async *follow(opts: { after?: bigint; intervalMs?: number; signal?: AbortSignal; onLost?: (n: bigint) => void } = {}): AsyncGenerator<StoredEvent> {
    let last = opts.after ?? 0n;
    while (!opts.signal?.aborted) {
      const r = this.log.read(last, 1024);
      if (r.lost > 0n) opts.onLost?.(r.lost);
      last = r.last;
      for (const e of r.events) yield e;
      if (r.events.length === 0) await Bun.sleep(opts.intervalMs ?? 50);
    }
  }

  // ---- housekeeping ----

  /**
   * Reconciles, then removes finished containers, uncollected exit statuses and events older than
   * `olderThanNs`, and tracing entries of processes that are gone.
   */
  gc(olderThanNs: bigint): GcResult {
    const reconciled = this.reconcile();
    const cutoff = wallClockNs() - olderThanNs;
    const boot = bootTimeWallNs();
    return this.lock.hold(() => {
      const result: GcResult = { containers: 0, exitedEvents: reconciled.exitedEvents, tracingTasks: reconciled.tracingTasks, events: 0 };
      const referenced = new Set<bigint>();
      for (const c of this.containers()) {
        const finishedAt = c.stoppedNs || c.createdNs;
        if (c.state === "stopped" && finishedAt < cutoff) {
          this.deleteContainer(c.id);
          if (c.traceId && this.deleteExitedEvent(c.traceId)) result.exitedEvents++;
          result.containers++;
        } else if (c.traceId) {
          referenced.add(c.traceId);
        }
      }
      for (const [traceId, status] of this.exitedEvents()) {
        if (!referenced.has(traceId) && boot + status.exitedBoottimeNs < cutoff && this.deleteExitedEvent(traceId))
          result.exitedEvents++;
      }
      result.events = this.log.dropOlderThan(cutoff);
      return result;
    });
  }

  close(): void {
    for (const m of Object.values(this.maps)) m.close();
    this.lock.close();
  }
}
