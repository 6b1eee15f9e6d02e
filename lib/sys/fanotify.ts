import { ptr } from "bun:ffi";
import { libc, errno } from "./libc.ts";
import { SyscallError } from "./error.ts";
import { Errno } from "./errno.ts";
import { cStringBytes } from "./struct.ts";

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
  if (libc.fanotify_mark(fd, flags, BigInt(mask), dirfd, cStringBytes(path)) < 0)
    throw new SyscallError("fanotify_mark", errno(), path);
}

/**
 * fanotify_mark(2) of the file `fileFd` is open on (pathname NULL): the very inode behind the fd.
 * The kernel takes the fd with fdget(), so an O_PATH fd is refused (EBADF); `what` names it in errors.
 */
export function fanotifyMarkFile(fd: number, flags: number, mask: number | bigint, fileFd: number, what: string): void {
  if (libc.fanotify_mark(fd, flags, BigInt(mask), fileFd, null) < 0)
    throw new SyscallError("fanotify_mark", errno(), what);
}

/**
 * Parses the struct fanotify_event_metadata records of a read (u32 event_len, u8 vers, u8 reserved,
 * u16 metadata_len, u64 mask, s32 fd, s32 pid; each record starts 8-byte aligned and is event_len long)
 * into `fds` and `pids`, up to their length: how many. `words` views the read buffer.
 */
export function parseFanotifyEvents(words: Int32Array, n: number, fds: Int32Array, pids: Int32Array): number {
  let count = 0;
  for (let off = 0; off + FAN.EVENT_METADATA_LEN <= n && count < fds.length; ) {
    const len = words[off >> 2]!;
    if (len < FAN.EVENT_METADATA_LEN) break;
    fds[count] = words[(off >> 2) + 4]!;
    pids[count] = words[(off >> 2) + 5]!;
    count++;
    off += len;
  }
  return count;
}

/** Answer a permission event (struct fanotify_response { s32 fd; u32 response; }). */
export function fanotifyRespond(fanFd: number, eventFd: number, response: number = FAN.ALLOW): void {
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  dv.setInt32(0, eventFd, true);
  dv.setUint32(4, response, true);
  if (Number(libc.write(fanFd, ptr(buf), 8n)) < 0) throw new SyscallError("write(fanotify_response)", errno());
}

/**
 * Reads permission events and answers them with nothing allocated per event: the pollfd, the read
 * buffer and the response are made once. It is the answer path of every runtime exec on the host,
 * where each allocation and conversion is paid while the exec waits. (Their addresses are taken per
 * call: an address kept from an earlier ptr() was seen to go stale in a Worker.)
 */
export class FanotifyPermissionQueue {
  /** event fd and pid (tid with FAN_REPORT_TID) of the events read by the last next(); fd < 0: overflow */
  readonly fds: Int32Array;
  readonly pids: Int32Array;
  private readonly buf: Uint8Array;
  private readonly words: Int32Array;
  private readonly pollfd = new Int32Array(2);
  private readonly response = new Int32Array(2);
  private readonly bufLen: bigint;

  constructor(
    readonly fanFd: number,
    maxEvents: number,
  ) {
    this.fds = new Int32Array(maxEvents);
    this.pids = new Int32Array(maxEvents);
    this.buf = new Uint8Array(maxEvents * FAN.EVENT_METADATA_LEN);
    this.words = new Int32Array(this.buf.buffer);
    this.bufLen = BigInt(this.buf.byteLength);
    this.pollfd[0] = fanFd;
  }

  /**
   * Waits up to timeoutMs for events (the group is FAN_NONBLOCK) and reads them: how many (fds, pids),
   * 0 when none came. Read errors throw.
   */
  next(timeoutMs: number): number {
    this.pollfd[1] = POLLIN_EVENTS; // clears revents
    if (libc.poll(ptr(this.pollfd), 1n, timeoutMs) <= 0) return 0;
    const n = Number(libc.read(this.fanFd, ptr(this.buf), this.bufLen));
    if (n < 0) {
      const e = errno();
      if (e === Errno.EAGAIN || e === Errno.EINTR) return 0;
      throw new SyscallError("read(fanotify)", e, `fd ${this.fanFd}`);
    }
    return parseFanotifyEvents(this.words, n, this.fds, this.pids);
  }

  /** Answers an event read by next(); false when the write failed (the group is closing). */
  respond(eventFd: number, response: number = FAN.ALLOW): boolean {
    this.response[0] = eventFd;
    this.response[1] = response;
    return Number(libc.write(this.fanFd, ptr(this.response), 8n)) === 8;
  }
}
// struct pollfd's second word is short events, short revents: POLLIN in events (little-endian), revents 0
const POLLIN_EVENTS = 0x1;
