// What the permission worker and the main thread share: the messages, and the watchdog slots in a
// SharedArrayBuffer through which either thread can answer a held event exactly once.
import { execRecordArgc, execRecordArgIs, execRecordUid, type ExecRecord } from "../../bpf/execargs.ts";

export interface PermissionWorkerInit {
  fanFd: number;
  /** fd of the execargs records map, -1 without the BPF program */
  recordsFd: number;
  shared: SharedArrayBuffer;
  /**
   * The store the worker traces root's foreground `run` runtimes in before allowing them (see
   * permission-worker.ts); absent: the main thread traces them, after the answer.
   */
  store?: { name: string; bpffs: string };
}

export type ExecMessage = {
  kind: "exec";
  /** thread that opened the runtime binary for exec (FAN_REPORT_TID) */
  tid: number;
  /**
   * How long the exec waited for the answer, as far as this process can see: from sys_enter_execve
   * (the argv record's timestamp, a few µs before the kernel queues the fanotify event, which carries
   * no time of its own) when there is a record, else from reading the event.
   */
  holdUs: number;
  /** the part of holdUs from reading the event to answering it */
  answerUs: number;
  /** holdUs starts at sys_enter_execve (true) or at the read (false) */
  holdFromExecve: boolean;
  /** the watchdog had answered it already */
  answeredByWatchdog: boolean;
  /** argv captured at sys_enter_execve; undefined when the map had none */
  record?: ExecRecord;
  /**
   * /proc starttime of the exec'ing process (record.tgid), read by the worker right after the
   * answer: a runtime that fails fast may be gone by the time the main thread handles the message.
   */
  startTime?: number;
  /**
   * exit-tracking id under which the worker traced this runtime before allowing its exec (root's
   * foreground `run`); the main thread owns it from here and frees it when it does not follow one.
   */
  runtimeTraceId?: bigint;
  /** the binary being executed, when there was no record (for the /proc fallback) */
  binary: string;
  /**
   * /proc/TID/cmdline before the exec, when there was no record: a forked runtime (runc's child
   * re-executing /proc/self/exe) runs the binary already, so only a changed cmdline shows the exec.
   */
  cmdlineBefore?: string;
};

/**
 * Hold times of execs the main thread has nothing to do with (a runtime command other than create or
 * run: --version, state, start, kill, delete...), sent in batches so they do not wake it each time.
 */
export type HoldsMessage = { kind: "holds"; holdUs: number[] };

export type WorkerMessage = ExecMessage | HoldsMessage | { kind: "error"; message: string } | { kind: "stopped" };

const DETACH_FLAGS = ["-d", "--detach", "--detach=true"];

/**
 * Whether an exec record (undecoded, see execRecordArgIs) is root's possible foreground `run`, whose
 * own exit status is its container's: the worker traces such a runtime while its exec is held, so
 * a container that ends before the main thread gets to it still has an exit code. Over-inclusive on
 * purpose (the main thread's parser decides and frees a trace it does not need); `-d`/`--detach`
 * runs exit at once and are not traced.
 */
export function isRootForegroundRun(rec: Uint8Array): boolean {
  if (execRecordUid(rec) !== 0) return false;
  const argc = execRecordArgc(rec);
  let run = 1;
  while (run < argc && !execRecordArgIs(rec, run, "run")) run++;
  if (run >= argc) return false;
  for (let i = run + 1; i < argc; i++) for (const f of DETACH_FLAGS) if (execRecordArgIs(rec, i, f)) return false;
  return true;
}

/** Whether an exec's argv can start a container (or name one, for conmon): the main thread must see it. */
export function mayCreate(argv: readonly string[], filename: string): boolean {
  if (/(^|\/)conmon$/.test(filename) || /(^|\/)conmon$/.test(argv[0] ?? "")) return true;
  return argv.some((a, i) => i > 0 && (a === "create" || a === "run"));
}

