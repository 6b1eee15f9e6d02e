// The one place that opens libc through bun:ffi. Every symbol has exactly one fixed-argument shape;
// the variadic `syscall` gets one CFunction per shape (same address, different declarations) because
// an FFI call must know its argument types up front.
import { dlopen, CFunction, read, type FFIFunction } from "bun:ffi";

const symbols = {
  __errno_location: { args: [], returns: "ptr" },
  // syscall(nr, a1, a2:ptr, a3) — the bpf(2) shape: bpf(cmd, attr, size)
  syscall: { args: ["i64", "i64", "ptr", "u32"], returns: "i32" },
  open: { args: ["cstring", "i32", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i64" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  ioctl: { args: ["i32", "u64", "u64"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  mount: { args: ["cstring", "cstring", "cstring", "u64", "cstring"], returns: "i32" },
  umount2: { args: ["cstring", "i32"], returns: "i32" },
  statfs: { args: ["cstring", "ptr"], returns: "i32" },
  inotify_init1: { args: ["i32"], returns: "i32" },
  inotify_add_watch: { args: ["i32", "cstring", "u32"], returns: "i32" },
  inotify_rm_watch: { args: ["i32", "i32"], returns: "i32" },
  fanotify_init: { args: ["u32", "u32"], returns: "i32" },
  fanotify_mark: { args: ["i32", "u32", "u64", "i32", "cstring"], returns: "i32" },
  pidfd_open: { args: ["i32", "u32"], returns: "i32" },
  pidfd_send_signal: { args: ["i32", "i32", "ptr", "u32"], returns: "i32" },
  prlimit: { args: ["i32", "i32", "ptr", "ptr"], returns: "i32" },
  clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
  getpid: { args: [], returns: "i32" },
  gettid: { args: [], returns: "i32" },
  kill: { args: ["i32", "i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  unshare: { args: ["i32"], returns: "i32" },
  mknod: { args: ["cstring", "u32", "u64"], returns: "i32" },
  execve: { args: ["cstring", "ptr", "ptr"], returns: "i32" },
  signal: { args: ["i32", "ptr"], returns: "ptr" },
} as const satisfies Record<string, FFIFunction>;

const lib = dlopen("libc.so.6", symbols);
export const libc = lib.symbols;

const errnoLocation = lib.symbols.__errno_location;
/** errno of the calling thread. Read it immediately after the failing call, before any other FFI call. */
export function errno(): number {
  return read.i32(errnoLocation()!, 0);
}

const syscallPtr = (lib.symbols.syscall as unknown as { ptr: number }).ptr;

/** syscall(nr, i64, i64, i64, i64, i64, i64) -> i64: perf_event_open and other shapes without a wrapper. */
export const syscall6 = CFunction({
  ptr: syscallPtr as never,
  args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
  returns: "i64",
});

export const SYS = {
  bpf: 321,
  perf_event_open: 298,
  pidfd_open: 434,
  gettid: 186,
  execveat: 322,
} as const;
