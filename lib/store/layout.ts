// Binary record layouts of the pinned maps. Little-endian, fixed size, strings NUL-padded UTF-8.
// Anything longer than its field is rejected (FieldTooLongError), never truncated: a truncated id
// would silently name another container.
//
// LAYOUT_VERSION is stored in the meta map; change it whenever any layout below (or a map's key or
// value size) changes, so older readers refuse the store instead of misreading it.
//
// container record (containers map, key = id[128])        event record (events map, key = u64 seq)
//   0  u64 createdNs   (wall clock; 0 = unknown)             0  u64 timeNs
//   8  u64 startedNs                                         8  u32 pid
//  16  u64 stoppedNs                                        12  i32 exitCode
//  24  u64 traceId     (exit tracking; 0 = none)            16  i32 signal
//  32  u64 pidnsIno                                         20  u32 flags  (1 exitCode set, 2 signal set)
//  40  u64 mntnsIno                                         24  type[16]
//  48  u64 cgroupId                                         40  source[16]
//  56  u32 pid                                              56  id[128]
//  60  i32 exitCode                                        184  name[128]
//  64  i32 signal                                          312  runtime[32]
//  68  u8  state (1 created, 2 running, 3 stopped)         344  bundle[256]
//  69  u8  flags (1 exitCode set, 2 signal set,            600  cgroup[256]
//                 4 core dumped, 8 cgroup created by us,   856  end
//                 16 stopped by reconciliation)
//  72  u64 pidStartTicks (/proc/PID/stat starttime; 0 = unknown)
//  80  name[128]  208 runtime[32]  240 source[16]
// 256  bundle[256]  512 cgroupPath[256]  768 end
//
// The two exit-tracking layouts (tracing_tasks, exited_events) are written by the kernel too; they are
// defined next to the program in bpf/exitsnoop.ts. The store's tracing_tasks value extends the
// program's TASK_INFO with the traced process's start time (TRACING_VALUE): the program reads only the
// first TASK_INFO.size bytes, and userspace needs the start time to tell the traced process from a
// later one with the same pid.
//
// Version history: 1 (first); 2 adds pidStartTicks, the reconciled flag and TRACING_VALUE.startTicks.
// A writer upgrades an older store in place: each version step is declared in lib/store/migrate.ts.
import { EXIT_STATUS, TASK_INFO } from "../../bpf/exitsnoop.ts";
import { EVENT_SOURCES, EVENT_TYPES, type EventSource, type EventType, type LifecycleEvent } from "./event.ts";
import { FieldTooLongError, FieldValueError, StoreVersionError } from "./errors.ts";

export const LAYOUT_VERSION = 2;

/** Refuses a store whose meta map holds another layout version. */
export function checkLayoutVersion(store: string, found: number, detail = "", upgradable = false): void {
  if (found !== LAYOUT_VERSION) throw new StoreVersionError(store, found, LAYOUT_VERSION, detail, upgradable);
}

export const LIMITS = {
  id: 128,
  name: 128,
  runtime: 32,
  source: 16,
  type: 16,
  bundle: 256,
  path: 256,
} as const;

export const CONTAINER_STATES = ["created", "running", "stopped"] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

export interface ContainerRecord {
  id: string;
  name: string;
  /** host pid of the container's init; 0 before it exists */
  pid: number;
  pidnsIno: number;
  mntnsIno: number;
  cgroupId: bigint;
  cgroupPath: string;
  bundle: string;
  runtime: string;
  state: ContainerState;
  /** wall-clock ns; 0n = not (yet) known */
  createdNs: bigint;
  startedNs: bigint;
  stoppedNs: bigint;
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
  /** hookshim made the cgroup, so hookshim removes it */
  cgroupCreated: boolean;
  /** which path recorded it first: hook, notifier or shim */
  source: EventSource;
  /** exit-tracking id (Store.trace); 0n when the init is not traced */
  traceId: bigint;
  /**
   * start time of the process `pid` names (/proc/PID/stat starttime, clock ticks since boot); 0n when
   * unknown. With the pid it identifies the process: pids are reused, (pid, start) pairs are not.
   */
  pidStartTicks: bigint;
  /**
   * stopped by reconciliation: the container was found gone, not seen to stop; exitCode and signal
   * are the kernel's record when one existed, else both null ("unknown")
   */
  reconciled: boolean;
}

