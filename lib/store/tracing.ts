// Exit tracking's two tables (embedshim's exitsnoop store): tracing_tasks (host pid -> trace id, pid
// namespace, start time), which the exit program consumes, and exited_events (trace id -> wait
// status), which it fills. A pid is traced once per process: tracing a process already traced hands
// back its entry, and an entry left by an earlier process with the same pid (its exit went unseen:
// the exit program was not running, or the host's exit path skipped it) is replaced, never allowed
// to block the new process or to claim its exit.
import { UpdateFlag, type BpfMap } from "../bpf/index.ts";
import { Errno } from "../sys/index.ts";
import type { DirLock } from "./lock.ts";
import { META, type Meta } from "./eventlog.ts";
import { decodeExitStatus, decodeTaskInfo, encodeTaskInfo, type ExitStatus, type TaskInfo } from "./layout.ts";
import { liveStartTicks, nsInode } from "./process.ts";
import { FieldValueError, ProcessGoneError, StoreFullError } from "./errors.ts";

export interface TraceResult extends TaskInfo {
  /** the process was traced already (by an earlier hook invocation or the notifier): this is that entry */
  existing: boolean;
  /** the entry of an earlier process with this pid that this one replaced */
  replaced?: TaskInfo;
}

export class ExitTracking {
  private readonly pidKey = new Uint8Array(4);
  private readonly traceKey = new Uint8Array(8);

  constructor(
    private readonly store: string,
    private readonly tracing: BpfMap,
    private readonly exited: BpfMap,
    private readonly meta: Meta,
    private readonly lock: DirLock,
  ) {}

  get capacity(): number {
    return this.tracing.maxEntries;
  }

  private pidKeyOf(pid: number): Uint8Array {
    new DataView(this.pidKey.buffer).setUint32(0, pid, true);
    return this.pidKey;
  }

  private traceKeyOf(traceId: bigint): Uint8Array {
    new DataView(this.traceKey.buffer).setBigUint64(0, traceId, true);
    return this.traceKey;
  }

  /** A trace id no other process of any store user has been given (sequential under the lock). */
  newTraceId(): bigint {
    return this.lock.hold(() => {
      const id = this.meta.get(META.nextTraceId) + 1n;
      this.meta.set(META.nextTraceId, id);
      return id;
    });
  }

  /**
   * Traces the process `pid` (a host pid) now names: its exit status will appear under the trace id.
   * `pidns` is the inode of its pid namespace (default: /proc/PID/ns/pid). Throws ProcessGoneError
   * when the process exited before it could be traced, StoreFullError when every entry belongs to a
   * live process.
   */
  trace(pid: number, opts: { traceId?: bigint; pidns?: number } = {}): TraceResult {
    if (!Number.isInteger(pid) || pid <= 0) throw new FieldValueError("pid", `${pid} is not a pid`);
    const startTicks = liveStartTicks(pid);
    if (startTicks === undefined) throw new ProcessGoneError(this.store, pid);
    const pidnsIno = opts.pidns ?? nsInode(pid, "pid");
    const result = this.lock.hold((): TraceResult => {
      const cur = this.getTracingTask(pid);
      if (cur?.startTicks === startTicks) return { ...cur, existing: true };
      const info: TaskInfo = { traceId: opts.traceId ?? this.newTraceId(), pidnsIno, startTicks };
      // an entry of another process is stale: that process is gone, since this one holds its pid
      this.insert(pid, info, cur ? UpdateFlag.EXIST : UpdateFlag.NOEXIST);
      return { ...info, existing: false, replaced: cur };
    });
    // An exit before the entry existed went unseen; one after it is in exited_events.
    if (!result.existing && liveStartTicks(pid) !== startTicks && !this.getExitedEvent(result.traceId)) {
      this.untrace(pid, result.traceId);
      throw new ProcessGoneError(this.store, pid);
    }
    return result;
  }

  private insert(pid: number, info: TaskInfo, flag: number): void {
    const value = encodeTaskInfo(info);
    for (let pruned = false; ; pruned = true) {
      const r = this.tracing.tryUpdate(this.pidKeyOf(pid), value, flag);
      if (r === 0) return;
      if (r === -Errno.ENOENT && flag === UpdateFlag.EXIST) {
        flag = UpdateFlag.NOEXIST; // the kernel dropped the stale entry meanwhile
        continue;
      }
      if (r !== -Errno.E2BIG) this.tracing.update(this.pidKeyOf(pid), value, flag); // throws the SyscallError
      if (pruned || this.pruneStale() === 0) throw new StoreFullError(this.store, `${this.tracing.maxEntries} traced processes`);
    }
  }

  getTracingTask(pid: number): TaskInfo | undefined {
    const v = this.tracing.lookup(this.pidKeyOf(pid));
    return v && decodeTaskInfo(v);
  }

  /** Drops pid's entry if it is still trace `traceId`'s (a later process may hold the pid by now). */
  untrace(pid: number, traceId: bigint): boolean {
    if (pid <= 0 || traceId === 0n) return false;
    return this.lock.hold(() => this.getTracingTask(pid)?.traceId === traceId && this.tracing.delete(this.pidKeyOf(pid)));
  }

  /** Drops pid's entry whoever it belongs to. */
  deleteTracingTask(pid: number): boolean {
    return this.tracing.delete(this.pidKeyOf(pid));
  }

  /** Every traced pid and its entry. */
  tracingTasks(): [number, TaskInfo][] {
    return [...this.tracing.entries()].map(([k, v]) => [new DataView(k.buffer).getUint32(0, true), decodeTaskInfo(v)]);
  }

  /** Drops the entries whose process is gone (pid free, or held by a later process); returns how many. */
  pruneStale(): number {
    let n = 0;
    for (const [pid, t] of this.tracingTasks()) if (liveStartTicks(pid) !== t.startTicks && this.untrace(pid, t.traceId)) n++;
    return n;
  }

  getExitedEvent(traceId: bigint): ExitStatus | undefined {
    const v = this.exited.lookup(this.traceKeyOf(traceId));
    return v && decodeExitStatus(v);
  }

  deleteExitedEvent(traceId: bigint): boolean {
    return this.exited.delete(this.traceKeyOf(traceId));
  }

  /** Every exit status not yet collected, by trace id. */
  exitedEvents(): [bigint, ExitStatus][] {
    return [...this.exited.entries()].map(([k, v]) => [new DataView(k.buffer).getBigUint64(0, true), decodeExitStatus(v)]);
  }

  /** Polls for the exit status until it appears or `timeoutMs` passes. */
  async waitExitedEvent(traceId: bigint, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<ExitStatus | undefined> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const s = this.getExitedEvent(traceId);
      if (s || Date.now() >= deadline) return s;
      await Bun.sleep(opts.intervalMs ?? 10);
    }
  }
}
