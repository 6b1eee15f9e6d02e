// Group events through inotify: the kernel raises IN_MODIFY on cgroup.events and memory.events when
// their values change, and IN_DELETE_SELF on the directory at rmdir.
import { IN, close, inotifyAddWatch, inotifyInit, inotifyRead, isErrno, pollIn } from "../sys/index.ts";
import { isCgroupError } from "./errors.ts";
import { readCgroupFileIfExists } from "./files.ts";
import { parseFlatKeyed, type FlatKeyed } from "./stats.ts";

export type CgroupEvent =
  /** memory.events counters (low, high, max, oom, oom_kill, oom_group_kill) and which of them grew. */
  | { type: "memory"; counts: FlatKeyed; changed: string[] }
  /** cgroup.events "populated 0": the last task left; the iterator ends after this. */
  | { type: "empty" }
  /** The group directory was removed; the iterator ends after this. */
  | { type: "deleted" };

export interface WatchOptions {
  signal?: AbortSignal;
  /** Longest sleep between checks of the inotify fd, in ms (also bounds how late a missed wakeup is noticed). */
  maxIntervalMs?: number;
}

// undefined once the group is gone (or the file absent: memory.events without the memory controller).
function readEventsFile(dir: string, file: string): string | undefined {
  try {
    return readCgroupFileIfExists(dir, file);
  } catch (e) {
    if (isCgroupError(e, "deleted")) return undefined;
    throw e;
  }
}

/**
 * Memory events and emptiness of the group at `dir`, ending when it is empty (at once if it is empty
 * when iteration starts) or deleted, or when `signal` aborts. The inotify fd is closed however the
 * iteration ends: exhaustion, `break` (the generator's return()), or an error.
 */
export async function* watchEvents(dir: string, options: WatchOptions = {}): AsyncGenerator<CgroupEvent, void, undefined> {
  const { signal, maxIntervalMs = 100 } = options;
  const fd = inotifyInit();
  try {
    try {
      inotifyAddWatch(fd, dir, IN.DELETE_SELF | IN.ONLYDIR);
      inotifyAddWatch(fd, `${dir}/cgroup.events`, IN.MODIFY);
    } catch (e) {
      if (isErrno(e, "ENOENT")) {
        yield { type: "deleted" };
        return;
      }
      throw e;
    }
    try {
      inotifyAddWatch(fd, `${dir}/memory.events`, IN.MODIFY);
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw e; // memory controller not enabled: no memory events
    }

    // Counters present when watching starts are the baseline; only growth is reported.
    let memory = parseFlatKeyed(readEventsFile(dir, "memory.events") ?? "");
    const buf = new Uint8Array(4096);
    while (!signal?.aborted) {
      const memText = readEventsFile(dir, "memory.events");
      if (memText !== undefined) {
        const counts = parseFlatKeyed(memText);
        const changed = Object.keys(counts).filter((k) => counts[k] !== (memory[k] ?? 0));
        memory = counts;
        if (changed.length) yield { type: "memory", counts, changed };
      }
      const cgEvents = readEventsFile(dir, "cgroup.events");
      if (cgEvents === undefined) {
        yield { type: "deleted" };
        return;
      }
      if (parseFlatKeyed(cgEvents).populated === 0) {
        yield { type: "empty" };
        return;
      }
      // Wait for the fd without blocking the event loop: FFI poll() would stall every other task.
      for (let delay = 1, waited = 0; waited < maxIntervalMs * 10 && !signal?.aborted; delay = Math.min(delay * 2, maxIntervalMs)) {
        if (pollIn([fd], 0).length) {
          while (inotifyRead(fd, buf).length);
          break;
        }
        await Bun.sleep(delay);
        waited += delay;
      }
    }
  } finally {
    close(fd);
  }
}
