// The lifecycle store: pinned maps in <bpffs>/<store>/ that hooks, the shim, the notifier and the CLI
// share, plus the exit program that fills exited_events from the kernel.
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, MapFlag, MapType, UpdateFlag, ensureBpffs, isBpffs, u32, u64, type MapSpec } from "../bpf/index.ts";
import { bootTimeWallNs, isErrno, kill } from "../sys/index.ts";
import { EXITED_KEY_SIZE, EXIT_STATUS, TASK_INFO, TRACING_KEY_SIZE } from "../../bpf/exitsnoop.ts";
import { DirLock } from "./lock.ts";
import { PIN, DEFAULT_STORE, bpffsRoot, storeDir } from "./paths.ts";
import { EventLog, Meta, META, META_SLOTS, type AppendResult, type ReadResult, type StoredEvent } from "./eventlog.ts";
import { ensureExitProgram, pinnedExitProgram, type ExitProgramState } from "./exittrack.ts";
import {
  CONTAINER_KEY_SIZE, CONTAINER_RECORD_SIZE, EVENT_RECORD_SIZE, LAYOUT_VERSION, checkLayoutVersion,
  containerKey, decodeContainer, decodeContainerKey, decodeExitStatus, decodeTaskInfo, encodeContainer,
  encodeTaskInfo, type ContainerRecord, type ExitStatus, type TaskInfo,
} from "./layout.ts";
import { wallClockNs, type LifecycleEvent } from "./event.ts";
import { exitedEventFromWaitStatus } from "./waitstatus.ts";
import { FieldValueError, StoreFullError, StoreMissingError } from "./errors.ts";

export interface StoreOptions {
  /** bpffs mount point; default $HOOKSHIM_BPFFS, else /sys/fs/bpf */
  bpffs?: string;
  /** capacities, fixed when the store is created (an existing store keeps its own) */
  maxContainers?: number;
  maxEvents?: number;
  /** traced processes; also bounds exit statuses not yet collected */
  maxTracing?: number;
}

export const DEFAULT_CAPACITY = { maxContainers: 4096, maxEvents: 16384, maxTracing: 4096 } as const;

type MapRole = "meta" | "containers" | "events" | "tracing" | "exited" | "cgroups";
type StoreMaps = Record<MapRole, BpfMap>;

// meta first: its version decides whether the other maps may be read at all.
const ROLES: MapRole[] = ["meta", "containers", "events", "tracing", "exited", "cgroups"];

/** The maps of a store with these capacities (exported for probes that need a store's maps without a store). */
export function storeMapSpecs(o: StoreOptions): Record<MapRole, MapSpec> {
  const cap = { ...DEFAULT_CAPACITY, ...o };
  const objName = (role: string) => `hs_${role}`; // kernel object names are for bpftool; pins are the identity
  return {
    meta: { type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: META_SLOTS, name: objName("meta") },
    containers: {
      type: MapType.HASH, keySize: CONTAINER_KEY_SIZE, valueSize: CONTAINER_RECORD_SIZE,
      maxEntries: cap.maxContainers, flags: MapFlag.NO_PREALLOC, name: objName("containers"),
    },
    events: {
      type: MapType.HASH, keySize: 8, valueSize: EVENT_RECORD_SIZE,
      maxEntries: cap.maxEvents, flags: MapFlag.NO_PREALLOC, name: objName("events"),
    },
    tracing: {
      type: MapType.HASH, keySize: TRACING_KEY_SIZE, valueSize: TASK_INFO.size,
      maxEntries: cap.maxTracing, name: objName("tracing"),
    },
    exited: {
      type: MapType.HASH, keySize: EXITED_KEY_SIZE, valueSize: EXIT_STATUS.size,
      maxEntries: cap.maxTracing, name: objName("exited"),
    },
    // tracee's PopulateBpfMap target: cgroup ids of containers, for kernel-side filtering
    cgroups: {
      type: MapType.HASH, keySize: 8, valueSize: 4, maxEntries: cap.maxContainers, name: objName("cgroups"),
    },
  };
}

/** Mounts bpffs at `root` unless one is there; racing mounters serialize on the directory below it. */
function mountBpffs(root: string): void {
  if (isBpffs(root)) return;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const lock = new DirLock(root);
  try {
    lock.hold(() => ensureBpffs(root));
  } finally {
    lock.close();
  }
}

