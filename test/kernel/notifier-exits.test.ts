// The notifier's fallback for a container that ended before it could be traced: the exit status of
// the foreground runtime (`runc run` exits with its container's code). It is waited for while the
// runtime lives, not for a fixed few seconds: on a loaded host (or under TCG) runc's teardown after
// its container exits can take longer, and a fixed wait reported such containers' exits as unknown.
import { expect, test } from "bun:test";
import { exitOutcome, type Followed } from "../../lib/notifier/exits.ts";
import { describeNeeds } from "../support/prereq.ts";
import { release, storeFixture, waitingShell } from "../support/stores.ts";
import { scaled } from "../support/time.ts";

describeNeeds(["root", "btf"], "notifier exits", () => {
  const fx = storeFixture("hookshim-nexits");

  const followed = (runtimeTraceId: bigint, runtimePid: number): Followed => ({
    id: "c1", name: "c1", pid: 999_999, bundle: "/b", runtime: "runc", cgroup: "", uid: 0,
    traceId: 0n, ownTrace: false, runtimeTraceId, runtimePid,
  });

  test("a runtime that outlives its container by 6 s still gives the container's exit code", async () => {
    const store = fx.open();
    const runtime = waitingShell("exit 3");
    const t = store.trace(runtime.pid);
    const started = Date.now();
    const outcome = exitOutcome(store, followed(t.traceId, runtime.pid));
    await Bun.sleep(6_000);
    await release(runtime);
    expect(await outcome).toEqual({ exitCode: 3, signal: null, coreDumped: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(6_000);
    // the notifier frees the runtime's trace either way
    expect(store.getExitedEvent(t.traceId)).toBeUndefined();
    expect(store.getTracingTask(runtime.pid)).toBeUndefined();
  }, scaled(30_000));

  test("a runtime already gone without a status gives an unknown exit at once", async () => {
    const store = fx.open();
    const runtime = waitingShell("exit 0");
    const t = store.trace(runtime.pid);
    store.deleteTracingTask(runtime.pid); // as if its trace had been lost
    await release(runtime);
    const started = Date.now();
    expect(await exitOutcome(store, followed(t.traceId, runtime.pid))).toEqual({ exitCode: null, signal: null, coreDumped: false });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
