// Group paths are cgroup-relative ("/a/b"): the form in /proc/PID/cgroup and in OCI cgroupsPath.
import { readText } from "../sys/file.ts";
import * as posix from "../posix-path.ts";
import { CgroupError, invalidGroupPath } from "./errors.ts";

/**
 * Check a group path: absolute, already clean, no "..", and not carrying a mountpoint prefix (a
 * common mistake: passing "/sys/fs/cgroup/x" where "/x" is meant). Returns it for chaining.
 */
export function verifyGroupPath(group: string, mountpoints: string[] = ["/sys/fs/cgroup"]): string {
  if (!group.startsWith("/")) throw invalidGroupPath(group, "must be absolute");
  if (group.split("/").includes("..")) throw invalidGroupPath(group, 'must not contain ".."');
  if (posix.normalize(group) !== group || (group.length > 1 && group.endsWith("/")))
    throw invalidGroupPath(group, `not clean (${posix.normalize(group).replace(/(.)\/$/, "$1")})`);
  for (const mp of mountpoints)
    if (group === mp || group.startsWith(mp + "/"))
      throw invalidGroupPath(group, `must be relative to the cgroup mount, not start with ${mp}`);
  return group;
}

/** The v2 group path from the text of a /proc/PID/cgroup file (its "0::" line). */
export function parseProcCgroup(text: string): string {
  for (const line of text.split("\n")) if (line.startsWith("0::")) return line.slice(3).trim();
  throw new CgroupError("no-cgroup2", "no cgroup v2 entry (0::) in /proc/PID/cgroup: only cgroup v1 is in use");
}

/** The v2 group path of a process ("self" for this one). */
export function pidGroupPath(pid: number | "self"): string {
  let text: string;
  try {
    text = readText(`/proc/${pid}/cgroup`);
  } catch (e) {
    throw new CgroupError("io", `cannot read /proc/${pid}/cgroup: ${(e as Error).message}`, { cause: e });
  }
  return parseProcCgroup(text);
}

/** A group path below this process's own cgroup (for nested/delegated setups). */
export function nestedGroupPath(suffix: string, procCgroupText?: string): string {
  if (suffix.split("/").includes("..")) throw invalidGroupPath(suffix, 'must not contain ".."');
  const base = procCgroupText === undefined ? pidGroupPath("self") : parseProcCgroup(procCgroupText);
  return posix.join(base, suffix);
}