function openMaps(store: string, dir: string, opts: StoreOptions, create: boolean): StoreMaps {
  const specs = storeMapSpecs(opts);
  const opened: Partial<StoreMaps> = {};
  try {
    for (const role of ROLES) {
      const spec = specs[role];
      const path = join(dir, PIN[role]);
      let map: BpfMap;
      try {
        map = BpfMap.fromPin(path);
      } catch (e) {
        if (!isErrno(e, "ENOENT")) throw e;
        if (!create) throw new Error(`store ${store} is incomplete: ${path} is missing; run "hookshim --store ${store} store reset"`);
        map = BpfMap.create(spec);
        if (role === "meta") new Meta(map).set(META.version, BigInt(LAYOUT_VERSION)); // before anyone can see it
        map.pin(path);
      }
      opened[role] = map;
      if (role === "meta") {
        const meta = new Meta(map);
        const shapeOk = map.type === spec.type && map.keySize === spec.keySize && map.valueSize === spec.valueSize;
        const found = shapeOk ? Number(meta.get(META.version)) : 0;
        checkLayoutVersion(store, found, shapeOk ? "" : "meta map has another shape");
      } else if (map.type !== spec.type || map.keySize !== spec.keySize || map.valueSize !== spec.valueSize) {
        throw new Error(
          `store ${store}: map ${PIN[role]} holds ${map.keySize}-byte keys and ${map.valueSize}-byte values, ` +
            `expected ${spec.keySize} and ${spec.valueSize}; run "hookshim --store ${store} store reset"`,
        );
      }
    }
    return opened as StoreMaps;
  } catch (e) {
    for (const m of Object.values(opened)) m.close();
    throw e;
  }
}

/**
 * Makes sure the store exists and its exit program runs: mounts bpffs where missing, creates
 * <bpffs>/<store>/ (0700) and the maps, loads and pins the exit program once.
 */
export function ensureRunning(store: string = DEFAULT_STORE, opts: StoreOptions = {}): ExitProgramState & { dir: string } {
  const { opened, exit } = start(store, opts);
  opened.close();
  return { ...exit, dir: opened.dir };
}

/** Opens (creating and starting where needed) a store for writing and reading. */
export function openStore(store: string = DEFAULT_STORE, opts: StoreOptions = {}): Store {
  return start(store, opts).opened;
}

function start(store: string, opts: StoreOptions): { opened: Store; exit: ExitProgramState } {
  const root = opts.bpffs ?? bpffsRoot();
  mountBpffs(root);
  const dir = storeDir(store, root);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const lock = new DirLock(dir);
  try {
    return lock.hold(() => {
      const maps = openMaps(store, dir, opts, true);
      try {
        const exit = ensureExitProgram(dir, maps);
        return { opened: new Store(store, dir, maps, lock), exit };
      } catch (e) {
        for (const map of Object.values(maps)) map.close();
        throw e;
      }
    });
  } catch (e) {
    lock.close();
    throw e;
  }
}

/** Opens an existing store without creating or loading anything (readers: ps, events). */
export function openExistingStore(store: string = DEFAULT_STORE, opts: Pick<StoreOptions, "bpffs"> = {}): Store {
  const dir = storeDir(store, opts.bpffs ?? bpffsRoot());
  if (!existsSync(dir)) throw new StoreMissingError(store, dir);
  const lock = new DirLock(dir);
  try {
    return new Store(store, dir, openMaps(store, dir, {}, false), lock);
  } catch (e) {
    lock.close();
    throw e;
  }
}

/** Unpins everything in the store (maps, the exit program's link) and removes its directory. */
export function resetStore(store: string = DEFAULT_STORE, opts: Pick<StoreOptions, "bpffs"> = {}): boolean {
  const dir = storeDir(store, opts.bpffs ?? bpffsRoot());
  if (!existsSync(dir)) return false;
  if (!isBpffs(dir)) throw new Error(`store ${store}: ${dir} is not on a bpffs, refusing to remove it`);
  const lock = new DirLock(dir);
  try {
    lock.hold(() => {
      for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    });
  } finally {
    lock.close();
  }
  rmdirSync(dir);
  return true;
}

/** A container record with everything not given left unknown. */
export function newContainerRecord(fields: Pick<ContainerRecord, "id"> & Partial<ContainerRecord>): ContainerRecord {
  return {
    name: "", pid: 0, pidnsIno: 0, mntnsIno: 0, cgroupId: 0n, cgroupPath: "", bundle: "", runtime: "",
    state: "created", createdNs: wallClockNs(), startedNs: 0n, stoppedNs: 0n, exitCode: null, signal: null,
    coreDumped: false, cgroupCreated: false, source: "hook", traceId: 0n,
    ...fields,
  };
}

/** Inode of /proc/PID/ns/<kind>: the namespace identity the exit program compares against. */
export function nsInode(pid: number, kind: "pid" | "mnt"): number {
  return statSync(`/proc/${pid}/ns/${kind}`).ino;
}

