// The thread that answers fanotify permission events. It blocks in poll(2) on the fanotify fd (an FFI
// call would block the main event loop) and runs the answer path of every runtime exec on the host:
//
//   poll -> read -> per event: watchdog slot, take the exec's argv record out of the BPF map,
//   [root's foreground `run` only: trace the runtime in the store], FAN_ALLOW
//
// with nothing allocated, decoded or sent on the way (FanotifyPermissionQueue keeps its buffers; the
// record goes into a buffer of its own per event). Only when the whole batch is
// answered does it decode the records, tell the main thread and close the event fds. The runtime it
// wakes is usually queued on this thread's CPU and would wait for everything done before the next poll
// as it waits for the answer, so when no exec of the batch needs the main thread promptly, the
// thread yields the CPU (sched_yield) before the rest.
//
// The record is taken before the answer because only then is it provably this exec's: the thread is
// blocked in the exec, so it cannot have entered another one and overwritten its record (a runtime
// wrapper that execveat()s the real runtime from the same thread does exactly that once allowed). It
// costs one bpf(2) call (about 2 µs). Without a record (argv capture off, or an exec through a name the
// BPF filter does not know) the old /proc/TID/cmdline is read before the answer for the same reason:
// after it, the exec may have replaced it.
//
// Every event read sits in a watchdog slot until answered, so the main thread can allow it if this
// thread ever stalls.
import { readFileSync, readlinkSync } from "node:fs";
import { close, FanotifyPermissionQueue, monotonicUs, schedYield } from "../sys/index.ts";
import { BpfMap } from "../bpf/index.ts";
import { decodeExecRecord, EXEC_RECORD, EXEC_RECORD_KEY_SIZE } from "../../bpf/execargs.ts";
import { openExistingStore, type Store } from "../store/index.ts";
import { WatchdogSlots, mayCreate, isRootForegroundRun, type PermissionWorkerInit, type ExecMessage } from "./permission-protocol.ts";
import { startTime } from "./trust.ts";

declare const self: Worker;

/** events per read: each gets an fd, and the notifier keeps room for them (see run.ts FD_RESERVE) */
const BATCH = 32;
/** hold times of execs the main thread need not see, flushed when idle or every HOLD_BATCH */
const HOLD_BATCH = 256;

function readCmdline(tid: number): string | undefined {
  try {
    return readFileSync(`/proc/${tid}/cmdline`, "latin1");
  } catch {
    return undefined;
  }
}

