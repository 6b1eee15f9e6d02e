// Processes, limits and clocks.
import { ptr } from "bun:ffi";
import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";

export function pidfdOpen(pid: number, flags = 0): number {
  const fd = libc.pidfd_open(pid, flags);
  if (fd < 0) throw new SyscallError("pidfd_open", errno(), `pid ${pid}`);
  return fd;
}

export function gettid(): number {
  return libc.gettid();
}

/** Lets another runnable task of this CPU go first (sched_yield(2) cannot fail on Linux). */
export function schedYield(): void {
  libc.sched_yield();
}

export function kill(pid: number, sig: number): void {
  if (libc.kill(pid, sig) < 0) throw new SyscallError("kill", errno(), `pid ${pid} sig ${sig}`);
}

export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_NOFILE = 7;
export const RLIM_INFINITY = 0xffffffffffffffffn;

export function getRlimit(resource: number): { cur: bigint; max: bigint } {
  const buf = new BigUint64Array(2);
  if (libc.prlimit(0, resource, null, ptr(buf)) < 0) throw new SyscallError("prlimit", errno(), `resource ${resource}`);
  return { cur: buf[0]!, max: buf[1]! };
}

export function setRlimit(resource: number, cur: bigint, max: bigint): void {
  const buf = new BigUint64Array([cur, max]);
  if (libc.prlimit(0, resource, ptr(buf), null) < 0) throw new SyscallError("prlimit", errno(), `resource ${resource}`);
}

/** Lift RLIMIT_MEMLOCK to infinity for kernels that still charge BPF memory to it (< 5.11); harmless after. */
export function raiseMemlock(): void {
  try {
    const { cur } = getRlimit(RLIMIT_MEMLOCK);
    if (cur !== RLIM_INFINITY) setRlimit(RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
  } catch {
    // Without CAP_SYS_RESOURCE this fails; memcg accounting (>= 5.11) makes it unnecessary anyway.
  }
}

export const CLOCK = { REALTIME: 0, MONOTONIC: 1, BOOTTIME: 7 } as const;

const monotonicBuf = new Int32Array(4);
/**
 * CLOCK_MONOTONIC in µs as a Number, with no allocation or BigInt (for hot paths; bpf_ktime_get_ns
 * reads the same clock). struct timespec { s64 tv_sec; s64 tv_nsec } on a little-endian 64-bit host.
 */
export function monotonicUs(): number {
  if (libc.clock_gettime(CLOCK.MONOTONIC, ptr(monotonicBuf)) < 0) throw new SyscallError("clock_gettime", errno());
  return (monotonicBuf[0]! >>> 0) * 1e6 + monotonicBuf[1]! * 4294967296e6 + monotonicBuf[2]! / 1e3;
}
export function clockNs(clock: number): bigint {
  const buf = new BigInt64Array(2);
  if (libc.clock_gettime(clock, ptr(buf)) < 0) throw new SyscallError("clock_gettime", errno());
  return buf[0]! * 1_000_000_000n + buf[1]!;
}

/** Wall-clock ns at boot: add a bpf_ktime_get_boot_ns() value to get wall time. */
export function bootTimeWallNs(): bigint {
  return clockNs(CLOCK.REALTIME) - clockNs(CLOCK.BOOTTIME);
}