export const CONTAINER_RECORD_SIZE = 768;
export const EVENT_RECORD_SIZE = 856;
export const CONTAINER_KEY_SIZE = LIMITS.id;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sequential writer/reader over one record, so each layout is written down once per direction. */
class Cursor {
  readonly view: DataView;
  off = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  putU64(v: bigint) {
    this.view.setBigUint64(this.off, BigInt.asUintN(64, v), true);
    this.off += 8;
  }
  putU32(v: number) {
    this.view.setUint32(this.off, v >>> 0, true);
    this.off += 4;
  }
  putI32(v: number) {
    this.view.setInt32(this.off, v | 0, true);
    this.off += 4;
  }
  putU8(v: number) {
    this.view.setUint8(this.off, v);
    this.off += 1;
  }
  putString(field: string, v: string, size: number) {
    const b = encoder.encode(v);
    if (b.byteLength > size) throw new FieldTooLongError(field, b.byteLength, size);
    if (b.includes(0)) throw new FieldValueError(field, "contains a NUL byte");
    this.bytes.fill(0, this.off, this.off + size);
    this.bytes.set(b, this.off);
    this.off += size;
  }
  getU64(): bigint {
    const v = this.view.getBigUint64(this.off, true);
    this.off += 8;
    return v;
  }
  getU32(): number {
    const v = this.view.getUint32(this.off, true);
    this.off += 4;
    return v;
  }
  getI32(): number {
    const v = this.view.getInt32(this.off, true);
    this.off += 4;
    return v;
  }
  getU8(): number {
    return this.view.getUint8(this.off++);
  }
  getString(size: number): string {
    const field = this.bytes.subarray(this.off, this.off + size);
    this.off += size;
    const end = field.indexOf(0);
    return decoder.decode(end < 0 ? field : field.subarray(0, end));
  }
  skip(n: number) {
    this.off += n;
  }
}

/** A container id as a map key: rejects (never truncates) ids longer than the key. */
export function containerKey(id: string, out = new Uint8Array(CONTAINER_KEY_SIZE)): Uint8Array {
  if (id === "") throw new FieldValueError("container id", "is empty");
  new Cursor(out).putString("container id", id, LIMITS.id);
  return out;
}

export function decodeContainerKey(key: Uint8Array): string {
  return new Cursor(key).getString(LIMITS.id);
}

const FLAG_EXIT_CODE = 1;
const FLAG_SIGNAL = 2;
const FLAG_CORE = 4;
const FLAG_CGROUP_CREATED = 8;
const FLAG_RECONCILED = 16;

function checkPid(field: string, pid: number) {
  if (!Number.isInteger(pid) || pid < 0 || pid > 0x3fffffff) throw new FieldValueError(field, `${pid} is not a pid`);
}

export function encodeContainer(r: ContainerRecord, out = new Uint8Array(CONTAINER_RECORD_SIZE)): Uint8Array {
  const c = new Cursor(out);
  checkPid("container pid", r.pid);
  const state = CONTAINER_STATES.indexOf(r.state);
  if (state < 0) throw new FieldValueError("container state", `unknown state "${r.state}"`);
  c.putU64(r.createdNs);
  c.putU64(r.startedNs);
  c.putU64(r.stoppedNs);
  c.putU64(r.traceId);
  c.putU64(BigInt(r.pidnsIno));
  c.putU64(BigInt(r.mntnsIno));
  c.putU64(r.cgroupId);
  c.putU32(r.pid);
  c.putI32(r.exitCode ?? 0);
  c.putI32(r.signal ?? 0);
  c.putU8(state + 1);
  c.putU8(
    (r.exitCode !== null ? FLAG_EXIT_CODE : 0) |
      (r.signal !== null ? FLAG_SIGNAL : 0) |
      (r.coreDumped ? FLAG_CORE : 0) |
      (r.cgroupCreated ? FLAG_CGROUP_CREATED : 0) |
      (r.reconciled ? FLAG_RECONCILED : 0),
  );
  c.putU8(0);
  c.putU8(0);
  c.putU64(r.pidStartTicks);
  c.putString("container name", r.name, LIMITS.name);
  c.putString("runtime", r.runtime, LIMITS.runtime);
  c.putString("source", r.source, LIMITS.source);
  c.putString("bundle path", r.bundle, LIMITS.bundle);
  c.putString("cgroup path", r.cgroupPath, LIMITS.path);
  return out;
}

export function decodeContainer(id: string, b: Uint8Array): ContainerRecord {
  const c = new Cursor(b);
  const createdNs = c.getU64();
  const startedNs = c.getU64();
  const stoppedNs = c.getU64();
  const traceId = c.getU64();
  const pidnsIno = Number(c.getU64());
  const mntnsIno = Number(c.getU64());
  const cgroupId = c.getU64();
  const pid = c.getU32();
  const exitCode = c.getI32();
  const signal = c.getI32();
  const state = CONTAINER_STATES[c.getU8() - 1] ?? "created";
  const flags = c.getU8();
  c.skip(2);
  const pidStartTicks = c.getU64();
  return {
    id,
    name: c.getString(LIMITS.name),
    runtime: c.getString(LIMITS.runtime),
    source: c.getString(LIMITS.source) as EventSource,
    bundle: c.getString(LIMITS.bundle),
    cgroupPath: c.getString(LIMITS.path),
    pid,
    pidnsIno,
    mntnsIno,
    cgroupId,
    state,
    createdNs,
    startedNs,
    stoppedNs,
    exitCode: flags & FLAG_EXIT_CODE ? exitCode : null,
    signal: flags & FLAG_SIGNAL ? signal : null,
    coreDumped: (flags & FLAG_CORE) !== 0,
    cgroupCreated: (flags & FLAG_CGROUP_CREATED) !== 0,
    traceId,
    pidStartTicks,
    reconciled: (flags & FLAG_RECONCILED) !== 0,
  };
}

