// What the notifier asks /proc about a process it follows: whether it still exists, and its cgroup.
import { existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { cgroupMount, pidGroupPath } from "../cgroup/index.ts";

/** The pid's cgroup2 directory (absolute), "" when it cannot be read. */
export function cgroupOf(pid: number): string {
  try {
    return join(cgroupMount().mountpoint, pidGroupPath(pid));
  } catch {
    return "";
  }
}

export function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** A symlink's target (/proc/TID/cwd), undefined when it cannot be read. */
export function safeReadlink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}
