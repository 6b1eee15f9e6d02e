// The store's consistency rules against the real kernel (docs/store-consistency.md): a process is
// traced once, an entry left by an earlier process with the same pid never blocks a new one nor
// claims its exit; reconciliation stops records of gone containers with the kernel's status or
// none; capacity is spent only on verifiably running containers; the lock has a deadline and dies
// with its holder; a store directory hookshim did not make is refused.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfMap } from "../../lib/bpf/index.ts";
import {
  PIN, ProcessGoneError, StoreDirError, StoreFullError, StoreLockTimeoutError, checkStoreDir, liveStartTicks, liveness,
  newContainerRecord, openExistingStore, openStore, resetStore, wallClockNs, type Store, type StoreOptions,
} from "../../lib/store/index.ts";
import { encodeTaskInfo } from "../../lib/store/layout.ts";
import { DirLock } from "../../lib/store/lock.ts";
import { describeNeeds } from "../support/prereq.ts";
import { release, storeFixture, waitingShell, type StoreFixture } from "../support/stores.ts";
import { scaled } from "../support/time.ts";

const BUN = process.execPath;
const REPO = join(import.meta.dir, "../..");
let fx: StoreFixture;
const open = (opts: StoreOptions = {}): Store => fx.open(opts);

/** Overwrites pid's tracing entry as if an earlier process with this pid had left it. */
function plantStaleEntry(store: Store, pid: number, traceId: bigint, startTicks: bigint) {
  const map = BpfMap.fromPin(join(store.dir, PIN.tracing));
  try {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, pid, true);
    map.update(key, encodeTaskInfo({ traceId, pidnsIno: 4026531836, startTicks }));
  } finally {
    map.close();
  }
}

