import { ptr } from "bun:ffi";
import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";

export const FAN = {
  CLASS_NOTIF: 0x0, CLASS_CONTENT: 0x4, CLASS_PRE_CONTENT: 0x8,
  CLOEXEC: 0x1, NONBLOCK: 0x2, UNLIMITED_QUEUE: 0x10, UNLIMITED_MARKS: 0x20, REPORT_TID: 0x100,
  MARK_ADD: 0x1, MARK_REMOVE: 0x2, MARK_FLUSH: 0x80, MARK_INODE: 0x0, MARK_MOUNT: 0x10, MARK_FILESYSTEM: 0x100,
  OPEN: 0x20, OPEN_EXEC: 0x1000, OPEN_PERM: 0x10000, ACCESS_PERM: 0x20000, OPEN_EXEC_PERM: 0x40000,
  ALLOW: 0x1, DENY: 0x2, NOFD: -1, EVENT_METADATA_LEN: 24,
} as const;
export const AT_FDCWD = -100;
export const O_RDONLY = 0, O_LARGEFILE = 0o100000, O_CLOEXEC = 0o2000000;

export function fanotifyInit(flags: number, eventFlags: number = O_RDONLY | O_LARGEFILE | O_CLOEXEC): number {
  const fd = libc.fanotify_init(flags, eventFlags);
  if (fd < 0) throw new SyscallError("fanotify_init", errno());
  return fd;
}

export function fanotifyMark(fd: number, flags: number, mask: number | bigint, path: string, dirfd = AT_FDCWD): void {
  if (libc.fanotify_mark(fd, flags, BigInt(mask), dirfd, Buffer.from(path + "\0")) < 0)
    throw new SyscallError("fanotify_mark", errno(), path);
}

export interface FanotifyEvent {
  mask: bigint;
  fd: number;
  pid: number;
}

/** Parse struct fanotify_event_metadata records from a read buffer. */
export function parseFanotifyEvents(buf: Uint8Array, n: number): FanotifyEvent[] {
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const out: FanotifyEvent[] = [];
  for (let off = 0; off + FAN.EVENT_METADATA_LEN <= n; ) {
    const len = dv.getUint32(off, true);
    if (len < FAN.EVENT_METADATA_LEN) break;
    out.push({ mask: dv.getBigUint64(off + 8, true), fd: dv.getInt32(off + 16, true), pid: dv.getInt32(off + 20, true) });
    off += len;
  }
  return out;
}

/** Answer a permission event (struct fanotify_response { s32 fd; u32 response; }). */
export function fanotifyRespond(fanFd: number, eventFd: number, response: number = FAN.ALLOW): void {
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  dv.setInt32(0, eventFd, true);
  dv.setUint32(4, response, true);
  if (Number(libc.write(fanFd, ptr(buf), 8n)) < 0) throw new SyscallError("write(fanotify_response)", errno());
}
