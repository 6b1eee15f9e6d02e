// Upgrading a store written by hookshim's first release (record layout 1) in place, against the real
// kernel: a running container's record and its exit tracking survive the upgrade, and the exit
// program is loaded again on the converted maps.
//
// The layout-1 store is made here from a current one by converting its maps back (the layout-1
// sizes are lib/store/migrate.ts V1, the sizes hookshim 1 pinned); building the first release to
// write it would test the same bytes at many times the cost.
import { expect, test } from "bun:test";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, MapType } from "../../lib/bpf/index.ts";
import {
  LAYOUT_VERSION, PIN, StoreVersionError, newContainerRecord, openExistingStore, openStore, type Store,
} from "../../lib/store/index.ts";
import { Meta, META } from "../../lib/store/eventlog.ts";
import { V1 } from "../../lib/store/migrate.ts";
import { liveStartTicks } from "../../lib/store/process.ts";
import { describeNeeds } from "../support/prereq.ts";
import { release, storeFixture, waitingShell } from "../support/stores.ts";

/** Replaces the pin `pin` in `dir` by a map of `valueSize`-byte values holding `convert` of each entry. */
function rewritePin(dir: string, pin: string, valueSize: number, maxEntries: number, convert: (v: Uint8Array) => Uint8Array): void {
  const cur = BpfMap.fromPin(join(dir, pin));
  const next = BpfMap.create({ type: MapType.HASH, keySize: cur.keySize, valueSize, maxEntries, name: "hs_v1" });
  try {
    for (const [k, v] of cur.entries()) next.update(k, convert(v));
    next.pin(join(dir, `${pin}_v1`));
    renameSync(join(dir, `${pin}_v1`), join(dir, pin));
  } finally {
    next.close();
    cur.close();
  }
}

const toV1Container = (v: Uint8Array) => {
  const out = new Uint8Array(V1.containerRecordSize);
  out.set(v.subarray(0, V1.pidStartTicksAt), 0);
  out.set(v.subarray(V1.pidStartTicksAt + 8), V1.pidStartTicksAt);
  return out;
};

function setVersion(dir: string, version: number): void {
  const meta = BpfMap.fromPin(join(dir, PIN.meta));
  try {
    new Meta(meta).set(META.version, BigInt(version));
  } finally {
    meta.close();
  }
}

describeNeeds(["root", "btf"], "store layout upgrade", () => {
  const fx = storeFixture("hookshim-migrate");

  /** A store in layout 1 holding one running container traced by its init (a waiting shell). */
  function layout1Store(opts: { convertContainers: boolean }) {
    const name = fx.newStoreName();
    const p = waitingShell("exit 7");
    const s = openStore(name, { bpffs: fx.bpffs });
    const task = s.trace(p.pid);
    const record = newContainerRecord({ id: "web", name: "web-1", state: "running", pid: p.pid, createdNs: 5n, traceId: task.traceId, runtime: "runc" });
    s.putContainer(record);
    const dir = s.dir;
    s.close();
    if (opts.convertContainers) rewritePin(dir, PIN.containers, V1.containerRecordSize, 64, toV1Container);
    rewritePin(dir, PIN.tracing, V1.tracingValueSize, 64, (v) => v.slice(0, V1.tracingValueSize));
    setVersion(dir, 1);
    return { name, dir, p, task, record };
  }

  test("readers refuse a layout-1 store and say the next writer upgrades it", async () => {
    const { name, p } = layout1Store({ convertContainers: true });
    try {
      let err: unknown;
      try {
        openExistingStore(name, { bpffs: fx.bpffs }).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StoreVersionError);
      expect((err as Error).message).toContain(`store ${name} has record layout version 1, this hookshim reads version ${LAYOUT_VERSION}`);
      expect((err as Error).message).toContain("the next writer upgrades it in place");
    } finally {
      await release(p);
    }
  });

  test("a writer upgrades it in place: records, capacity and exit tracking survive", async () => {
    const { name, dir, p, task, record } = layout1Store({ convertContainers: true });
    let s: Store | undefined;
    try {
      s = fx.track(openStore(name, { bpffs: fx.bpffs }));
      const got = s.getContainer("web")!;
      expect(got).toBeDefined();
      expect({ ...got, pidStartTicks: 0n }).toEqual({ ...record, pidStartTicks: 0n });
      // The traced process's start time is read while it lives, so gc does not take it for stale.
      expect(s.getTracingTask(p.pid)).toEqual({ traceId: task.traceId, pidnsIno: task.pidnsIno, startTicks: liveStartTicks(p.pid)! });
      for (const pin of [PIN.containers, PIN.tracing]) {
        const m = BpfMap.fromPin(join(dir, pin));
        expect(m.maxEntries).toBe(64); // the store keeps its own capacity
        m.close();
      }
      expect(s.gc(1n).containers).toBe(0);
      expect(s.getTracingTask(p.pid)).toBeDefined();

      // The exit program runs on the converted maps: it drops the migrated entry and records the exit.
      await release(p);
      const status = await s.waitExitedEvent(task.traceId, { timeoutMs: 10_000 });
      expect(status?.pid).toBe(p.pid);
      expect(status!.waitStatus >> 8).toBe(7);
      expect(s.getTracingTask(p.pid)).toBeUndefined();

      // ...and a process traced after the upgrade is tracked too.
      const q = waitingShell("exit 9");
      const t2 = s.trace(q.pid);
      await release(q);
      const s2 = await s.waitExitedEvent(t2.traceId, { timeoutMs: 10_000 });
      expect(s2!.waitStatus >> 8).toBe(9);
    } finally {
      if (p.exitCode === null) await release(p);
    }
  });

  test("an upgrade cut short after one map is finished by the next writer", async () => {
    const { name, p, task } = layout1Store({ convertContainers: false });
    try {
      const s = fx.track(openStore(name, { bpffs: fx.bpffs }));
      expect(s.getContainer("web")?.pid).toBe(p.pid);
      expect(s.getTracingTask(p.pid)?.traceId).toBe(task.traceId);
      const again = openExistingStore(name, { bpffs: fx.bpffs });
      again.close();
    } finally {
      await release(p);
    }
  });

  test("a map in a shape no layout has is refused, not converted", async () => {
    const { name, dir, p } = layout1Store({ convertContainers: true });
    try {
      rewritePin(dir, PIN.containers, 100, 64, (v) => v.slice(0, 100));
      expect(() => openStore(name, { bpffs: fx.bpffs })).toThrow("which no layout has");
    } finally {
      await release(p);
    }
  });
});
