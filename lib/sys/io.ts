// File-descriptor syscalls that node:fs does not cover (or covers only with blocking semantics).
import { ptr } from "bun:ffi";
import { libc, errno, syscall6, SYS } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { Errno } from "./errno.ts";
import { cStringBytes } from "./struct.ts";

export const O = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000, APPEND: 0o2000,
  NONBLOCK: 0o4000, DIRECTORY: 0o200000, NOFOLLOW: 0o400000, CLOEXEC: 0o2000000, PATH: 0o10000000,
  LARGEFILE: 0o100000,
} as const;

export function open(path: string, flags: number, mode = 0): number {
  const fd = libc.open(cStringBytes(path), flags | O.CLOEXEC, mode);
  if (fd < 0) throw new SyscallError("open", errno(), path);
  return fd;
}

/** Like open() but returns -errno instead of throwing (hot paths such as device-access probes). */
export function tryOpen(path: string, flags: number, mode = 0): number {
  const fd = libc.open(cStringBytes(path), flags | O.CLOEXEC, mode);
  return fd < 0 ? -errno() : fd;
}

export function close(fd: number): void {
  if (fd < 0) return;
  libc.close(fd);
}

/** read(2) into buf; returns bytes read, or -EAGAIN for an empty non-blocking fd. */
export function read(fd: number, buf: Uint8Array, name = "read"): number {
  const n = Number(libc.read(fd, ptr(buf), BigInt(buf.byteLength)));
  if (n < 0) {
    const e = errno();
    if (e === Errno.EAGAIN) return -Errno.EAGAIN;
    throw new SyscallError(name, e, `fd ${fd}`);
  }
  return n;
}

export function write(fd: number, buf: Uint8Array, name = "write"): number {
  const n = Number(libc.write(fd, ptr(buf), BigInt(buf.byteLength)));
  if (n < 0) throw new SyscallError(name, errno(), `fd ${fd}`);
  return n;
}

/** write(2) until all of `buf` is written. */
export function writeAll(fd: number, buf: Uint8Array, name = "write"): void {
  for (let off = 0; off < buf.byteLength; ) off += write(fd, buf.subarray(off), name);
}

export const POLLIN = 0x1;
/** poll a set of fds for POLLIN; returns the fds that are readable. */
export function pollIn(fds: number[], timeoutMs: number): number[] {
  const buf = new Uint8Array(8 * fds.length);
  const dv = new DataView(buf.buffer);
  fds.forEach((fd, i) => {
    dv.setInt32(i * 8, fd, true);
    dv.setInt16(i * 8 + 4, POLLIN, true);
  });
  const n = libc.poll(ptr(buf), BigInt(fds.length), timeoutMs);
  if (n < 0) {
    const e = errno();
    if (e === Errno.EINTR) return [];
    throw new SyscallError("poll", e);
  }
  const ready: number[] = [];
  fds.forEach((fd, i) => {
    if (dv.getInt16(i * 8 + 6, true) & POLLIN) ready.push(fd);
  });
  return ready;
}

export const F_GETFL = 3;
export const F_SETFL = 4;
export function setNonBlocking(fd: number, on = true): void {
  const fl = libc.fcntl(fd, F_GETFL, 0n);
  if (fl < 0) throw new SyscallError("fcntl", errno(), `fd ${fd} F_GETFL`);
  const next = on ? fl | O.NONBLOCK : fl & ~O.NONBLOCK;
  if (libc.fcntl(fd, F_SETFL, BigInt(next)) < 0) throw new SyscallError("fcntl", errno(), `fd ${fd} F_SETFL`);
}

const F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;
export function setCloseOnExec(fd: number, on: boolean): void {
  const fl = libc.fcntl(fd, F_GETFD, 0n);
  if (fl < 0) throw new SyscallError("fcntl", errno(), `fd ${fd} F_GETFD`);
  if (libc.fcntl(fd, F_SETFD, BigInt(on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC)) < 0) throw new SyscallError("fcntl", errno(), `fd ${fd} F_SETFD`);
}

export function ioctl(fd: number, request: number | bigint, arg: number | bigint = 0, name = "ioctl"): number {
  const r = libc.ioctl(fd, BigInt(request), BigInt(arg));
  if (r < 0) throw new SyscallError(name, errno(), `fd ${fd}`);
  return r;
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
/** mknod(2); returns 0 or -errno (device tests probe for EPERM). */
export function mknod(path: string, mode: number, dev: bigint): number {
  return libc.mknod(cStringBytes(path), mode, dev) < 0 ? -errno() : 0;
}

export const LOCK = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/** flock(2): an advisory lock released when the fd closes, so a killed holder never leaves it held. */
export function flock(fd: number, op: number): void {
  for (;;) {
    const r = syscall6(SYS.flock, fd, op, 0, 0, 0, 0);
    if (r >= 0) return;
    const e = errno();
    if (e !== Errno.EINTR) throw new SyscallError("flock", e, `fd ${fd}`); // retry on EINTR only
  }
}
