// The one place that opens libc through bun:ffi. Every symbol has exactly one fixed-argument shape.
// The variadic `syscall` is declared in the kernel's own shape: the number and six register-width
// arguments (a syscall reads exactly the registers it defines; the rest are zero). One shape serves
// bpf(2), statx, execveat and the rest, so a process binds it in the same dlopen as the other
// symbols: a second declaration (a CFunction on the same address) was a second TinyCC compilation,
// about 0.15 ms of every hook and every runtime shim call.
import { dlopen, read, type FFIFunction } from "bun:ffi";
import { syscallTable, type SyscallTable } from "./syscalls.ts";

const symbols = {
  __errno_location: { args: [], returns: "ptr" },
  // syscall(nr, a1..a6): called through syscall6 below
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
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
  sched_yield: { args: [], returns: "i32" },
  kill: { args: ["i32", "i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  unshare: { args: ["i32"], returns: "i32" },
  mknod: { args: ["cstring", "u32", "u64"], returns: "i32" },
  execve: { args: ["cstring", "ptr", "ptr"], returns: "i32" },
  signal: { args: ["i32", "ptr"], returns: "ptr" },
  mkdir: { args: ["cstring", "u32"], returns: "i32" },
  rmdir: { args: ["cstring"], returns: "i32" },
  unlink: { args: ["cstring"], returns: "i32" },
  rename: { args: ["cstring", "cstring"], returns: "i32" },
  fchmod: { args: ["i32", "u32"], returns: "i32" },
  fchown: { args: ["i32", "u32", "u32"], returns: "i32" },
  fsync: { args: ["i32"], returns: "i32" },
  access: { args: ["cstring", "i32"], returns: "i32" },
} as const satisfies Record<string, FFIFunction>;

type Symbols = typeof symbols;
type Bound = ReturnType<typeof dlopen<Symbols>>["symbols"];

// Each symbol is bound on first use, not all at dlopen: Bun compiles a trampoline per declared
// symbol, and a process that only execs (the runtime shim's pass-through commands) or only reads a
// map should not pay for the thirty it never calls. The libc handle itself is opened once per
// symbol by the dynamic loader's reference count, which is cheap. But every dlopen is one TinyCC
// compilation with a fixed cost of its own, so a path that knows which symbols it will call (a
// hook: bindLibc) binds them in one.
// __errno_location is bound with the first other symbol, so that errno() right after a failed call
// never binds anything (binding could itself change errno).
const bound: Record<string, unknown> = {};
function bind(name: string): unknown {
  const fn = dlopen("libc.so.6", { [name]: symbols[name as keyof Symbols] } as Symbols).symbols[name as keyof Bound];
  bound[name] = fn;
  return fn;
}
/**
 * Binds those of `names` not bound yet in one dlopen (one compilation instead of one each). Only
 * for symbols the caller is about to call on every run: binding is cheap, not free.
 */
export function bindLibc(names: readonly (keyof Symbols)[]): void {
  const missing = names.filter((n) => !bound[n]);
  if (!bound.__errno_location && !missing.includes("__errno_location")) missing.push("__errno_location");
  if (missing.length === 0) return;
  const declared = Object.fromEntries(missing.map((n) => [n, symbols[n]])) as Symbols;
  const fns = dlopen("libc.so.6", declared).symbols as Record<string, unknown>;
  for (const n of missing) bound[n] = fns[n];
}

export const libc: Bound = new Proxy(bound as Bound, {
  get(target, name: string) {
    const have = (target as Record<string, unknown>)[name];
    if (have) return have;
    if (!Object.hasOwn(symbols, name)) return undefined;
    if (!bound.__errno_location) bind("__errno_location");
    return bound[name] ?? bind(name);
  },
});

/** errno of the calling thread. Read it immediately after the failing call, before any other FFI call. */
export function errno(): number {
  return read.i32(libc.__errno_location()!, 0);
}

/**
 * syscall(nr, a1, ..., a6) -> the raw result (-1 with errno set on failure), as a number. Pointers go
 * in as addresses (addressOf): the caller keeps each buffer referenced until this returns. Unused
 * arguments are 0.
 */
export function syscall6(nr: number, a1: number | bigint, a2: number | bigint, a3: number | bigint, a4: number | bigint, a5: number | bigint, a6: number | bigint): number {
  return Number(libc.syscall(nr, a1, a2, a3, a4, a5, a6));
}

/** This machine's syscall numbers (lib/sys/syscalls.ts). */
export const SYS: SyscallTable = syscallTable(process.arch);
