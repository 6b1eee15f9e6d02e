// The thread that answers fanotify permission events. It blocks in poll(2) on the fanotify fd (an FFI
// call would block the main event loop), takes the exec's argv record out of the BPF map, answers
// FAN_ALLOW at once and only then decodes and forwards what it learned. Every event it reads sits in a
// watchdog slot until answered, so the main thread can allow it if this thread ever stalls.
import { readFileSync, readlinkSync } from "node:fs";
import { pollIn, read, close, parseFanotifyEvents, fanotifyRespond, FAN, clockNs, CLOCK } from "../sys/index.ts";
import { BpfMap } from "../bpf/index.ts";
import { decodeExecRecord, EXEC_RECORD, EXEC_RECORD_KEY_SIZE } from "../../bpf/execargs.ts";
import { WatchdogSlots, mayCreate, type PermissionWorkerInit, type ExecMessage } from "./permission-protocol.ts";

declare const self: Worker;

function nowUs(): number {
  return Number(clockNs(CLOCK.MONOTONIC)) / 1000;
}

function readCmdline(tid: number): string | undefined {
  try {
    return readFileSync(`/proc/${tid}/cmdline`, "latin1");
  } catch {
    return undefined;
  }
}

function serve(init: PermissionWorkerInit): void {
  const slots = new WatchdogSlots(init.shared);
  const records = init.recordsFd >= 0 ? BpfMap.fromFd(init.recordsFd) : undefined;
  const key = new Uint8Array(EXEC_RECORD_KEY_SIZE);
  const keyView = new DataView(key.buffer);
  // at most 32 events per read: each gets an fd, and the notifier keeps room for them (see trust.ts)
  const buf = new Uint8Array(32 * 24);
  const recordBuf = new Uint8Array(EXEC_RECORD.size);

  // hold times of execs the main thread need not see, flushed when idle or every HOLD_BATCH
  const HOLD_BATCH = 256;
  let holds: number[] = [];
  const flushHolds = () => {
    if (!holds.length) return;
    self.postMessage({ kind: "holds", holdUs: holds });
    holds = [];
  };
  const fanFds = [init.fanFd];

  while (!slots.stopping()) {
    if (pollIn(fanFds, 100).length === 0) {
      flushHolds();
      continue;
    }
    let n: number;
    try {
      n = read(init.fanFd, buf, "read(fanotify)");
    } catch (e) {
      self.postMessage({ kind: "error", message: String(e) });
      continue;
    }
    if (n <= 0) continue;
    const readUs = nowUs();
    const events = parseFanotifyEvents(buf, n);
    const held = events.map((ev) => (ev.fd >= 0 ? slots.hold(ev.fd, readUs) : -1));

    events.forEach((ev, i) => {
      if (ev.fd < 0) return; // queue overflow notice: nothing to answer
      let raw: Uint8Array | undefined;
      try {
        if (records) {
          keyView.setUint32(0, ev.pid, true);
          raw = records.lookupAndDelete(key, recordBuf);
        }
      } catch {
        raw = undefined;
      }
      const cmdlineBefore = raw ? undefined : readCmdline(ev.pid);
      const answered = slots.answer(held[i]!, () => fanotifyRespond(init.fanFd, ev.fd, FAN.ALLOW));
      const answeredUs = nowUs();
      const record = raw ? decodeExecRecord(raw) : undefined;
      // bpf_ktime_get_ns is CLOCK_MONOTONIC, as nowUs()
      const execveUs = record ? Number(record.ktimeNs) / 1000 : undefined;
      const fromExecve = execveUs !== undefined && execveUs <= readUs && readUs - execveUs < 10_000_000;
      const holdUs = answeredUs - (fromExecve ? execveUs! : readUs);
      if (record && !mayCreate(record.argv, record.filename)) {
        close(ev.fd);
        holds.push(holdUs);
        if (holds.length >= HOLD_BATCH) flushHolds();
        return;
      }
      let binary = "";
      if (!raw) {
        try {
          binary = readlinkSync(`/proc/self/fd/${ev.fd}`);
        } catch {}
      }
      close(ev.fd);
      const msg: ExecMessage = {
        kind: "exec",
        tid: ev.pid,
        holdUs,
        answerUs: answeredUs - readUs,
        holdFromExecve: fromExecve,
        answeredByWatchdog: !answered,
        record,
        binary,
        cmdlineBefore,
      };
      self.postMessage(msg);
    });
  }
  flushHolds();
  self.postMessage({ kind: "stopped" });
}

self.onmessage = (e: MessageEvent<PermissionWorkerInit>) => {
  serve(e.data);
};
