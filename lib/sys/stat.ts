// stat, lstat, fstat and readlink as raw syscalls (statx, readlinkat), for the runtime shim's
// pass-through path and the hooks: node:fs costs a Bun process a millisecond or two and 2.5 MiB to
// load, and `runc state`, `kill`, `delete` through the shim need nothing of it but these checks of
// the runtime it execs.
import { libc, errno, syscall6, SYS } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { addressOf, cStringBytes, utf8 } from "./struct.ts";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** What the shim checks of a file: its identity (dev, ino), owner and mode, as node's Stats names them. */
export interface FileStat {
  /** the device number as glibc's makedev encodes st_dev */
  dev: number;
  /** 64 bits: a cgroup directory's inode is its cgroup id */
  ino: bigint;
  uid: number;
  gid: number;
  /** type and permission bits (st_mode) */
  mode: number;
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** glibc's makedev: what stat(2)'s st_dev holds, so values compare with node's Stats.dev. */
function makedev(major: number, minor: number): number {
  return Number(
    ((BigInt(major) & 0xfffff000n) << 32n) | ((BigInt(major) & 0xfffn) << 8n) | ((BigInt(minor) & 0xffffff00n) << 12n) | (BigInt(minor) & 0xffn),
  );
}

// struct statx (include/uapi/linux/stat.h): 256 bytes. The errno on failure, so that a search
// (the shim's lower runtime, on every pass-through command) builds no error for each miss.
function statxOrErrno(dirfd: number, path: string, flags: number): FileStat | number {
  const name = cStringBytes(path);
  const buf = new Uint8Array(256);
  const r = syscall6(SYS.statx, dirfd, addressOf(name), flags, STATX_BASIC_STATS, addressOf(buf), 0);
  if (r < 0) return errno();
  void name.length; // referenced until the call has returned
  const v = new DataView(buf.buffer);
  const mode = v.getUint16(28, true);
  return {
    dev: makedev(v.getUint32(136, true), v.getUint32(140, true)),
    ino: v.getBigUint64(32, true),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode,
    size: Number(v.getBigUint64(40, true)),
    isFile: () => (mode & S_IFMT) === S_IFREG,
    isDirectory: () => (mode & S_IFMT) === S_IFDIR,
    isSymbolicLink: () => (mode & S_IFMT) === S_IFLNK,
  };
}

function statx(dirfd: number, path: string, flags: number, what: string): FileStat {
  const r = statxOrErrno(dirfd, path, flags);
  if (typeof r === "number") throw new SyscallError("statx", r, what);
  return r;
}

/** stat(2) of `path`, following symlinks; undefined when it fails (a path that may not exist). */
export function tryStat(path: string): FileStat | undefined {
  const r = statxOrErrno(AT_FDCWD, path, 0);
  return typeof r === "number" ? undefined : r;
}

/** lstat(2) of `path`: a symlink itself; undefined when it fails. */
export function tryLstat(path: string): FileStat | undefined {
  const r = statxOrErrno(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
  return typeof r === "number" ? undefined : r;
}

/** stat(2) of `path`, following symlinks. */
export function stat(path: string): FileStat {
  return statx(AT_FDCWD, path, 0, path);
}

/** lstat(2) of `path`: a symlink itself, not its target. */
export function lstat(path: string): FileStat {
  return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, path);
}

/** fstat(2): the file behind `fd` (an O_PATH fd too). */
export function fstat(fd: number): FileStat {
  return statx(fd, "", AT_EMPTY_PATH, `fd ${fd}`);
}

/** Whether `path` names something (symlinks followed), as node's existsSync. */
export function exists(path: string): boolean {
  return tryStat(path) !== undefined;
}

export const X_OK = 1;
/** access(2) with `mode` (X_OK): fails with the errno as a SyscallError, as node's accessSync does with its code. */
export function access(path: string, mode: number): void {
  if (libc.access(cStringBytes(path), mode) < 0) throw new SyscallError("access", errno(), path);
}

/** readlink(2): the target of the symlink at `path` (/proc/self/fd/N: the path the fd was opened on). */
export function readlink(path: string): string {
  const name = cStringBytes(path);
  const out = new Uint8Array(4096);
  const n = syscall6(SYS.readlinkat, AT_FDCWD, addressOf(name), addressOf(out), out.byteLength, 0, 0);
  if (n < 0) throw new SyscallError("readlink", errno(), path);
  void name.length;
  return utf8(out.subarray(0, n));
}
