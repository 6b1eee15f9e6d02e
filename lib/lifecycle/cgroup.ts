// The container's cgroup v2 group as the hooks see it. Runtimes normally put the init in a group of
// its own (runc: cgroupsPath, podman: /libpod_parent/libpod-<id>); one that leaves it at the v2 root
// gets a group from hookshim under the configured parent, which hookshim then also removes. When
// systemd is PID 1 that group is a transient scope in the configured slice instead (systemdSlice),
// made and removed by systemd. Groups systemd made for the runtime (*.scope) are never removed here.
import * as posix from "../posix-path.ts";
import { CgroupError, CgroupManager, isCgroupError, ociResourcesOf, pidGroupPath, scopeName, toResources } from "../cgroup/index.ts";
import { checkContainerId } from "../oci/id.ts";

export interface ContainerCgroup {
  manager: CgroupManager;
  /** hookshim made the group (and moved the init into it) */
  created: boolean;
  /** where the init was before, when hookshim moved it */
  previousGroup?: string;
  /** the systemd scope hookshim had systemd make for it */
  systemdUnit?: string;
}

/**
 * The group hookshim creates for a container left at the root: one component under the parent. The
 * id is checked here, where it becomes a path (`..` would be the parent's parent), whoever checked
 * it before.
 */
export function hookshimGroupPath(parent: string, id: string): string {
  checkContainerId(id);
  return posix.join(parent, id);
}

/**
 * The init's group, from /proc/PID/cgroup; at the root, a new group `parent/id` with the init moved
 * into it.
 */
export function containerCgroup(pid: number, id: string, parent: string, group = pidGroupPath(pid)): ContainerCgroup {
  // the kernel marks the group of a task (a zombie) whose cgroup was removed
  if (group.endsWith(" (deleted)")) throw new CgroupError("deleted", `cgroup ${group.slice(0, -10)} of pid ${pid} was removed`);
  if (group !== "/") return { manager: CgroupManager.load(group), created: false };
  const manager = CgroupManager.create(hookshimGroupPath(parent, id));
  try {
    manager.addProc(pid);
  } catch (e) {
    void manager.delete(0).catch(() => {});
    throw e;
  }
  return { manager, created: true, previousGroup: group };
}

/**
 * containerCgroup, except that a container left at the root goes into a transient scope
 * `hookshim-<id>.scope` in `systemdSlice` when systemd is PID 1 and a slice is configured. The D-Bus
 * client is loaded only then.
 */
export async function containerCgroupIn(pid: number, id: string, o: { cgroupParent: string; systemdSlice: string | null }): Promise<ContainerCgroup> {
  const group = pidGroupPath(pid);
  if (o.systemdSlice !== null && group === "/") {
    const { SystemdCgroup, systemdBooted } = await import("../cgroup/systemd.ts");
    if (systemdBooted()) {
      const unit = scopeName("hookshim", id);
      const scope = await SystemdCgroup.create(unit, {}, { slice: o.systemdSlice, pids: [pid], description: `hookshim container ${id.slice(0, 64)}` });
      return { manager: scope.manager, created: true, previousGroup: "/", systemdUnit: unit };
    }
  }
  return containerCgroup(pid, id, o.cgroupParent, group);
}

/** A group systemd made (a unit's: NAME.scope, NAME.slice): systemd removes it, hookshim never does. */
export function systemdOwned(group: string): boolean {
  return /\.(scope|slice)$/.test(posix.basename(group));
}

/** Undoes containerCgroup's creation: the init back where it was, the group removed (by systemd for a scope). */
export async function releaseCreatedCgroup(cg: ContainerCgroup): Promise<void> {
  if (!cg.created) return;
  try {
    cg.manager.moveTo(CgroupManager.load(cg.previousGroup ?? "/"));
  } catch (e) {
    if (!isCgroupError(e, "deleted")) throw e;
  }
  if (cg.systemdUnit) return; // an empty transient scope is stopped and removed by systemd itself
  await cg.manager.delete();
}

/**
 * Applies the config's linux.resources that this hierarchy has controllers for; returns the
 * controllers it had to skip. Devices are not here: they are the device filter's.
 */
export function applyResources(cg: ContainerCgroup, resources: unknown): string[] {
  if (!resources) return [];
  return cg.manager.update(toResources(ociResourcesOf(resources)), { skipUnsupported: true }).skipped;
}

/** Waits until no task is left in the group (the runtime kills them; exits take a moment), then removes it with EBUSY retries. */
export async function removeCgroup(manager: CgroupManager, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (!manager.populated()) break;
    } catch (e) {
      if (isCgroupError(e, "deleted")) return;
      throw e;
    }
    if (Date.now() >= deadline) break; // delete names the tasks that remain
    await Bun.sleep(5);
  }
  if (systemdOwned(manager.group)) return; // systemd removes an empty scope on its own
  await manager.delete(Math.max(0, deadline - Date.now()) + 1_000);
}
