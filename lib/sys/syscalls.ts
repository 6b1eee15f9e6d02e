// Syscall numbers for the calls libc has no wrapper for (or whose wrapper we cannot declare once),
// per architecture. x86-64 has its own table (arch/x86/entry/syscalls/syscall_64.tbl); arm64 uses
// the generic one (include/uapi/asm-generic/unistd.h). test/unit/sys.test.ts checks both against
// the kernel headers installed on the machine (linux-libc-dev).
export interface SyscallTable {
  bpf: number;
  perf_event_open: number;
  pidfd_open: number;
  gettid: number;
  flock: number;
  execveat: number;
  statx: number;
  readlinkat: number;
}

export const SYSCALLS: Record<"x64" | "arm64", SyscallTable> = {
  x64: { bpf: 321, perf_event_open: 298, pidfd_open: 434, gettid: 186, flock: 73, execveat: 322, statx: 332, readlinkat: 267 },
  arm64: { bpf: 280, perf_event_open: 241, pidfd_open: 434, gettid: 178, flock: 32, execveat: 281, statx: 291, readlinkat: 78 },
};

/** The table for `arch` (process.arch); other architectures are refused rather than guessed. */
export function syscallTable(arch: string): SyscallTable {
  if (arch === "x64" || arch === "arm64") return SYSCALLS[arch];
  throw new Error(`hookshim supports x86-64 and arm64, not ${arch}: no syscall table`);
}
