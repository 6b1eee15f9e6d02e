// poststop: runs after the container is deleted (runc delete; with `runc run`, when it exits). The
// exit status comes from exit tracking, which saw the init exit in the kernel. The stopped event is
// recorded before anything is cleaned up, so a cleanup failure never loses it.
import { CgroupManager, cgroupMount, isCgroupError } from "../cgroup/index.ts";
import type { State } from "../oci/state.ts";
import { makeEvent, NoSuchContainerError, releaseStopped, wallClockNs, type ContainerRecord, type Store } from "../store/index.ts";
import { removeCgroup } from "./cgroup.ts";
import { step, type HookContext } from "./context.ts";

/** How long to wait for an exit the kernel has not reported yet (the init exits just before poststop runs). */
export const EXIT_WAIT_MS = 2_000;

export interface PoststopResult {
  /** the record as stopped; undefined for a container hookshim never saw */
  record?: ContainerRecord;
  exitCode: number | null;
  signal: number | null;
  removedCgroup?: string;
}

/**
 * The record marked stopped, with the kernel's exit status where it was seen; not written yet, so
 * the stopped event can go first (a poststop killed between the two leaves a record that
 * reconciliation stops, with the same kernel status: the stop is never lost).
 */
async function stoppedRecord(store: Store, rec: ContainerRecord, ctx: HookContext): Promise<ContainerRecord> {
  if (rec.state === "stopped") return rec; // collected already (the notifier or the shim got there first)
  let done = store.exitOf(rec.id);
  if (!done && rec.traceId !== 0n) {
    await store.waitExitedEvent(rec.traceId, { timeoutMs: EXIT_WAIT_MS });
    done = store.exitOf(rec.id);
  }
  if (done) return done;
  ctx.log.warn(`no exit status for pid ${rec.pid} (trace id ${rec.traceId}): recording the stop without one`);
  return { ...rec, state: "stopped", stoppedNs: wallClockNs() };
}

export async function poststop(state: State, ctx: HookContext): Promise<PoststopResult> {
  const store = await step(`opening store ${ctx.storeName}`, () => ctx.openStore());
  ctx.timing.mark("store");
  try {
    const known = store.getContainer(state.id);
    if (!known) {
      ctx.log.info(`container ${state.id} is not in store ${ctx.storeName}: recording its stop without an exit status`);
      step(`recording the stop of ${state.id}`, () =>
        store.append(makeEvent({ type: "stopped", id: state.id, pid: state.pid ?? 0, bundle: state.bundle, source: "hook" })),
      );
      return { exitCode: null, signal: null };
    }

    const rec = await step(`collecting the exit status of ${state.id}`, () => stoppedRecord(store, known, ctx));
    ctx.timing.mark("exit status");
    step(`recording the stop of ${state.id}`, () => {
      const r = store.append(makeEvent({
        type: "stopped", id: rec.id, name: rec.name, pid: rec.pid, bundle: rec.bundle, runtime: rec.runtime,
        cgroup: rec.cgroupPath, exitCode: rec.exitCode, signal: rec.signal, source: "hook",
      }));
      for (const w of r.warnings) ctx.log.warn(w);
      // unless another writer stopped it meanwhile or a new container took the id
      try {
        store.updateContainer(rec.id, (cur) => (cur.state !== "stopped" && cur.traceId === rec.traceId && cur.pid === rec.pid ? rec : cur));
      } catch (e) {
        if (!(e instanceof NoSuchContainerError)) throw e; // evicted meanwhile: the event is the record
      }
    });
    // The exit program drops the tracing entry when the init exits; this covers an init that never ran.
    releaseStopped(store, rec);
    ctx.timing.mark("record");

    let removedCgroup: string | undefined;
    if (rec.cgroupCreated && rec.cgroupPath) {
      await step(`removing the cgroup ${rec.cgroupPath}`, async () => {
        const mgr = cgroupAt(rec.cgroupPath);
        if (mgr) await removeCgroup(mgr);
      });
      removedCgroup = rec.cgroupPath;
      ctx.timing.mark("cgroup");
    }
    return { record: rec, exitCode: rec.exitCode, signal: rec.signal, removedCgroup };
  } finally {
    store.close();
  }
}

/** The manager of a group recorded by its directory; undefined when it is gone already. */
function cgroupAt(dir: string): CgroupManager | undefined {
  const root = cgroupMount().mountpoint;
  if (!dir.startsWith(root + "/")) throw new Error(`${dir} is not under the cgroup v2 mount ${root}`);
  try {
    return CgroupManager.load(dir.slice(root.length));
  } catch (e) {
    if (isCgroupError(e, "deleted")) return undefined;
    throw e;
  }
}
