// Which process a pid names: the pid with its start time (/proc/PID/stat field 22, clock ticks since
// boot). Pids are reused; a (pid, start) pair is not, so every liveness judgement in the store uses
// both, never the pid alone. The exit program records task->start_boottime in nanoseconds, which the
// kernel reports in /proc as nsec_to_clock_t(start_boottime): USER_HZ (100 on every Linux ABI
// hookshim targets) ticks.
import { O, open, read, close } from "../sys/io.ts";
import { stat } from "../sys/stat.ts";
import type { ContainerRecord } from "./layout.ts";

export const USER_HZ = 100n;
const NS_PER_TICK = 1_000_000_000n / USER_HZ;

export interface ProcessStat {
  /** clock ticks after boot */
  startTicks: bigint;
  /** one-letter state of the leader thread; "Z" (zombie) and "X" (dead): it has exited, not always its process */
  state: string;
  ppid: number;
  /** threads not yet released, the zombie leader included */
  threads: number;
}

const statBuf = new Uint8Array(1024);

/** /proc/PID/stat's state, ppid and start time; undefined when there is no such process. */
export function processStat(pid: number): ProcessStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let fd: number;
  try {
    fd = open(`/proc/${pid}/stat`, O.RDONLY);
  } catch {
    return undefined;
  }
  let n: number;
  try {
    n = read(fd, statBuf, "read");
  } catch {
    return undefined; // exited between open and read
  } finally {
    close(fd);
  }
  // latin1: one char per byte, whatever bytes the comm holds
  const text = String.fromCharCode.apply(null, statBuf.subarray(0, n) as unknown as number[]);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = f[22 - 3];
  if (!f[0] || !start || !/^\d+$/.test(start)) return undefined;
  return { state: f[0], ppid: Number(f[4 - 3]), startTicks: BigInt(start), threads: Number(f[20 - 3]) };
}

/**
 * The start time of the live (not exited) process `pid`; undefined when none runs under that pid.
 * A zombie leader thread whose other threads still run is live: its process has not exited (a Go
 * program such as runc can end its leader thread first), and the exit program records the exit only
 * when the last thread goes. The leader stays counted in num_threads until the whole group is dead.
 */
export function liveStartTicks(pid: number): bigint | undefined {
  const s = processStat(pid);
  if (!s || s.state === "X" || (s.state === "Z" && !(s.threads > 1))) return undefined;
  return s.startTicks;
}

/** Whether the kernel's start time (exit record, ns since boot) is the process whose /proc start is `ticks`. */
export function sameStart(ticks: bigint, startBoottimeNs: bigint): boolean {
  return startBoottimeNs / NS_PER_TICK === ticks;
}

/** Inode of /proc/PID/ns/<kind>: the namespace identity the exit program compares against. */
export function nsInode(pid: number, kind: "pid" | "mnt"): number {
  return Number(stat(`/proc/${pid}/ns/${kind}`).ino);
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
    const st = cgroupDir ? stat(cgroupDir) : undefined;
    if (st?.isDirectory()) cgroupId = st.ino;
  } catch {
    // removed meanwhile
  }
  return { cgroupId, pidnsIno: ns("pid"), mntnsIno: ns("mnt") };
}
