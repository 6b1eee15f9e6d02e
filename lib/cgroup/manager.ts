// One cgroup v2 group: creation with resources, processes, freezer, kill, stats, events, removal.
// Modelled on containerd/cgroups cgroup2.Manager.
import { mkdir, readdir, rmdir } from "../sys/file.ts";
import { stat } from "../sys/stat.ts";
import * as posix from "../posix-path.ts";
import { isErrno, kill as sendSignal } from "../sys/index.ts";
import { CgroupError, cgroupDeleted, fsCode, isCgroupError, notSupported } from "./errors.ts";
import { watchEvents, type CgroupEvent, type WatchOptions } from "./events.ts";
import { readCgroupFile, readList, writeCgroupFile } from "./files.ts";
import { cgroupMount } from "./mount.ts";
import { verifyGroupPath } from "./paths.ts";
import { requiredControllers, resourceSettings } from "./resources.ts";
import { parseFlatKeyed, readStats, type CgroupStats } from "./stats.ts";
import type { Resources, Setting } from "./types.ts";
import { waitUntil } from "./util.ts";

export interface ManagerOptions {
  /** The cgroup2 mountpoint; default: discovered from /proc/self/mountinfo. Tests pass a scratch dir. */
  root?: string;
}
export interface UpdateOptions {
  /** Apply only the settings whose controller the hierarchy has, and report the rest as skipped. */
  skipUnsupported?: boolean;
}
export interface UpdateResult {
  /** Controllers whose settings were not applied because this hierarchy does not offer them. */
  skipped: string[];
}
export type GroupType = "domain" | "threaded" | "domain threaded" | "domain invalid";

const SIGKILL = 9;

export class CgroupManager {
  /** The cgroup2 mountpoint this group lives under. */
  readonly root: string;
  /** The group path relative to the mount, e.g. "/hookshim/abc" (as in /proc/PID/cgroup). */
  readonly group: string;
  /** The absolute directory of the group. */
  readonly path: string;

  private constructor(root: string, group: string) {
    this.root = root;
    this.group = group;
    this.path = group === "/" ? root : root + group;
  }

  private static resolve(group: string, options: ManagerOptions): CgroupManager {
    const root = options.root ?? cgroupMount().mountpoint;
    verifyGroupPath(group, [...new Set([root, "/sys/fs/cgroup"])]);
    return new CgroupManager(root, group);
  }

  /**
   * Create the group (and missing ancestors), enabling in every ancestor's cgroup.subtree_control the
   * controllers the resources need, then apply them. Unavailable controllers are an error here; to
   * apply what the hierarchy offers, create without resources and `update(res, {skipUnsupported})`.
   */
  static create(group: string, resources: Resources = {}, options: ManagerOptions = {}): CgroupManager {
    const mgr = CgroupManager.resolve(group, options);
    const settings = resourceSettings(resources); // validates before anything is created
    mgr.prepareControllers(requiredControllers(settings), false);
    mkdir(mgr.path, 0o777, true);
    mgr.apply(settings);
    return mgr;
  }

  /** An existing group; "cgroup deleted" if its directory is missing. */
  static load(group: string, options: ManagerOptions = {}): CgroupManager {
    const mgr = CgroupManager.resolve(group, options);
    try {
      if (!stat(mgr.path).isDirectory()) throw new CgroupError("invalid-group-path", `invalid group path: ${mgr.path} is not a directory`);
    } catch (e) {
      if (fsCode(e) === "ENOENT") throw cgroupDeleted(mgr.path);
      throw e;
    }
    return mgr;
  }

  newChild(name: string, resources: Resources = {}): CgroupManager {
    return CgroupManager.create(posix.join(this.group, name), resources, { root: this.root });
  }

  /** The cgroup id: the directory's inode, the value bpf_get_current_cgroup_id() reports. */
  id(): bigint {
    try {
      return stat(this.path).ino;
    } catch (e) {
      if (fsCode(e) === "ENOENT") throw cgroupDeleted(this.path);
      throw e;
    }
  }

  update(resources: Resources, options: UpdateOptions = {}): UpdateResult {
    const settings = resourceSettings(resources);
    const skipped = this.prepareControllers(requiredControllers(settings), options.skipUnsupported ?? false);
    this.apply(skipped.length ? settings.filter((s) => !skipped.includes(s.controller)) : settings);
    return { skipped };
  }

