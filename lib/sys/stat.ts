// stat, fstat and readlink as raw syscalls (statx, readlinkat), for the runtime shim's pass-through
// path: node:fs costs a Bun process more than a millisecond to load, and `runc state`, `kill`,
// `delete` through the shim need nothing of it but these checks of the runtime it execs.
import { errno, syscall6, SYS } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { addressOf } from "./struct.ts";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** What the shim checks of a file: its identity (dev, ino), owner and mode, as node's Stats names them. */
export interface FileStat {
  /** the device number as glibc's makedev encodes st_dev */
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  /** type and permission bits (st_mode) */
  mode: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** glibc's makedev: what stat(2)'s st_dev holds, so values compare with node's Stats.dev. */
function makedev(major: number, minor: number): number {
  return Number(
    ((BigInt(major) & 0xfffff000n) << 32n) | ((BigInt(major) & 0xfffn) << 8n) | ((BigInt(minor) & 0xffffff00n) << 12n) | (BigInt(minor) & 0xffn),
  );
}

// struct statx (include/uapi/linux/stat.h): 256 bytes
function statx(dirfd: number, path: string, flags: number, what: string): FileStat {
  const name = Buffer.from(path + "\0");
  const buf = new Uint8Array(256);
  const r = Number(syscall6(SYS.statx, dirfd, addressOf(name), flags, STATX_BASIC_STATS, addressOf(buf), 0));
  if (r < 0) throw new SyscallError("statx", errno(), what);
  void name.length; // referenced until the call has returned
  const v = new DataView(buf.buffer);
  const mode = v.getUint16(28, true);
  return {
    dev: makedev(v.getUint32(136, true), v.getUint32(140, true)),
    ino: Number(v.getBigUint64(32, true)),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode,
    isFile: () => (mode & S_IFMT) === S_IFREG,
    isDirectory: () => (mode & S_IFMT) === S_IFDIR,
  };
}

/** stat(2) of `path`, following symlinks. */
export function stat(path: string): FileStat {
  return statx(AT_FDCWD, path, 0, path);
}

/** fstat(2): the file behind `fd` (an O_PATH fd too). */
export function fstat(fd: number): FileStat {
  return statx(fd, "", AT_EMPTY_PATH, `fd ${fd}`);
}

/** Whether `path` names something (symlinks followed), as node's existsSync. */
export function exists(path: string): boolean {
  try {
    stat(path);
    return true;
  } catch {
    return false;
  }
}

/** readlink(2): the target of the symlink at `path` (/proc/self/fd/N: the path the fd was opened on). */
export function readlink(path: string): string {
  const name = Buffer.from(path + "\0");
  const out = new Uint8Array(4096);
  const n = Number(syscall6(SYS.readlinkat, AT_FDCWD, addressOf(name), addressOf(out), out.byteLength, 0, 0));
  if (n < 0) throw new SyscallError("readlink", errno(), path);
  void name.length;
  return Buffer.from(out.subarray(0, n)).toString("utf8");
}
