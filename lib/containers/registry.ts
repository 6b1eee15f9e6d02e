// Cgroup id -> container, for every cgroup of one hierarchy: tracee's containers.Manager. Kernel-side
// events carry only a cgroup id (bpf_get_current_cgroup_id, the cgroup_mkdir/rmdir tracepoints);
// this turns it back into a path, a runtime and a container id. The cgroup id is the inode of the
// cgroup's directory. Removed cgroups stay for a grace period, because events of a container's last
// processes arrive after its cgroup is gone.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cgroupMount } from "../cgroup/mount.ts";
import { fsCode, isCgroupError } from "../cgroup/errors.ts";
import { parseMountinfo } from "../sys/index.ts";
import { containerFromCgroupPath, type ContainerRuntime } from "./cgroup-path.ts";
import { findBundle, readBundleMetadata, type ContainerMetadata, type BundleSearch } from "./bundle.ts";

export interface CgroupInfo {
  cgroupId: bigint;
  /** path relative to the hierarchy's mount point, starting with "/" */
  path: string;
  runtime: ContainerRuntime;
  /** "" for a cgroup that is no container's */
  containerId: string;
  /** the container's own cgroup rather than one nested inside it */
  containerRoot: boolean;
  podUid?: string;
  /** the directory's ctime (creation, for a cgroup), ms since the epoch */
  ctimeMs: number;
  /** removed: kept until expiresAt */
  dead: boolean;
  expiresAt?: number;
  bundle?: string;
  metadata?: ContainerMetadata;
}

/** What populateBpfMap writes to: lib/bpf's BpfMap has this shape. */
export interface CgroupFilterMap {
  update(key: Uint8Array, value: Uint8Array): void;
}

export interface RegistryOptions {
  /** the hierarchy to follow; default: the cgroup2 mount, or on a v1-only host the cpuset hierarchy */
  mountpoint?: string;
  /** how long a removed cgroup stays known; tracee's original 5 s */
  graceMs?: number;
  /** clock in ms, for tests */
  now?: () => number;
  /** where enrich() looks for bundles; default: the runtimes' stock locations */
  bundleSearch?: BundleSearch;
}

export const DEFAULT_GRACE_MS = 5_000;

/**
 * The hierarchy containers are tracked in. bpf_get_current_cgroup_id() reports the v2 cgroup even on
 * a hybrid host, and runtimes create a v2 cgroup there too, so v2 wherever it is mounted. Only a
 * host without cgroup2 falls back to v1, on the cpuset hierarchy as tracee does.
 */
