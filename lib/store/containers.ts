// The containers table: one record per container id. Capacity is spent on containers hookshim can
// show to be running: when the table is full, a record goes to make room, oldest first, among the
// stopped ones and then among those that are not verifiably running (gone, or never given a process
// hookshim could identify). Only a table full of live, identified containers refuses a write.
import type { BpfMap } from "../bpf/index.ts";
import { Errno } from "../sys/index.ts";
import type { DirLock } from "./lock.ts";
import { containerKey, decodeContainer, decodeContainerKey, encodeContainer, type ContainerRecord } from "./layout.ts";
import { wallClockNs } from "./event.ts";
import { liveStartTicks } from "./process.ts";
import type { ExitTracking } from "./tracing.ts";
import { NoSuchContainerError, StoreFullError } from "./errors.ts";

/** A container record with everything not given left unknown. */
export function newContainerRecord(fields: Pick<ContainerRecord, "id"> & Partial<ContainerRecord>): ContainerRecord {
  return {
    name: "", pid: 0, pidnsIno: 0, mntnsIno: 0, cgroupId: 0n, cgroupPath: "", bundle: "", runtime: "",
    state: "created", createdNs: wallClockNs(), startedNs: 0n, stoppedNs: 0n, exitCode: null, signal: null,
    coreDumped: false, cgroupCreated: false, source: "hook", traceId: 0n, pidStartTicks: 0n, reconciled: false,
    ...fields,
  };
}

/**
 * What a record not marked stopped says about its container, judged by pid and start time:
 * running (that very process is alive), gone (no process, or a later one, holds the pid) or
 * unverified (no pid yet, or a live pid whose start time was never recorded).
 */
export type Liveness = "running" | "gone" | "unverified";

export function liveness(rec: ContainerRecord, tracing: ExitTracking): Liveness {
  if (rec.pid === 0) return "unverified";
  const live = liveStartTicks(rec.pid);
  if (live === undefined) return "gone";
  const expected = rec.pidStartTicks || startFromTrace(rec, tracing);
  if (!expected) return "unverified";
  return live === expected ? "running" : "gone";
}

/** The start time the record's own tracing entry holds, 0n when the entry is not the record's. */
function startFromTrace(rec: ContainerRecord, tracing: ExitTracking): bigint {
  if (rec.traceId === 0n) return 0n;
  const t = tracing.getTracingTask(rec.pid);
  return t?.traceId === rec.traceId ? t.startTicks : 0n;
}

// ids by code unit: localeCompare would build an ICU collator on the hook path
export const byAge = (a: Pick<ContainerRecord, "createdNs" | "id">, b: Pick<ContainerRecord, "createdNs" | "id">) =>
  a.createdNs < b.createdNs ? -1 : a.createdNs > b.createdNs ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export class ContainerTable {
  constructor(
    private readonly store: string,
    private readonly map: BpfMap,
    private readonly lock: DirLock,
    private readonly tracing: ExitTracking,
  ) {}

  get capacity(): number {
    return this.map.maxEntries;
  }

  get(id: string): ContainerRecord | undefined {
    const v = this.map.lookup(containerKey(id));
    return v && decodeContainer(id, v);
  }

  /** Every record, oldest first. */
  list(): ContainerRecord[] {
    const entries = this.map.lookupBatch() ?? [...this.map.entries()];
    return entries.map(([k, v]) => decodeContainer(decodeContainerKey(k), v)).sort(byAge);
  }

  /**
   * Writes a record (insert or replace). A record of a traced process that does not say when the
   * process started gets the start time its tracing entry holds. When the table is full, records
   * go as the opening comment says and the returned warnings name them; a table of running
   * containers only throws StoreFullError.
   */
  put(rec: ContainerRecord): string[] {
    if (rec.pid > 0 && rec.pidStartTicks === 0n && rec.state !== "stopped") {
      const start = startFromTrace(rec, this.tracing);
      if (start) rec = { ...rec, pidStartTicks: start };
    }
    const key = containerKey(rec.id);
    const value = encodeContainer(rec);
    return this.lock.hold(() => {
      const warnings: string[] = [];
      for (;;) {
        const r = this.map.tryUpdate(key, value);
        if (r === 0) return warnings;
        if (r !== -Errno.E2BIG) this.map.update(key, value); // throws the SyscallError
        warnings.push(this.evictOne());
      }
    });
  }

  private evictOne(): string {
    const all = this.list();
    const stopped = all
      .filter((c) => c.state === "stopped")
      .sort((a, b) => Number((a.stoppedNs || a.createdNs) - (b.stoppedNs || b.createdNs)))[0];
    const victim = stopped ?? all.find((c) => c.state !== "stopped" && liveness(c, this.tracing) !== "running");
    if (!victim) throw new StoreFullError(this.store, `${all.length} running containers`);
    this.delete(victim.id);
    if (victim.state !== "stopped") this.tracing.untrace(victim.pid, victim.traceId);
    const what = stopped ? "finished container" : `container not verifiably running (state ${victim.state}, pid ${victim.pid || "unknown"})`;
    return `store ${this.store}: container table full (${this.map.maxEntries}), evicted ${what} ${victim.id}`;
  }

  /** Read-modify-write under the lock, so concurrent writers do not lose each other's fields. */
  update(id: string, change: Partial<ContainerRecord> | ((r: ContainerRecord) => ContainerRecord)): {
    record: ContainerRecord;
    warnings: string[];
  } {
    return this.lock.hold(() => {
      const cur = this.get(id);
      if (!cur) throw new NoSuchContainerError(this.store, id);
      const record = typeof change === "function" ? change(cur) : { ...cur, ...change, id };
      return { record, warnings: this.put(record) };
    });
  }

  delete(id: string): boolean {
    return this.map.delete(containerKey(id));
  }
}
