// Linux x86-64/arm64 errno numbers (asm-generic) and their symbolic names.
export const ERRNO_NAMES = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
  9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
  16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
  30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG",
  37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 42: "ENOMSG", 61: "ENODATA",
  62: "ETIME", 75: "EOVERFLOW", 95: "EOPNOTSUPP", 105: "ENOBUFS", 110: "ETIMEDOUT",
  114: "EALREADY", 115: "EINPROGRESS", 122: "EDQUOT", 125: "ECANCELED", 524: "ENOTSUPP",
} as const satisfies Record<number, `E${string}`>;

/** An errno by its name: the only way code outside this file should write one. */
export type ErrnoName = (typeof ERRNO_NAMES)[keyof typeof ERRNO_NAMES];

export const Errno = Object.fromEntries(Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)])) as { readonly [K in ErrnoName]: number };

const DESCRIPTIONS: Record<string, string> = {
  EPERM: "operation not permitted", ENOENT: "no such file or directory", ESRCH: "no such process",
  EINTR: "interrupted system call", EBADF: "bad file descriptor", EAGAIN: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory", EACCES: "permission denied", EFAULT: "bad address", EBUSY: "device or resource busy",
  EEXIST: "file exists", ENODEV: "no such device", ENOTDIR: "not a directory", EINVAL: "invalid argument",
  E2BIG: "argument list too long", ENOSPC: "no space left on device", ENOSYS: "function not implemented",
  ENOTEMPTY: "directory not empty", EOPNOTSUPP: "operation not supported", ENOTSUPP: "operation not supported",
  EMFILE: "too many open files", ENOTTY: "inappropriate ioctl for device", ELOOP: "too many levels of symbolic links",
};

export function errnoName(n: number): string {
  return (ERRNO_NAMES as Record<number, string>)[n] ?? `E${n}`;
}

export function errnoDescription(n: number): string {
  return DESCRIPTIONS[errnoName(n)] ?? `errno ${n}`;
}