  private apply(settings: Setting[]): void {
    for (const s of settings) writeCgroupFile(this.path, s.file, s.value);
  }

  /**
   * Make `needed` available to this group; returns those the hierarchy lacks (or throws for them
   * unless skipping).
   */
  private prepareControllers(needed: string[], skipUnsupported: boolean): string[] {
    if (!needed.length || this.parentDelegates(needed)) return [];
    const available = this.rootControllers();
    const skipped = needed.filter((c) => !available.includes(c));
    if (skipped.length && !skipUnsupported) throw notSupported(skipped.join(", "));
    const wanted = needed.filter((c) => available.includes(c));
    if (wanted.length) this.enableInAncestors(wanted);
    return skipped;
  }

  // A parent can only delegate what its own parent delegated, so the parent alone tells whether
  // the walk over every ancestor can be skipped (the common case: one read instead of depth reads).
  private parentDelegates(needed: string[]): boolean {
    if (this.group === "/") return true;
    try {
      const delegated = readList(posix.dirname(this.path), "cgroup.subtree_control");
      return needed.every((c) => delegated.includes(c));
    } catch (e) {
      if (isCgroupError(e, "deleted")) return false; // parent not created yet
      throw e;
    }
  }

  private enableInAncestors(controllers: string[]): void {
    const parts = this.group.split("/").filter(Boolean);
    let dir = this.root;
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) mkdir(dir, 0o777, true);
      const delegated = readList(dir, "cgroup.subtree_control");
      const add = controllers.filter((c) => !delegated.includes(c));
      if (add.length) writeCgroupFile(dir, "cgroup.subtree_control", add.map((c) => `+${c}`).join(" "));
      dir += "/" + parts[i];
    }
  }

  /** Controllers available to this group (its cgroup.controllers). */
  controllers(): string[] {
    return readList(this.path, "cgroup.controllers");
  }

  /** Controllers the hierarchy offers at all (the mount root's cgroup.controllers). */
  rootControllers(): string[] {
    return readList(this.root, "cgroup.controllers");
  }

  /** Controllers this group delegates to its children (cgroup.subtree_control). */
  subtreeControllers(): string[] {
    return readList(this.path, "cgroup.subtree_control");
  }

  toggleControllers(controllers: string[], mode: "enable" | "disable"): void {
    if (!controllers.length) return;
    const sign = mode === "enable" ? "+" : "-";
    writeCgroupFile(this.path, "cgroup.subtree_control", controllers.map((c) => sign + c).join(" "));
  }

  getType(): GroupType {
    return readCgroupFile(this.path, "cgroup.type").trim() as GroupType;
  }

  /** Only "threaded" can be written; the kernel derives the domain types. */
  setType(type: "threaded"): void {
    writeCgroupFile(this.path, "cgroup.type", type);
  }

  addProc(pid: number): void {
    writeCgroupFile(this.path, "cgroup.procs", String(pid));
  }

  addThread(tid: number): void {
    writeCgroupFile(this.path, "cgroup.threads", String(tid));
  }

  /** Process ids in the group, and with `recursive` in every descendant. */
  procs(recursive = false): number[] {
    return this.collect("cgroup.procs", recursive);
  }

  threads(recursive = false): number[] {
    return this.collect("cgroup.threads", recursive);
  }

  private collect(file: string, recursive: boolean): number[] {
    const ids: number[] = [];
    const walk = (dir: string) => {
      for (const w of readCgroupFile(dir, file).split("\n")) if (w) ids.push(Number(w));
      if (!recursive) return;
      for (const d of readdir(dir)) if (d.isDirectory()) walk(`${dir}/${d.name}`);
    };
    walk(this.path);
    return ids;
  }

  /** cgroup.events "populated": true while this group or a descendant has a task. */
  populated(): boolean {
    return parseFlatKeyed(readCgroupFile(this.path, "cgroup.events")).populated === 1;
  }

  private frozen(): boolean {
    return parseFlatKeyed(readCgroupFile(this.path, "cgroup.events")).frozen === 1;
  }

  /** Freeze the group and wait until the kernel reports every task stopped. */
  async freeze(timeoutMs = 10_000): Promise<void> {
    writeCgroupFile(this.path, "cgroup.freeze", "1");
    await waitUntil(() => this.frozen(), timeoutMs, `${this.path} to freeze`);
  }

  async thaw(timeoutMs = 10_000): Promise<void> {
    writeCgroupFile(this.path, "cgroup.freeze", "0");
    await waitUntil(() => !this.frozen(), timeoutMs, `${this.path} to thaw`);
  }

  /**
   * SIGKILL every task in the group and its descendants and wait until it is empty. Uses
   * cgroup.kill (Linux 5.14+), which also catches tasks forked meanwhile; without it (or with
   * `method: "signal"`), freezes the group so nothing forks, signals each process, then thaws.
   */
  async kill(options: { timeoutMs?: number; method?: "cgroup.kill" | "signal" } = {}): Promise<void> {
    const { timeoutMs = 10_000, method = "cgroup.kill" } = options;
    let viaSignal = method === "signal";
    if (!viaSignal) {
      try {
        writeCgroupFile(this.path, "cgroup.kill", "1");
      } catch (e) {
        if (!isCgroupError(e, "not-supported")) throw e;
        viaSignal = true;
      }
    }
    if (viaSignal) {
      await this.freeze(timeoutMs);
      try {
        for (const pid of this.procs(true)) {
          try {
            sendSignal(pid, SIGKILL);
          } catch (e) {
            if (!isErrno(e, "ESRCH")) throw e;
          }
        }
      } finally {
        await this.thaw(timeoutMs);
      }
    }
    await waitUntil(() => !this.populated(), timeoutMs, `${this.path} to become empty after kill`);
  }

  /** Move every process to `dest`, repeating while processes fork during the move. */
  moveTo(dest: CgroupManager): void {
    for (let round = 0; round < 100; round++) {
      const pids = this.procs();
      if (!pids.length) return;
      for (const pid of pids) {
        try {
          dest.addProc(pid);
        } catch (e) {
          if (fsCode((e as Error).cause) !== "ESRCH") throw e; // exited meanwhile
        }
      }
    }
    throw new CgroupError("busy", `${this.path} still has processes after 100 rounds of moving them to ${dest.path}`);
  }

  stat(): CgroupStats {
    return readStats(this.path);
  }

  /** `for await (const ev of mgr.events())`: memory events, then "empty" or "deleted", then the end. */
  events(options: WatchOptions = {}): AsyncGenerator<CgroupEvent, void, undefined> {
    return watchEvents(this.path, options);
  }

  /**
   * Remove the group and its descendant groups. Refuses (kind "populated") while tasks remain;
   * retries EBUSY with backoff, which the kernel returns for a short while after the last task exits.
   * A group already gone is not an error.
   */
  async delete(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 100)) {
      try {
        rmdir(this.path);
        return;
      } catch (e) {
        const code = fsCode(e);
        if (code === "ENOENT") return;
        if (code !== "EBUSY" && code !== "ENOTEMPTY")
          throw new CgroupError("io", `removing ${this.path}: ${(e as Error).message}`, { cause: e });
      }
      const tasks = this.remainingTasks();
      if (tasks.length)
        throw new CgroupError(
          "populated",
          `cannot delete ${this.path}: ${tasks.length} task(s) remain (${tasks.slice(0, 8).join(" ")}${tasks.length > 8 ? " …" : ""}); kill or move them first`,
        );
      const children = readdir(this.path).filter((d) => d.isDirectory());
      for (const d of children) await new CgroupManager(this.root, posix.join(this.group, d.name)).delete(Math.max(0, deadline - Date.now()));
      if (children.length) continue;
      if (Date.now() >= deadline)
        throw new CgroupError("busy", `removing ${this.path}: still busy (EBUSY) after ${timeoutMs} ms though it has no tasks`);
      await Bun.sleep(delay);
    }
  }

  private remainingTasks(): number[] {
    try {
      if (!this.populated()) return [];
      // Threaded subtrees do not list processes below their root; threads are listed everywhere.
      return this.getType() === "threaded" ? this.threads(true) : this.procs(true);
    } catch (e) {
      if (isCgroupError(e, "deleted")) return [];
      throw e;
    }
  }
}