export function defaultHierarchy(mountinfo?: string): string {
  try {
    return cgroupMount().mountpoint;
  } catch (e) {
    if (!isCgroupError(e, "no-cgroup2")) throw e;
    const v1 = parseMountinfo(mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8")).filter((m) => m.fstype === "cgroup");
    const hierarchy = v1.find((m) => m.superOptions.includes("cpuset")) ?? v1.find((m) => m.superOptions.includes("cpu"));
    if (!hierarchy) throw e;
    return hierarchy.mountpoint;
  }
}

const statBig = (path: string) => statSync(path, { bigint: true });

export class Registry {
  readonly mountpoint: string;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly bundleSearch?: BundleSearch;
  private readonly cgroups = new Map<bigint, CgroupInfo>();
  private deleted: bigint[] = [];

  constructor(options: RegistryOptions = {}) {
    this.mountpoint = (options.mountpoint ?? defaultHierarchy()).replace(/\/+$/, "") || "/";
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.now = options.now ?? Date.now;
    this.bundleSearch = options.bundleSearch;
  }

  get size(): number {
    return this.cgroups.size;
  }

  /**
   * Record every cgroup under `subtree` (a path relative to the mount; default the whole
   * hierarchy). Cgroups that vanish during the walk are skipped. Returns how many were recorded.
   */
  populate(subtree = "/"): number {
    let count = 0;
    const walk = (dir: string) => {
      let st;
      let entries;
      try {
        st = statBig(dir);
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        if (fsCode(e) === "ENOENT") return;
        throw e;
      }
      this.cgroupUpdate(st.ino, dir, Number(st.ctimeNs) / 1e6);
      count++;
      for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name));
    };
    walk(this.absolute(subtree));
    return count;
  }

  /**
   * Record one cgroup. `path` is relative to the mount point, or absolute under it. ALL cgroups
   * are recorded, containers or not, so an id is never looked up twice.
   */
  cgroupUpdate(cgroupId: bigint, path: string, ctimeMs: number, dead = false): CgroupInfo {
    const relative = this.relative(path);
    const match = containerFromCgroupPath(relative);
    const info: CgroupInfo = {
      cgroupId,
      path: relative,
      runtime: match?.runtime ?? "unknown",
      containerId: match?.containerId ?? "",
      containerRoot: match?.containerRoot ?? false,
      ctimeMs,
      dead,
    };
    if (match?.podUid) info.podUid = match.podUid;
    this.cgroups.set(cgroupId, info);
    return info;
  }

  /**
   * A cgroup_mkdir event: `path` is the new cgroup's path in its hierarchy. When the directory is
   * already gone (a short-lived container), the entry is recorded dead with the event's path.
   */
  cgroupMkdir(cgroupId: bigint, path: string): CgroupInfo {
    const found = this.locate(cgroupId, path);
    if (found) return this.cgroupUpdate(cgroupId, found.path, found.ctimeMs);
    return this.cgroupUpdate(cgroupId, path, this.now(), true);
  }

  /** A cgroup_rmdir event: keep the entry for the grace period, then drop it. */
  cgroupRemove(cgroupId: bigint): void {
    this.cleanDeleted();
    const info = this.cgroups.get(cgroupId);
    if (!info || info.dead) return;
    info.dead = true;
    info.expiresAt = this.now() + this.graceMs;
    this.deleted.push(cgroupId);
  }

  /** Drop removed cgroups whose grace period is over. Returns how many were dropped. */
  cleanDeleted(): number {
    const now = this.now();
    const keep: bigint[] = [];
    let dropped = 0;
    for (const id of this.deleted) {
      const info = this.cgroups.get(id);
      if (info?.expiresAt !== undefined && now >= info.expiresAt) {
        this.cgroups.delete(id);
        dropped++;
      } else if (info) keep.push(id);
    }
    this.deleted = keep;
    return dropped;
  }

  /**
   * The cgroup with this id. One not recorded yet (an event that raced its cgroup_mkdir) is searched
   * for in the hierarchy and recorded; undefined when no directory has that inode.
   */
  getCgroupInfo(cgroupId: bigint): CgroupInfo | undefined {
    const known = this.cgroups.get(cgroupId);
    if (known) return known;
    const found = this.locate(cgroupId, "");
    return found ? this.cgroupUpdate(cgroupId, found.path, found.ctimeMs) : undefined;
  }

  /**
   * tracee's FindContainerCgroupID32LSB: the lower 32 bits of the ids of every cgroup whose
   * container id starts with `containerIdPrefix` (as a user types a short id). Empty when none
   * matches; more than one means the prefix is ambiguous or the container has nested cgroups.
   */
  findContainerCgroupID32LSB(containerIdPrefix: string): number[] {
    if (!containerIdPrefix) return [];
    const ids: number[] = [];
    for (const [id, info] of this.cgroups) {
      if (info.containerId.startsWith(containerIdPrefix)) ids.push(Number(id & 0xffff_ffffn));
    }
    return ids;
  }

  /** Live containers: one entry each, its own (root) cgroup. */
  containers(): CgroupInfo[] {
    return [...this.cgroups.values()].filter((c) => c.containerRoot && !c.dead);
  }

  /**
   * tracee's PopulateBpfMap: put every live container cgroup (nested ones included, their
   * processes are the container's too) into a BPF hash map, key u64 cgroup id, value u32 1, both
   * little-endian. `filter` narrows the set. Returns how many were written.
   */
  populateBpfMap(map: CgroupFilterMap, filter?: (info: CgroupInfo) => boolean): number {
    const key = new Uint8Array(8);
    const keyView = new DataView(key.buffer);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, 1, true);
    let written = 0;
    for (const info of this.cgroups.values()) {
      if (!info.containerId || info.dead || (filter && !filter(info))) continue;
      keyView.setBigUint64(0, info.cgroupId, true);
      map.update(key, value);
      written++;
    }
    return written;
  }

  /**
   * Bundle and annotations of a cgroup's container, found through the runtimes' state and
   * bundle directories; cached on the entry. Undefined for a cgroup that is no container's,
   * or a container whose bundle is not found.
   */
  enrich(cgroupId: bigint): CgroupInfo | undefined {
    const info = this.getCgroupInfo(cgroupId);
    if (!info?.containerId) return undefined;
    if (info.metadata) return info;
    const bundle = findBundle(info.containerId, this.bundleSearch);
    if (!bundle) return undefined;
    info.bundle = bundle;
    info.metadata = readBundleMetadata(bundle);
    return info;
  }

  private absolute(path: string): string {
    return path === "/" || path === "" ? this.mountpoint : join(this.mountpoint, path);
  }

  private relative(path: string): string {
    const prefix = this.mountpoint === "/" ? "" : this.mountpoint;
    if (prefix && (path === prefix || path.startsWith(prefix + "/"))) path = path.slice(prefix.length);
    return path.startsWith("/") ? path : "/" + path;
  }

  /**
   * The directory of a cgroup id: where `hint` (an event's exact path) says, or without a hint a
   * walk of the whole hierarchy for that inode (tracee's GetCgroupPath).
   */
  private locate(cgroupId: bigint, hint: string): { path: string; ctimeMs: number } | undefined {
    const probe = (dir: string) => {
      try {
        const st = statBig(dir);
        return st.isDirectory() && st.ino === cgroupId ? { path: dir, ctimeMs: Number(st.ctimeNs) / 1e6 } : undefined;
      } catch {
        return undefined;
      }
    };
    if (hint) return probe(this.absolute(this.relative(hint)));
    const walk = (dir: string): { path: string; ctimeMs: number } | undefined => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return undefined;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const child = join(dir, e.name);
        const hit = probe(child) ?? walk(child);
        if (hit) return hit;
      }
      return undefined;
    };
    return probe(this.mountpoint) ?? walk(this.mountpoint);
  }
}
