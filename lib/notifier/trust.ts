// What the notifier believes, from whom. Any user may exec runc, crun or conmon with any argv, and
// rootless podman does so as a normal user, so a runtime exec is a claim made by its uid:
//   - ids must pass the runtimes' own rules (validContainerId); names and paths are made printable;
//   - each uid has a bounded number of claims in flight (UidCaps), and the notifier as a whole a
//     bounded number of pidfds and waits, kept well under RLIMIT_NOFILE (fanotify denies an exec
//     whose event fd it cannot create, so fd exhaustion must never happen);
//   - nothing is recorded until the claimed pid is verified (verifyContainerPid): a descendant of the
//     runtime process that made the claim, started after it;
//   - files a non-root claim names are read only if that uid owns them (lib/sys readBoundedFile).
// Root's execs are believed as before: root can start any container anyway.
import { readFileSync } from "node:fs";

/** runc's rule for container ids (libcontainer: ^[\w+\-\.]+$, not "." or ".."), within the store's 128 bytes. */
export function validContainerId(id: string): boolean {
  return id.length > 0 && id.length <= 128 && /^[\w+\-.]+$/.test(id) && id !== "." && id !== "..";
}

/**
 * `s` with every control character (C0, DEL, C1) written as \xNN, so no terminal escape sequence
 * from argv, an annotation or a path reaches a terminal or a table.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The real uid of a process (/proc/PID/status), undefined when it is gone. */
export function processUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The runtime process that made a claim: its uid, pid (thread group) and start time. */
export interface Claimant {
  uid: number;
  pid: number;
  /** /proc/PID/stat starttime when the claim was taken; undefined when unknown (a resumed wait) */
  startTime?: number;
}

/** Where the claimed pid stands. */
/**
 * The runtime process behind an exec, with its start time. A runtime that has exited already (a
 * fast failure) can still be root's claim; anyone else's could no longer be verified.
 */
export function claimantOf(pid: number, uid: number, seenStartTime?: number): Claimant | undefined {
  // the worker's reading, taken right after the answer, when it has one
  const started = seenStartTime ?? startTime(pid);
  if (started === undefined && uid !== 0) return undefined;
  return { uid, pid, startTime: started };
}

export type Verdict = { ok: true; startTime: number } | { ok: false; why: string };

const MAX_DEPTH = 4;

/**
 * Whether `pid` is a container the claimant started: alive, a descendant of the runtime (runc's and
 * crun's inits are its children) while the runtime still runs. When the runtime has exited already
 * (its container reparented), a root claim is believed for a process started after the runtime; a
 * non-root claim is not believed at all (its uid could have started any process since). The notifier
 * reads a pid file as soon as it is written, while the runtime still runs.
 */
export function verifyContainerPid(pid: number, c: Claimant): Verdict {
  const started = startTime(pid);
  if (started === undefined) return { ok: false, why: `pid ${pid} is not running` };
  // a zombie runtime has exited: its children are reparented already
  const runtimeRuns = () => c.startTime !== undefined && statField(c.pid, 22) === c.startTime && !/^[ZX]/.test(statState(c.pid) ?? "X");
  if (runtimeRuns()) {
    let p: number | undefined = pid;
    for (let depth = 0; depth < MAX_DEPTH && p !== undefined && p > 1; depth++) {
      p = parentPid(p);
      if (p === c.pid) return { ok: true, startTime: started };
    }
    if (runtimeRuns()) return { ok: false, why: `pid ${pid} is not a process of the runtime (pid ${c.pid})` };
  }
  if (c.startTime !== undefined && started < c.startTime) return { ok: false, why: `pid ${pid} started before the runtime (pid ${c.pid})` };
  if (c.uid !== 0) return { ok: false, why: `pid ${pid}, but the runtime of uid ${c.uid} (pid ${c.pid}) had exited: not verifiable` };
  return { ok: true, startTime: started };
}

/**
 * Counts of things held per uid, under a per-uid cap (root exempt) and a global one, of which
 * non-root uids together get at most half: no user can starve root's containers.
 */
export class UidCaps {
  private readonly held = new Map<number, number>();
  private total = 0;
  private nonRoot = 0;
  constructor(
    readonly perUid: number,
    readonly global: number,
  ) {}

  /** Takes one for `uid`; false when its cap or the global one is reached. */
  take(uid: number): boolean {
    const n = this.held.get(uid) ?? 0;
    if (this.total >= this.global) return false;
    if (uid !== 0 && (n >= this.perUid || this.nonRoot >= Math.floor(this.global / 2))) return false;
    this.held.set(uid, n + 1);
    this.total++;
    if (uid !== 0) this.nonRoot++;
    return true;
  }

  give(uid: number): void {
    const n = this.held.get(uid) ?? 0;
    if (n === 0) return;
    if (n === 1) this.held.delete(uid);
    else this.held.set(uid, n - 1);
    this.total--;
    if (uid !== 0) this.nonRoot--;
  }

  get size(): number {
    return this.total;
  }
}

/**
 * At most `limit` error events per uid (root exempt) per `windowMs`: a user looping bad runtime execs
 * must not flood the event log. What is dropped is still counted in the metrics.
 */
export class ErrorRate {
  private readonly windows = new Map<number, { start: number; n: number }>();
  constructor(
    readonly limit = 20,
    readonly windowMs = 60_000,
  ) {}

  allow(uid: number, now = Date.now()): boolean {
    if (uid === 0) return true;
    let w = this.windows.get(uid);
    if (!w || now - w.start >= this.windowMs) {
      if (this.windows.size >= 4096) this.windows.clear();
      this.windows.set(uid, (w = { start: now, n: 0 }));
    }
    return ++w.n <= this.limit;
  }
}

/** /proc/PID/stat's ppid, undefined when the process is gone. */
export function parentPid(pid: number): number | undefined {
  return statField(pid, 4);
}

/** /proc/PID/stat's starttime (clock ticks after boot), undefined when the process is gone. */
export function startTime(pid: number): number | undefined {
  return statField(pid, 22);
}

/** /proc/PID/stat from field 3 (state) on, undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Field `n` (1-based, as in proc(5)) of /proc/PID/stat, from field 3 on. */
function statField(pid: number, n: number): number | undefined {
  const v = Number(statFields(pid)?.[n - 3]);
  return Number.isFinite(v) ? v : undefined;
}

function statState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}