function serve(init: PermissionWorkerInit): void {
  const slots = new WatchdogSlots(init.shared);
  const queue = new FanotifyPermissionQueue(init.fanFd, BATCH);
  const records = init.recordsFd >= 0 ? BpfMap.fromFd(init.recordsFd) : undefined;
  const key = new Uint8Array(EXEC_RECORD_KEY_SIZE);
  const keyView = new DataView(key.buffer);
  const recordBufs = Array.from({ length: BATCH }, () => new Uint8Array(EXEC_RECORD.size));
  const recordViews = recordBufs.map((b) => new DataView(b.buffer));
  // per event of the batch: watchdog slot, record found, /proc cmdline before the exec, answer time
  const held = new Int32Array(BATCH);
  const found = new Uint8Array(BATCH);
  const answered = new Uint8Array(BATCH);
  const answeredAt = new Float64Array(BATCH);
  const holdUs = new Float64Array(BATCH);
  // 1: the main thread must see it (it may create a container, or there was no record)
  const forward = new Uint8Array(BATCH);
  const cmdlinesBefore: (string | undefined)[] = new Array(BATCH).fill(undefined);
  const runtimeTraces: (bigint | undefined)[] = new Array(BATCH).fill(undefined);
  let store: Store | undefined;
  try {
    store = init.store ? openExistingStore(init.store.name, { bpffs: init.store.bpffs }) : undefined;
  } catch (e) {
    self.postMessage({ kind: "error", message: `runtimes are traced after their answer only: ${String(e)}` });
  }
  /**
   * Traces root's foreground `run` runtime while its exec is held. Its exit status is its
   * container's, and a container that ends within milliseconds (`runc run ... true`) can be gone,
   * runtime and all, before the main thread handles the exec on a loaded host: traced after the
   * answer, such a container's exit code was lost. Costs a /proc read and a map update, on these
   * execs only; non-root runtimes are traced by the main thread once their claim is checked.
   */
  const traceHeldRuntime = (i: number): void => {
    runtimeTraces[i] = undefined;
    if (!store || !found[i] || !isRootForegroundRun(recordBufs[i]!)) return;
    try {
      runtimeTraces[i] = store.trace(recordViews[i]!.getUint32(EXEC_RECORD.tgid, true) || queue.pids[i]!).traceId;
    } catch {}
  };
  let eventFd = -1;
  const allow = () => queue.respond(eventFd);

  let holds: number[] = [];
  const flushHolds = () => {
    if (!holds.length) return;
    self.postMessage({ kind: "holds", holdUs: holds });
    holds = [];
  };

  while (!slots.stopping()) {
    let n: number;
    try {
      n = queue.next(100);
    } catch (e) {
      self.postMessage({ kind: "error", message: String(e) });
      continue;
    }
    if (n === 0) {
      flushHolds();
      continue;
    }

    // ---- the answer path ----
    const readUs = monotonicUs();
    for (let i = 0; i < n; i++) {
      eventFd = queue.fds[i]!;
      if (eventFd < 0) continue; // queue overflow notice: nothing to answer
      held[i] = slots.hold(eventFd, readUs);
      found[i] = 0;
      if (records) {
        keyView.setUint32(0, queue.pids[i]!, true);
        try {
          found[i] = records.lookupAndDelete(key, recordBufs[i]) ? 1 : 0;
        } catch {}
      }
      cmdlinesBefore[i] = found[i] ? undefined : readCmdline(queue.pids[i]!);
      traceHeldRuntime(i);
      answered[i] = slots.answer(held[i]!, allow) ? 1 : 0;
      answeredAt[i] = monotonicUs();
    }

    // ---- after the answers ----
    // Execs that may create a container go to the main thread at once: it must start following the
    // runtime before a short-lived container ends. Only a batch without any yields the CPU first, to
    // the runtime it allowed (woken on this CPU, most likely), and closes its fds afterwards.
    let forwarded = false;
    for (let i = 0; i < n; i++) {
      const fd = queue.fds[i]!;
      if (fd < 0) continue;
      const tid = queue.pids[i]!;
      const record = found[i] ? decodeExecRecord(recordBufs[i]!) : undefined;
      // bpf_ktime_get_ns is CLOCK_MONOTONIC, as monotonicUs()
      const execveUs = record ? Number(record.ktimeNs) / 1000 : undefined;
      const fromExecve = execveUs !== undefined && execveUs <= readUs && readUs - execveUs < 10_000_000;
      holdUs[i] = answeredAt[i]! - (fromExecve ? execveUs! : readUs);
      forward[i] = !record || mayCreate(record.argv, record.filename) ? 1 : 0;
      if (!forward[i]) continue;
      forwarded = true;
      let binary = "";
      if (!record) {
        try {
          binary = readlinkSync(`/proc/self/fd/${fd}`);
        } catch {}
      }
      close(fd);
      const msg: ExecMessage = {
        kind: "exec",
        tid,
        holdUs: holdUs[i]!,
        answerUs: answeredAt[i]! - readUs,
        holdFromExecve: fromExecve,
        answeredByWatchdog: !answered[i],
        record,
        startTime: record ? startTime(record.tgid || tid) : undefined,
        runtimeTraceId: runtimeTraces[i],
        binary,
        cmdlineBefore: cmdlinesBefore[i],
      };
      cmdlinesBefore[i] = undefined;
      self.postMessage(msg);
    }
    if (!forwarded) schedYield();
    for (let i = 0; i < n; i++) {
      if (queue.fds[i]! < 0 || forward[i]) continue;
      close(queue.fds[i]!);
      holds.push(holdUs[i]!);
      if (holds.length >= HOLD_BATCH) flushHolds();
    }
  }
  flushHolds();
  store?.close();
  self.postMessage({ kind: "stopped" });
}

self.onmessage = (e: MessageEvent<PermissionWorkerInit>) => {
  serve(e.data);
};
