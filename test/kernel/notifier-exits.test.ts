// The notifier's fallback for a container that ended before it could be traced: the exit status of
// the foreground runtime (`runc run` exits with its container's code). It is waited for while the
// runtime lives, not for a fixed few seconds: on a loaded host (or under TCG) runc's teardown after
// its container exits can take longer, and a fixed wait reported such containers' exits as unknown.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { exitOutcome, type Followed } from "../../lib/notifier/exits.ts";
import { liveStartTicks } from "../../lib/store/index.ts";
import { describeNeeds } from "../support/prereq.ts";
import { release, storeFixture, waitingShell } from "../support/stores.ts";
import { scaled } from "../support/time.ts";
import { threadexitBinary } from "../support/threadexit.ts";

describeNeeds(["root", "btf", "cc"], "notifier exits", () => {
  const fx = storeFixture("hookshim-nexits");
  const threadexit = threadexitBinary();

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

  // runc is Go: when it exits, its leader thread can be a zombie while other threads still run. The
  // runtime is not gone then, and its status comes only when the last thread exits. Taking the
  // zombie leader for the end lost 1 in ~200 exit codes of `runc run ... true` bursts.
  test("a runtime whose leader thread exits first is waited for until its last thread's exit(3)", async () => {
    const store = fx.open();
    const p = Bun.spawn([threadexit(), "leader-exits", "3"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const t = store.trace(p.pid);
    p.stdin.write("go\n");
    await p.stdin.flush();
    const reader = p.stdout.getReader();
    let out = "";
    while (!out.includes("ready")) {
      const r = await reader.read();
      if (r.done) throw new Error("threadexit ended before ready");
      out += new TextDecoder().decode(r.value);
    }
    expect(readFileSync(`/proc/${p.pid}/task/${p.pid}/status`, "utf8")).toMatch(/State:\s+Z/);
    expect(liveStartTicks(p.pid)).toBe(t.startTicks); // the process lives on in its other thread
    const outcome = exitOutcome(store, followed(t.traceId, p.pid));
    await Bun.sleep(500);
    p.stdin.write("end\n");
    await p.stdin.end();
    expect(await p.exited).toBe(3);
    expect(await outcome).toEqual({ exitCode: 3, signal: null, coreDumped: false });
  }, scaled(30_000));
});
