// The containers gadgets talk about: the cgroup registry (what is running, found from cgroup paths)
// joined with the lifecycle store (what the hooks, the shim and the notifier recorded: names, pids,
// states). Either may know a container the other does not: a container started without hookshim
// has no record; one whose cgroup lives only in a v1 hierarchy is not in the registry.
//
// One reader of both for everything that lists containers: the gadgets and `hookshim ps`.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Registry, STATE_RUNTIMES, defaultBundleSearch, runtimeStateFile, type CgroupInfo, type StateRuntime } from "../containers/index.ts";
import { openExistingStore, StoreMissingError, type ContainerRecord, type StoreOptions } from "../store/index.ts";
import { cgroupPids } from "./filtermap.ts";
import type { ContainerRow } from "./gadget.ts";

export interface ContainerView extends ContainerRow {
  /** null: known only to the store, which recorded no cgroup id */
  cgroupId: bigint | null;
  /** path in the cgroup hierarchy ("/parent/id"), "" when unknown */
  cgroupPath: string;
  /** created, running, stopped... from the store; "running" for a live cgroup the store lacks */
  state: string;
  /** host pid of the container's init (the store's, else found in its cgroup), 0 when unknown */
  pid: number;
  bundle: string;
  image: string;
  podName: string;
  podNamespace: string;
  /** wall-clock ns, 0n when unknown */
  createdNs: bigint;
  /** its cgroup is in the registry's hierarchy now (cgroupPath is relative to it) */
  live: boolean;
}

export interface DirectoryOptions {
  store: string;
  /** the store's bpffs (hookshim's configuration); default $HOOKSHIM_BPFFS, else /sys/fs/bpf */
  storeOptions?: Pick<StoreOptions, "bpffs">;
  /** OCI runtime state roots (runc --root) searched besides the stock ones */
  runtimeRoots?: string[];
  registry?: Registry;
  /** a store that cannot be read (not root, no bpffs) is noted here and treated as empty */
  warn?: (message: string) => void;
  /** a store that exists but cannot be read fails refresh() instead (a missing store is always empty) */
  strictStore?: boolean;
}

/** The OCI runtime whose state root holds `id`: runc keeps <root>/<id>/state.json, crun <root>/<id>/status. */
export function ociRuntimeOf(id: string, roots: string[]): StateRuntime | undefined {
  for (const root of roots) for (const runtime of STATE_RUNTIMES) if (existsSync(runtimeStateFile(runtime, root, id))) return runtime;
  return undefined;
}