describeNeeds(["root", "btf"], "store consistency", () => {
  fx = storeFixture("hookshim-test-cons");

  describe("pid reuse", () => {
    test("an entry an earlier process left under the pid is replaced, and the new process's exit is its own", async () => {
      const store = open();
      const p = waitingShell("exit 6");
      const start = liveStartTicks(p.pid)!;
      plantStaleEntry(store, p.pid, 999n, start - 1n); // poststop never ran, its exit went unseen
      store.putContainer(newContainerRecord({ id: "stale", pid: p.pid, traceId: 999n, pidStartTicks: start - 1n, state: "running" }));
      const t = store.trace(p.pid);
      expect(t.existing).toBe(false);
      expect(t.replaced).toMatchObject({ traceId: 999n, startTicks: start - 1n });
      expect(t.traceId).not.toBe(999n);
      expect(store.getTracingTask(p.pid)).toEqual({ traceId: t.traceId, pidnsIno: t.pidnsIno, startTicks: start });
      store.putContainer(newContainerRecord({ id: "new", pid: p.pid, traceId: t.traceId, state: "running" }));
      // the new record took its start time from its tracing entry; the stale one is judged gone
      expect(store.getContainer("new")!.pidStartTicks).toBe(start);
      expect(liveness(store.getContainer("new")!, store.tracing)).toBe("running");
      expect(liveness(store.getContainer("stale")!, store.tracing)).toBe("gone");
      await release(p);
      const status = await store.waitExitedEvent(t.traceId, { timeoutMs: scaled(10_000) });
      expect(status?.pid).toBe(p.pid);
      expect(store.getExitedEvent(999n)).toBeUndefined();
      expect(store.collectExit("new")).toMatchObject({ state: "stopped", exitCode: 6 });
      const r = store.reconcile();
      expect(r.stopped.map((c) => c.id)).toEqual(["stale"]);
      expect(store.getContainer("stale")).toMatchObject({ state: "stopped", exitCode: null, signal: null, reconciled: true });
    }, scaled(20_000));

    test("tracing the same process twice gives one entry; a process gone before it is traced is refused", async () => {
      const store = open();
      const p = waitingShell("exit 0");
      const a = store.trace(p.pid);
      const b = store.trace(p.pid);
      expect(b).toMatchObject({ existing: true, traceId: a.traceId });
      expect(store.tracingTasks().filter(([pid]) => pid === p.pid).length).toBe(1);
      await release(p);
      expect(() => store.trace(p.pid)).toThrow(ProcessGoneError);
    }, scaled(20_000));

    test("a tracing table full of entries of gone processes still takes a new one", async () => {
      const store = open({ maxTracing: 4 });
      const p = waitingShell("exit 0");
      for (let i = 0; i < 4; i++) plantStaleEntry(store, 4_000_000 + i, BigInt(900 + i), 1n); // pids no process has
      const t = store.trace(p.pid);
      expect(store.getTracingTask(p.pid)?.traceId).toBe(t.traceId);
      expect(store.tracingTasks().length).toBe(1);
      await release(p);
    }, scaled(20_000));
  });

  describe("reconciliation", () => {
    test("gone containers become stopped with the kernel's status or none; running ones stay", async () => {
      const store = open();
      const exited = waitingShell("exit 4");
      const killed = waitingShell("exit 0");
      const running = waitingShell("exit 0");
      const te = store.trace(exited.pid);
      const tk = store.trace(killed.pid);
      const tr = store.trace(running.pid);
      const now = wallClockNs();
      store.putContainer(newContainerRecord({ id: "exited", pid: exited.pid, traceId: te.traceId, state: "running" }));
      store.putContainer(newContainerRecord({ id: "killed", pid: killed.pid, traceId: tk.traceId, state: "created" }));
      store.putContainer(newContainerRecord({ id: "running", pid: running.pid, traceId: tr.traceId, state: "running" }));
      // a record whose pid now belongs to another process (its own start time differs)
      store.putContainer(newContainerRecord({ id: "reused", pid: running.pid, pidStartTicks: tr.startTicks - 5n, state: "running" }));
      // never given a pid, long ago; and one waiting for its pid right now
      store.putContainer(newContainerRecord({ id: "nopid-old", state: "created", createdNs: now - 3_600_000_000_000n }));
      store.putContainer(newContainerRecord({ id: "nopid-new", state: "created" }));
      // an untraced record whose pid is free
      store.putContainer(newContainerRecord({ id: "untraced", pid: 4_100_000, state: "running" }));
      await release(exited);
      await store.waitExitedEvent(te.traceId, { timeoutMs: scaled(10_000) });
      killed.kill("SIGKILL");
      await killed.exited;
      await store.waitExitedEvent(tk.traceId, { timeoutMs: scaled(10_000) });

      const r = store.reconcile();
      expect(r.stopped.map((c) => c.id).sort()).toEqual(["exited", "killed", "nopid-old", "reused", "untraced"]);
      expect(store.getContainer("exited")).toMatchObject({ state: "stopped", exitCode: 4, signal: null, reconciled: true });
      expect(store.getContainer("killed")).toMatchObject({ state: "stopped", exitCode: null, signal: 9, reconciled: true });
      for (const id of ["reused", "nopid-old", "untraced"])
        expect(store.getContainer(id)).toMatchObject({ state: "stopped", exitCode: null, signal: null, reconciled: true });
      expect(store.getContainer("running")!.state).toBe("running");
      expect(store.getContainer("nopid-new")!.state).toBe("created");
      // statuses taken, tracing entries of the gone processes dropped
      expect(store.getExitedEvent(te.traceId)).toBeUndefined();
      expect(store.getTracingTask(exited.pid)).toBeUndefined();
      const stops = store.readEvents().events.map((e) => e.event).filter((e) => e.type === "stopped");
      expect(stops.map((e) => [e.id, e.exitCode, e.signal, e.source]).sort()).toEqual([
        ["exited", 4, null, "store"], ["killed", null, 9, "store"], ["nopid-old", null, null, "store"],
        ["reused", null, null, "store"], ["untraced", null, null, "store"],
      ]);
      // nothing left to do the second time
      expect(store.reconcile().stopped).toEqual([]);
      await release(running);
    }, scaled(20_000));

    test("a status the kernel recorded for another process with that pid is not taken", async () => {
      const store = open();
      const p = waitingShell("exit 9");
      const t = store.trace(p.pid);
      store.putContainer(newContainerRecord({ id: "c", pid: p.pid, traceId: t.traceId, pidStartTicks: t.startTicks + 1000n, state: "running" }));
      await release(p);
      await store.waitExitedEvent(t.traceId, { timeoutMs: scaled(10_000) });
      store.reconcile();
      expect(store.getContainer("c")).toMatchObject({ state: "stopped", exitCode: null, signal: null });
    }, scaled(20_000));
  });

  describe("capacity", () => {
    test("a table full of records nobody can verify takes a new container; one full of running ones refuses", async () => {
      const store = open({ maxContainers: 3 });
      for (const id of ["a", "b", "c"]) store.putContainer(newContainerRecord({ id, state: "created" })); // like `runc create x$i` seen by the notifier
      const p = waitingShell("exit 0");
      const t = store.trace(p.pid);
      const w = store.putContainer(newContainerRecord({ id: "real", pid: p.pid, traceId: t.traceId, state: "created" }));
      expect(w).toEqual([`store ${store.name}: container table full (3), evicted container not verifiably running (state created, pid unknown) a`]);
      const live = [waitingShell("exit 0"), waitingShell("exit 0")];
      for (const [i, q] of live.entries()) {
        const tq = store.trace(q.pid);
        store.putContainer(newContainerRecord({ id: `live${i}`, pid: q.pid, traceId: tq.traceId, state: "running" }));
      }
      expect(() => store.putContainer(newContainerRecord({ id: "more" }))).toThrow(StoreFullError);
      for (const q of [p, ...live]) await release(q);
    }, scaled(20_000));
  });

  describe("lock", () => {
    test("a waiter gives up after its deadline; a killed holder's lock is free at once", async () => {
      const store = open();
      const holder = Bun.spawn([BUN, "-e", `
        const { DirLock } = await import(${JSON.stringify(join(REPO, "lib/store/lock.ts"))});
        const l = new DirLock(${JSON.stringify(store.dir)});
        l.hold(() => { console.log("held"); Bun.sleepSync(60_000); });`], { stdout: "pipe", stderr: "inherit" });
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("held");
      const lock = new DirLock(store.dir, 300);
      try {
        const t0 = Date.now();
        expect(() => lock.hold(() => 1)).toThrow(StoreLockTimeoutError);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
        expect(Date.now() - t0).toBeLessThan(scaled(3_000));
        holder.kill("SIGKILL");
        await holder.exited;
        expect(lock.hold(() => 2)).toBe(2);
      } finally {
        lock.close();
      }
    }, scaled(20_000));
  });

  describe("store directory", () => {
    test("a directory hookshim would not have made is refused", () => {
      const name = `hookshim-test-cons-dir-${process.pid}`;
      const dir = join(fx.bpffs, name);
      mkdirSync(dir, { mode: 0o700 });
      try {
        chmodSync(dir, 0o777);
        expect(() => openStore(name, { bpffs: fx.bpffs })).toThrow(StoreDirError);
        expect(() => openStore(name, { bpffs: fx.bpffs })).toThrow(`store ${name}: ${dir} has mode 0777: group or others may write it, refusing to use it`);
        chmodSync(dir, 0o700);
        chownSync(dir, 65534, 65534);
        expect(() => openStore(name, { bpffs: fx.bpffs })).toThrow(`is owned by uid 65534, not 0`);
        expect(() => openExistingStore(name, { bpffs: fx.bpffs })).toThrow(StoreDirError);
        chownSync(dir, 0, 0);
        openStore(name, { bpffs: fx.bpffs }).close(); // as hookshim makes it: fine
      } finally {
        resetStore(name, { bpffs: fx.bpffs });
      }
      const elsewhere = mkdtempSync(join(tmpdir(), "hookshim-not-bpffs-"));
      try {
        expect(() => checkStoreDir("x", elsewhere)).toThrow(`${elsewhere} is not on a bpffs`);
        const link = join(fx.bpffs, `${name}-link`);
        symlinkSync(elsewhere, link);
        expect(() => openStore(`${name}-link`, { bpffs: fx.bpffs })).toThrow("is a symbolic link");
        rmSync(link);
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    }, scaled(20_000));
  });
});