/**
 * The ids a container record keeps of its init process `pid`, whose cgroup v2 directory is
 * `cgroupDir`: the cgroup id (that directory's inode, the key of every BPF cgroup filter) and the
 * inodes of its pid and mount namespaces. 0 for what can no longer be read (the process or its cgroup
 * is gone).
 */
export function processIds(pid: number, cgroupDir: string): Pick<ContainerRecord, "cgroupId" | "pidnsIno" | "mntnsIno"> {
  const ns = (kind: "pid" | "mnt") => {
    try {
      return pid > 0 ? nsInode(pid, kind) : 0;
    } catch {
      return 0;
    }
  };
  let cgroupId = 0n;
  try {
    const st = cgroupDir ? statSync(cgroupDir, { bigint: true }) : undefined;
    if (st?.isDirectory()) cgroupId = st.ino;
  } catch {
    // removed meanwhile
  }
  return { cgroupId, pidnsIno: ns("pid"), mntnsIno: ns("mnt") };
}

const E2BIG = 7;
const EEXIST = 17;

export interface GcResult {
  containers: number;
  exitedEvents: number;
  tracingTasks: number;
  events: number;
}

export class Store {
  private readonly meta: Meta;
  private readonly log: EventLog;
  private readonly pidKey = new Uint8Array(4);
  private readonly traceKey = new Uint8Array(8);

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly maps: StoreMaps,
    private readonly lock: DirLock,
  ) {
    this.meta = new Meta(maps.meta);
    this.log = new EventLog(name, maps.events, this.meta, lock);
  }

  get capacity(): { maxContainers: number; maxEvents: number; maxTracing: number } {
    return {
      maxContainers: this.maps.containers.maxEntries,
      maxEvents: this.maps.events.maxEntries,
      maxTracing: this.maps.tracing.maxEntries,
    };
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

  /** The pinned exit program, when it is alive and bound to this store's maps. */
  exitProgram(): ExitProgramState | undefined {
    return pinnedExitProgram(this.dir, this.maps);
  }

  // ---- exit tracking (embedshim exitsnoop) ----

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
   * Starts tracing `pid` (a host pid): its exit status will appear under the trace id. `pidns` is the
   * inode of the process's pid namespace (default: read from /proc/PID/ns/pid now); an exit of the
   * same pid in another namespace is not recorded and drops the entry. Throws when the pid is
   * already traced, when the table is full, or when the process died before it could be traced.
   */
  trace(pid: number, opts: { traceId?: bigint; pidns?: number } = {}): TaskInfo {
    if (!Number.isInteger(pid) || pid <= 0) throw new FieldValueError("pid", `${pid} is not a pid`);
    const info: TaskInfo = { traceId: opts.traceId ?? this.newTraceId(), pidnsIno: opts.pidns ?? nsInode(pid, "pid") };
    const r = this.maps.tracing.tryUpdate(this.pidKeyOf(pid), encodeTaskInfo(info), UpdateFlag.NOEXIST);
    if (r === -EEXIST) {
      const other = this.getTracingTask(pid);
      throw new Error(`store ${this.name}: pid ${pid} is already traced (trace id ${other?.traceId ?? "?"})`);
    }
    if (r === -E2BIG) throw new StoreFullError(this.name, `${this.maps.tracing.maxEntries} traced processes`);
    if (r < 0) this.maps.tracing.update(this.pidKeyOf(pid), encodeTaskInfo(info), UpdateFlag.NOEXIST);
    // An exit before the entry existed went unseen; one after it is in exited_events (a zombie still
    // answers kill 0, and its exit has been recorded by then).
    if (!processExists(pid) && !this.getExitedEvent(info.traceId)) {
      this.deleteTracingTask(pid);
      throw new Error(`store ${this.name}: pid ${pid} exited before it could be traced`);
    }
    return info;
  }

  getTracingTask(pid: number): TaskInfo | undefined {
    const v = this.maps.tracing.lookup(this.pidKeyOf(pid));
    return v && decodeTaskInfo(v);
  }

  deleteTracingTask(pid: number): boolean {
    return this.maps.tracing.delete(this.pidKeyOf(pid));
  }

  getExitedEvent(traceId: bigint): ExitStatus | undefined {
    const v = this.maps.exited.lookup(this.traceKeyOf(traceId));
    return v && decodeExitStatus(v);
  }

  deleteExitedEvent(traceId: bigint): boolean {
    return this.maps.exited.delete(this.traceKeyOf(traceId));
  }

  /** Every traced pid and its entry. */
  tracingTasks(): [number, TaskInfo][] {
    return [...this.maps.tracing.entries()].map(([k, v]) => [new DataView(k.buffer).getUint32(0, true), decodeTaskInfo(v)]);
  }

  /** Every exit status not yet collected, by trace id. */
  exitedEvents(): [bigint, ExitStatus][] {
    return [...this.maps.exited.entries()].map(([k, v]) => [new DataView(k.buffer).getBigUint64(0, true), decodeExitStatus(v)]);
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

  // ---- containers ----

  getContainer(id: string): ContainerRecord | undefined {
    const v = this.maps.containers.lookup(containerKey(id));
    return v && decodeContainer(id, v);
  }

  /** Every record, oldest first. */
  containers(): ContainerRecord[] {
    const entries = this.maps.containers.lookupBatch() ?? [...this.maps.containers.entries()];
    return entries
      .map(([k, v]) => decodeContainer(decodeContainerKey(k), v))
      .sort((a, b) => (a.createdNs < b.createdNs ? -1 : a.createdNs > b.createdNs ? 1 : a.id.localeCompare(b.id)));
  }

  /**
   * Writes a record (insert or replace). When the table is full the oldest finished record goes
   * first and the returned warnings say which; with nothing finished it throws StoreFullError.
   */
  putContainer(rec: ContainerRecord): string[] {
    const key = containerKey(rec.id);
    const value = encodeContainer(rec);
    return this.lock.hold(() => {
      const warnings: string[] = [];
      for (;;) {
        const r = this.maps.containers.tryUpdate(key, value);
        if (r === 0) return warnings;
        if (r !== -E2BIG) this.maps.containers.update(key, value); // throws the SyscallError
        warnings.push(this.evictFinishedContainer());
      }
    });
  }

  private evictFinishedContainer(): string {
    const all = this.containers();
    const finished = all
      .filter((c) => c.state === "stopped")
      .sort((a, b) => Number((a.stoppedNs || a.createdNs) - (b.stoppedNs || b.createdNs)));
    const victim = finished[0];
    if (!victim) throw new StoreFullError(this.name, `${all.length} running containers`);
    this.deleteContainer(victim.id);
    return `store ${this.name}: container table full (${this.maps.containers.maxEntries}), evicted finished container ${victim.id}`;
  }

  /** Read-modify-write under the lock, so concurrent writers do not lose each other's fields. */
  updateContainer(id: string, change: Partial<ContainerRecord> | ((r: ContainerRecord) => ContainerRecord)): {
    record: ContainerRecord;
    warnings: string[];
  } {
    return this.lock.hold(() => {
      const cur = this.getContainer(id);
      if (!cur) throw new Error(`store ${this.name}: no container ${id}`);
      const record = typeof change === "function" ? change(cur) : { ...cur, ...change, id };
      return { record, warnings: this.putContainer(record) };
    });
  }

  deleteContainer(id: string): boolean {
    return this.maps.containers.delete(containerKey(id));
  }

  /**
   * Marks a traced container stopped with the exit status the kernel recorded (exit code or signal,
   * exit time), and frees the status. Undefined when the container is unknown or not traced, or its
   * exit has not been seen (yet).
   */
  collectExit(id: string): ContainerRecord | undefined {
    return this.lock.hold(() => {
      const cur = this.getContainer(id);
      if (!cur || cur.traceId === 0n) return undefined;
      const status = this.getExitedEvent(cur.traceId);
      if (!status) return undefined;
      const outcome = exitedEventFromWaitStatus(status.waitStatus);
      const record: ContainerRecord = {
        ...cur,
        state: "stopped",
        stoppedNs: bootTimeWallNs() + status.exitedBoottimeNs,
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        coreDumped: outcome.coreDumped,
      };
      this.putContainer(record);
      this.deleteExitedEvent(cur.traceId);
      return record;
    });
  }

  // ---- event log ----

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

  /** Removes finished containers, uncollected exit statuses and events older than `olderThanNs`, and tracing entries of processes that are gone. */
  gc(olderThanNs: bigint): GcResult {
    const cutoff = wallClockNs() - olderThanNs;
    const boot = bootTimeWallNs();
    return this.lock.hold(() => {
      const result: GcResult = { containers: 0, exitedEvents: 0, tracingTasks: 0, events: 0 };
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
      for (const [pid] of this.tracingTasks()) {
        if (!processExists(pid) && this.deleteTracingTask(pid)) result.tracingTasks++;
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

function processExists(pid: number): boolean {
  try {
    kill(pid, 0);
    return true;
  } catch (e) {
    if (isErrno(e, "ESRCH")) return false;
    throw e;
  }
}