export function encodeEvent(ev: LifecycleEvent, out = new Uint8Array(EVENT_RECORD_SIZE)): Uint8Array {
  if (!EVENT_TYPES.includes(ev.type)) throw new FieldValueError("event type", `unknown type "${ev.type}"`);
  if (!EVENT_SOURCES.includes(ev.source)) throw new FieldValueError("event source", `unknown source "${ev.source}"`);
  if (ev.id === "") throw new FieldValueError("container id", "is empty");
  checkPid("event pid", ev.pid);
  const c = new Cursor(out);
  c.putU64(ev.timeNs);
  c.putU32(ev.pid);
  c.putI32(ev.exitCode ?? 0);
  c.putI32(ev.signal ?? 0);
  c.putU32((ev.exitCode !== null ? FLAG_EXIT_CODE : 0) | (ev.signal !== null ? FLAG_SIGNAL : 0));
  c.putString("event type", ev.type, LIMITS.type);
  c.putString("event source", ev.source, LIMITS.source);
  c.putString("container id", ev.id, LIMITS.id);
  c.putString("container name", ev.name, LIMITS.name);
  c.putString("runtime", ev.runtime, LIMITS.runtime);
  c.putString("bundle path", ev.bundle, LIMITS.bundle);
  c.putString("cgroup path", ev.cgroup, LIMITS.path);
  return out;
}

export function decodeEvent(b: Uint8Array): LifecycleEvent {
  const c = new Cursor(b);
  const timeNs = c.getU64();
  const pid = c.getU32();
  const exitCode = c.getI32();
  const signal = c.getI32();
  const flags = c.getU32();
  const type = c.getString(LIMITS.type) as EventType;
  const source = c.getString(LIMITS.source) as EventSource;
  return {
    timeNs,
    type,
    id: c.getString(LIMITS.id),
    name: c.getString(LIMITS.name),
    runtime: c.getString(LIMITS.runtime),
    bundle: c.getString(LIMITS.bundle),
    cgroup: c.getString(LIMITS.path),
    pid,
    exitCode: flags & FLAG_EXIT_CODE ? exitCode : null,
    signal: flags & FLAG_SIGNAL ? signal : null,
    source,
  };
}

/** tracing_tasks value: the program's TASK_INFO, then the start time userspace checks it against. */
export const TRACING_VALUE = { ...TASK_INFO, startTicks: TASK_INFO.size, size: TASK_INFO.size + 8 } as const;

/**
 * tracing_tasks value: which trace a pid belongs to, the pid namespace the exit program checks, and
 * the start time (clock ticks since boot) of the process that was traced.
 */
export interface TaskInfo {
  traceId: bigint;
  pidnsIno: number;
  startTicks: bigint;
}

export function encodeTaskInfo(t: TaskInfo, out = new Uint8Array(TRACING_VALUE.size)): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setBigUint64(TRACING_VALUE.traceId, t.traceId, true);
  v.setBigUint64(TRACING_VALUE.pidnsIno, BigInt(t.pidnsIno), true);
  v.setBigUint64(TRACING_VALUE.startTicks, t.startTicks, true);
  return out;
}

export function decodeTaskInfo(b: Uint8Array): TaskInfo {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    traceId: v.getBigUint64(TRACING_VALUE.traceId, true),
    pidnsIno: Number(v.getBigUint64(TRACING_VALUE.pidnsIno, true)),
    startTicks: v.getBigUint64(TRACING_VALUE.startTicks, true),
  };
}

/** exited_events value, as the exit program wrote it. */
export interface ExitStatus {
  pid: number;
  /** wait(2) status: decode with exitedEventFromWaitStatus */
  waitStatus: number;
  /** task start, CLOCK_BOOTTIME ns */
  startBoottimeNs: bigint;
  /** exit, CLOCK_BOOTTIME ns */
  exitedBoottimeNs: bigint;
}

export function encodeExitStatus(s: ExitStatus, out = new Uint8Array(EXIT_STATUS.size)): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(EXIT_STATUS.pid, s.pid, true);
  v.setInt32(EXIT_STATUS.waitStatus, s.waitStatus, true);
  v.setBigUint64(EXIT_STATUS.startBoottime, s.startBoottimeNs, true);
  v.setBigUint64(EXIT_STATUS.exitedBoottime, s.exitedBoottimeNs, true);
  return out;
}

export function decodeExitStatus(b: Uint8Array): ExitStatus {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    pid: v.getUint32(EXIT_STATUS.pid, true),
    waitStatus: v.getInt32(EXIT_STATUS.waitStatus, true),
    startBoottimeNs: v.getBigUint64(EXIT_STATUS.startBoottime, true),
    exitedBoottimeNs: v.getBigUint64(EXIT_STATUS.exitedBoottime, true),
  };
}