// Slot states. A slot goes FREE -> HELD (worker read the event) -> ANSWERING (worker) -> FREE, or
// HELD -> WATCHDOG (main thread claimed it) -> WATCHDOG_DONE (main answered) -> FREE (worker saw it).
const FREE = 0, HELD = 1, ANSWERING = 2, WATCHDOG = 3, WATCHDOG_DONE = 4;
export const WATCHDOG_SLOTS = 256;
const HELD_COUNT = 1;

/**
 * Control word 0: stop flag; word 1: slots HELD or ANSWERING (so the main thread's watchdog tick, 50
 * times a second on an idle host, reads one word instead of every slot). Then per slot: state, fd;
 * and a Float64 start time (µs, CLOCK_MONOTONIC).
 */
export class WatchdogSlots {
  private readonly words: Int32Array;
  private readonly starts: Float64Array;

  constructor(readonly shared: SharedArrayBuffer = WatchdogSlots.allocate()) {
    this.words = new Int32Array(shared, 0, 2 + 2 * WATCHDOG_SLOTS);
    this.starts = new Float64Array(shared, 8 * (1 + WATCHDOG_SLOTS), WATCHDOG_SLOTS);
  }

  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(8 * (1 + WATCHDOG_SLOTS) + 8 * WATCHDOG_SLOTS);
  }

  stop(): void {
    Atomics.store(this.words, 0, 1);
  }

  stopping(): boolean {
    return Atomics.load(this.words, 0) === 1;
  }

  private state(i: number): number {
    return 2 + 2 * i;
  }

  /** Worker: put a read event under watch; -1 when every slot is taken (it is answered unwatched). */
  hold(fd: number, startUs: number): number {
    for (let i = 0; i < WATCHDOG_SLOTS; i++) {
      if (Atomics.compareExchange(this.words, this.state(i), FREE, HELD + 8) !== FREE) continue;
      this.words[this.state(i) + 1] = fd;
      this.starts[i] = startUs;
      Atomics.add(this.words, HELD_COUNT, 1);
      Atomics.store(this.words, this.state(i), HELD); // published after fd and start are in place
      return i;
    }
    return -1;
  }

  /**
   * Worker: answer the event in slot i with `respond` unless the watchdog did. Returns false when the
   * watchdog answered it (after waiting for its answer to finish, so the fd can be closed safely).
   */
  answer(i: number, respond: () => void): boolean {
    if (i < 0) {
      try {
        respond();
      } catch {}
      return true;
    }
    const s = this.state(i);
    if (Atomics.compareExchange(this.words, s, HELD, ANSWERING) === HELD) {
      try {
        respond();
      } catch {}
      Atomics.store(this.words, s, FREE);
      Atomics.sub(this.words, HELD_COUNT, 1);
      return true;
    }
    while (Atomics.load(this.words, s) !== WATCHDOG_DONE) Atomics.wait(this.words, s, WATCHDOG, 5);
    Atomics.store(this.words, s, FREE);
    Atomics.sub(this.words, HELD_COUNT, 1);
    return false;
  }

  /** Main thread: answer, with `respond(fd)`, every event held since before `deadlineUs`; returns how many. */
  expire(deadlineUs: number, respond: (fd: number) => void): number {
    let n = 0;
    if (Atomics.load(this.words, HELD_COUNT) === 0) return 0;
    for (let i = 0; i < WATCHDOG_SLOTS; i++) {
      const s = this.state(i);
      if (Atomics.load(this.words, s) !== HELD || this.starts[i]! > deadlineUs) continue;
      if (Atomics.compareExchange(this.words, s, HELD, WATCHDOG) !== HELD) continue;
      try {
        respond(this.words[s + 1]!);
      } catch {}
      Atomics.store(this.words, s, WATCHDOG_DONE);
      Atomics.notify(this.words, s);
      n++;
    }
    return n;
  }
}
