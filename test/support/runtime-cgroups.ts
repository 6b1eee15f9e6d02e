// podman (cgroupfs manager), containerd and dockerd make parent cgroups of their own in every
// hierarchy — /libpod_parent (and /libpod_parent/conmon), /default, /docker — and leave them behind. A test that runs
// those runtimes snapshots what existed before and removes what the runtimes added once they are
// done (rmdir only removes empty groups, so a container still running elsewhere is never touched).
import { existsSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { mountsOfType } from "../../lib/sys/index.ts";

const RUNTIME_PARENTS = ["libpod_parent", "default", "docker"];

function hierarchies(): string[] {
  return [...mountsOfType("cgroup2"), ...mountsOfType("cgroup")];
}

/** true when the directory is gone */
function removeTree(dir: string): boolean {
  try {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) removeTree(p);
    }
    rmdirSync(dir);
    return true;
  } catch {
    return !existsSync(dir); // busy: something still runs there
  }
}

/**
 * Call before starting runtimes; await the returned function when the test file is done. podman's
 * exit command (`podman container cleanup`) runs after the container is gone and may still be
 * inside libpod_parent, so removal is retried for a few seconds.
 */
export function rememberRuntimeCgroups(): () => Promise<void> {
  const before = new Set(hierarchies().flatMap((h) => RUNTIME_PARENTS.map((p) => join(h, p))).filter(existsSync));
  return async () => {
    const added = () =>
      hierarchies()
        .flatMap((h) => RUNTIME_PARENTS.map((p) => join(h, p)))
        .filter((d) => !before.has(d) && existsSync(d));
    for (let i = 0; i < 50; i++) {
      if (added().filter((d) => !removeTree(d)).length === 0) return;
      await Bun.sleep(100);
    }
  };
}

/**
 * Removes a test's parent group (e.g. "/hookshim-test-hooks-123") from the v2 hierarchy and from every
 * v1 hierarchy: on hybrid hosts runc creates a container's cgroupsPath in all of them and removes
 * only the container's own group on delete, never the parent.
 */
export function removeGroupEverywhere(group: string): void {
  for (const h of hierarchies()) {
    const dir = join(h, group);
    if (existsSync(dir)) removeTree(dir);
  }
}
