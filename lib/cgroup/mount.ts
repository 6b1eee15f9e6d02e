// Where cgroup v2 is mounted. Hosts come in three shapes: pure v2 at /sys/fs/cgroup, hybrid (v1
// controllers at /sys/fs/cgroup/<ctrl>, v2 at /sys/fs/cgroup/unified) and v1 only, which we refuse.
import { readText } from "../sys/file.ts";
import { CgroupError } from "./errors.ts";
import { parseMountinfo } from "../sys/index.ts";

export interface CgroupMount {
  /** Absolute directory of the cgroup2 mount, e.g. "/sys/fs/cgroup/unified". */
  mountpoint: string;
  /** "unified": no v1 controller hierarchies mounted; "hybrid": v1 controllers beside v2. */
  mode: "unified" | "hybrid";
  /** Controllers bound to mounted v1 hierarchies (these are unavailable to v2). */
  v1Controllers: string[];
}

// Super options of a v1 mount that are not controller names.
const V1_NON_CONTROLLER = /^(rw|ro|name=.*|none|noprefix|clone_children|xattr|release_agent=.*|cpuset_v2_mode|favordynmods)$/;

/** Find the cgroup2 mount in a mountinfo text (from /proc/self/mountinfo). */
export function discoverMount(mountinfo: string): CgroupMount {
  const mounts = parseMountinfo(mountinfo);
  const v2 = mounts.filter((m) => m.fstype === "cgroup2");
  const v1Controllers = mounts
    .filter((m) => m.fstype === "cgroup")
    .flatMap((m) => m.superOptions.filter((o) => !V1_NON_CONTROLLER.test(o)));
  if (v2.length === 0) {
    throw new CgroupError(
      "no-cgroup2",
      v1Controllers.length
        ? `cgroup v2 is not mounted: this host has only cgroup v1 (${[...new Set(v1Controllers)].join(", ")})`
        : "cgroup v2 is not mounted (no cgroup2 line in /proc/self/mountinfo)",
    );
  }
  // Prefer the conventional places; a later duplicate mount of the same path shadows earlier ones.
  const pick =
    v2.findLast((m) => m.mountpoint === "/sys/fs/cgroup") ??
    v2.findLast((m) => m.mountpoint === "/sys/fs/cgroup/unified") ??
    v2[0]!;
  return {
    mountpoint: pick.mountpoint,
    mode: v1Controllers.length ? "hybrid" : "unified",
    v1Controllers: [...new Set(v1Controllers)],
  };
}

let live: CgroupMount | undefined;

/** The cgroup2 mount of this host, read once from /proc/self/mountinfo. */
export function cgroupMount(): CgroupMount {
  return (live ??= discoverMount(readText("/proc/self/mountinfo")));
}
