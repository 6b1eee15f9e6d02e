// Linux x86-64/arm64 errno numbers (asm-generic) and their symbolic names, declared once, by name.
// By name because that is how code uses them (Errno.EAGAIN); the table by number is built the
// first time an error is named, not at load: a hook or the shim loads this module on every run,
// and building it eagerly cost a quarter of a millisecond of interpreted Object.entries.
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8,
  EBADF: 9, ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15,
  EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22,
  ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29,
  EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36,
  ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENOMSG: 42, ENODATA: 61,
  ETIME: 62, EOVERFLOW: 75, EOPNOTSUPP: 95, ENOBUFS: 105, ETIMEDOUT: 110,
  EALREADY: 114, EINPROGRESS: 115, EDQUOT: 122, ECANCELED: 125, ENOTSUPP: 524,
} as const satisfies Record<`E${string}`, number>;

/** An errno by its name: the only way code outside this file should write one. */
export type ErrnoName = keyof typeof Errno;

let names: Map<number, ErrnoName> | undefined;
/** The names by number (the inverse of Errno), built on first use. */
export function errnoNames(): ReadonlyMap<number, ErrnoName> {
  return (names ??= new Map(Object.entries(Errno).map(([name, n]) => [n, name as ErrnoName])));
}

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
  return errnoNames().get(n) ?? `E${n}`;
}

export function errnoDescription(n: number): string {
  return DESCRIPTIONS[errnoName(n)] ?? `errno ${n}`;
}