/** /proc/PID/status NSpid: the pid in each pid namespace it is in, outermost first. */
function nsPids(pid: number): string[] | undefined {
  try {
    return /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]?.trim().split(/\s+/);
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * The init of the container whose cgroup directory is `dir`, from cgroup.procs (its own, then the
 * nested cgroups'): the process that is pid 1 in a pid namespace of its own, else the first listed
 * (a container sharing the host's pid namespace); 0 when the cgroup has no process.
 */
export function cgroupInitPid(dir: string): number {
  const pids = cgroupPids(dir);
  for (const pid of pids) {
    const ns = nsPids(pid);
    if (ns && ns.length > 1 && ns[ns.length - 1] === "1") return pid;
  }
  return pids[0] ?? 0;
}

export class ContainerDirectory {
  readonly registry: Registry;
  private readonly storeName: string;
  private readonly storeOptions: Pick<StoreOptions, "bpffs">;
  private readonly runtimeRoots: string[];
  private readonly warn: (message: string) => void;
  private readonly strictStore: boolean;
  private records = new Map<string, ContainerRecord>();
  private storeWarned = false;

  constructor(opts: DirectoryOptions) {
    const stock = defaultBundleSearch();
    this.runtimeRoots = [...(opts.runtimeRoots ?? []), ...stock.runtimeRoots];
    this.registry = opts.registry ?? new Registry({ bundleSearch: { runtimeRoots: this.runtimeRoots, bundleParents: stock.bundleParents } });
    this.storeName = opts.store;
    this.storeOptions = opts.storeOptions ?? {};
    this.warn = opts.warn ?? (() => {});
    this.strictStore = opts.strictStore ?? false;
  }

  /** Walk the cgroup hierarchy again and reread the store. */
  refresh(): void {
    // populate() only adds: a container whose cgroup went since the last walk is removed here, and
    // kept for the registry's grace period so late events still find it
    for (const c of this.registry.containers()) if (!existsSync(this.cgroupDir(c.path))) this.registry.cgroupRemove(c.cgroupId);
    this.registry.cleanDeleted();
    this.registry.populate();
    this.records = new Map(this.readStore().map((r) => [r.id, r]));
  }

  private readStore(): ContainerRecord[] {
    let store;
    try {
      store = openExistingStore(this.storeName, this.storeOptions);
    } catch (e) {
      if (e instanceof StoreMissingError) return [];
      if (this.strictStore) throw e;
      if (!this.storeWarned) this.warn(`store ${this.storeName} not read: ${(e as Error).message}`);
      this.storeWarned = true;
      return [];
    }
    try {
      return store.containers();
    } finally {
      store.close();
    }
  }

  /** Every store record as of the last refresh(), stopped ones too, in the store's order (oldest first). */
  storeRecords(): ContainerRecord[] {
    return [...this.records.values()];
  }

  /** Live containers the registry found that the store has no record of. */
  unrecorded(): ContainerView[] {
    return this.registry
      .containers()
      .filter((info) => !this.records.has(info.containerId))
      .map((info) => this.fromCgroup(this.registry.enrich(info.cgroupId) ?? info));
  }

  /** Live containers (their own cgroups), then store records of containers not in the registry. */
  list(includeStopped = false): ContainerView[] {
    const views: ContainerView[] = [];
    const seen = new Set<string>();
    for (const info of this.registry.containers()) {
      seen.add(info.containerId);
      views.push(this.fromCgroup(this.registry.enrich(info.cgroupId) ?? info));
    }
    for (const rec of this.records.values()) {
      if (seen.has(rec.id) || (!includeStopped && rec.state === "stopped")) continue;
      views.push(this.fromRecord(rec));
    }
    return views;
  }

  /** The container a cgroup id belongs to (a nested cgroup belongs to its container), or undefined. */
  byCgroupId(cgroupId: bigint): ContainerView | undefined {
    const info = this.registry.getCgroupInfo(cgroupId);
    if (!info?.containerId) return undefined;
    // no pid lookup here: this runs for every event, and trace rows carry their own pids
    return this.fromCgroup(this.registry.enrich(cgroupId) ?? info, false);
  }

  /** Absolute directory of a cgroup path in the registry's hierarchy. */
  cgroupDir(path: string): string {
    return join(this.registry.mountpoint, path);
  }

  private runtimeOf(engine: string, id: string, rec: ContainerRecord | undefined): string {
    if (engine !== "unknown") return engine;
    return rec?.runtime || ociRuntimeOf(id, this.runtimeRoots) || "unknown";
  }

  /** `findPid`: without a recorded pid, look for the init in the cgroup (cgroup.procs, /proc/PID/status). */
  private fromCgroup(info: CgroupInfo, findPid = true): ContainerView {
    const rec = this.records.get(info.containerId);
    const meta = info.metadata ?? {};
    return {
      containerId: info.containerId,
      containerName: rec?.name || meta.name || "",
      runtime: this.runtimeOf(info.runtime, info.containerId, rec),
      cgroupId: info.cgroupId,
      cgroupPath: info.path,
      state: rec && rec.state !== "stopped" ? rec.state : "running",
      pid: rec?.pid || (findPid && !info.dead ? cgroupInitPid(this.cgroupDir(info.path)) : 0),
      bundle: rec?.bundle || info.bundle || "",
      image: meta.image ?? "",
      podName: meta.podName ?? "",
      podNamespace: meta.podNamespace ?? "",
      createdNs: rec?.createdNs || BigInt(Math.round(info.ctimeMs * 1e6)),
      live: !info.dead,
    };
  }

  private fromRecord(rec: ContainerRecord): ContainerView {
    return {
      containerId: rec.id,
      containerName: rec.name,
      runtime: rec.runtime || ociRuntimeOf(rec.id, this.runtimeRoots) || "unknown",
      cgroupId: rec.cgroupId || null,
      cgroupPath: rec.cgroupPath,
      state: rec.state,
      pid: rec.pid,
      bundle: rec.bundle,
      image: "",
      podName: "",
      podNamespace: "",
      createdNs: rec.createdNs,
      live: false,
    };
  }
}
