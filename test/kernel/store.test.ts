// The lifecycle store against the real kernel: exit tracking by the pinned raw tracepoint program,
// the event log under concurrent writers, capacity, pins outliving their loader, reset, the CLI.
// Every test gets its own store in a bpffs mounted for this file, and removes it afterwards.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BpfLink, BpfMap, progFdById, progInfoByFd, programIds, u32, u64 } from "../../lib/bpf/index.ts";
import { close, isErrno } from "../../lib/sys/index.ts";
import {
  PIN, LAYOUT_VERSION, ProcessGoneError, StoreFullError, StoreVersionError, ensureRunning, exitedEventFromWaitStatus, makeEvent, newContainerRecord,
  nsInode, openExistingStore, openStore, resetStore, type Store, type StoreOptions,
} from "../../lib/store/index.ts";
import { describeNeeds } from "../support/prereq.ts";
import { release, storeFixture, waitingShell, type StoreFixture } from "../support/stores.ts";
import { scaled } from "../support/time.ts";

const BUN = process.execPath;
const REPO = join(import.meta.dir, "../..");
const STORE_MODULE = join(REPO, "lib/store/index.ts");

let fx: StoreFixture;
const open = (opts: StoreOptions = {}): Store => fx.open(opts);
const newStoreName = () => fx.newStoreName();

/** Runs TypeScript in a separate bun process with the test's bpffs; returns stdout. */
async function inChild(code: string): Promise<string> {
  const p = Bun.spawn([BUN, "-e", code], {
    env: { ...process.env, HOOKSHIM_BPFFS: fx.bpffs },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, rc] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (rc !== 0) throw new Error(`child failed (${rc}): ${err}`);
  return out;
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describeNeeds(["root", "btf"], "lifecycle store", () => {
  fx = storeFixture("hookshim-test");

  describe("exit tracking", () => {
    for (const [script, expected] of [
      ["exit 0", { exitCode: 0, signal: null, coreDumped: false }],
      ["exit 3", { exitCode: 3, signal: null, coreDumped: false }],
      ["exit 255", { exitCode: 255, signal: null, coreDumped: false }],
    ] as const) {
      test(`a traced process that does "${script}" is recorded exactly`, async () => {
        const store = open();
        const p = waitingShell(script);
        const { existing, replaced, ...task } = store.trace(p.pid);
        expect({ existing, replaced }).toEqual({ existing: false, replaced: undefined });
        expect(store.getTracingTask(p.pid)).toEqual(task);
        expect(task.pidnsIno).toBe(nsInode(process.pid, "pid"));
        await release(p);
        const status = await store.waitExitedEvent(task.traceId, { timeoutMs: 10_000 });
        expect(status).toBeDefined();
        expect(status!.pid).toBe(p.pid);
        expect(exitedEventFromWaitStatus(status!.waitStatus)).toEqual(expected);
        expect(status!.startBoottimeNs).toBeGreaterThan(0n);
        expect(status!.exitedBoottimeNs).toBeGreaterThanOrEqual(status!.startBoottimeNs);
        expect(store.getTracingTask(p.pid)).toBeUndefined(); // the program dropped it
        expect(store.deleteExitedEvent(task.traceId)).toBe(true);
        expect(store.getExitedEvent(task.traceId)).toBeUndefined();
      });
    }

    for (const [signal, number] of [["SIGKILL", 9], ["SIGTERM", 15]] as const) {
      test(`a traced process killed by ${signal} is recorded with the signal`, async () => {
        const store = open();
        const p = Bun.spawn(["/bin/sleep", "1000"], { stdout: "ignore" });
        const { traceId } = store.trace(p.pid);
        p.kill(signal);
        await p.exited;
        const status = await store.waitExitedEvent(traceId, { timeoutMs: 10_000 });
        expect(exitedEventFromWaitStatus(status!.waitStatus)).toEqual({ exitCode: null, signal: number, coreDumped: false });
      });
    }

    test("an untraced process leaves nothing", async () => {
      const store = open();
      const traced = waitingShell("sleep 1000");
      store.trace(traced.pid); // something is traced, just not the process that exits
      const p = waitingShell("exit 4");
      await release(p);
      // The program runs in the exiting task before its parent can reap it: by now it has run.
      expect(store.exitedEvents()).toEqual([]);
      expect(store.tracingTasks().map(([pid]) => pid)).toEqual([traced.pid]);
      traced.kill("SIGKILL");
      await traced.exited;
    });

    test("the same pid in another pid namespace is not recorded, and its stale entry is dropped", async () => {
      const store = open();
      const p = waitingShell("exit 1");
      const realNs = nsInode(p.pid, "pid");
      const { traceId } = store.trace(p.pid, { pidns: realNs + 1 });
      await release(p);
      expect(store.getExitedEvent(traceId)).toBeUndefined();
      expect(store.exitedEvents()).toEqual([]);
      expect(store.getTracingTask(p.pid)).toBeUndefined();
    });

    test("a container init (pid 1 of a new pid namespace) is recorded by its host pid", async () => {
      const store = open();
      const u = Bun.spawn(["unshare", "--pid", "--fork", "/bin/sh", "-c", "read x; exit 7"], { stdin: "pipe", stdout: "ignore" });
      const childPid = await waitFor("the namespaced child", () => {
        const kids = readFileSync(`/proc/${u.pid}/task/${u.pid}/children`, "utf8").trim();
        return kids ? Number(kids.split(" ")[0]) : undefined;
      });
      expect(nsInode(childPid, "pid")).not.toBe(nsInode(process.pid, "pid"));
      const { traceId } = store.trace(childPid);
      u.stdin.write("\n");
      await u.stdin.end();
      await u.exited;
      const status = await store.waitExitedEvent(traceId, { timeoutMs: 10_000 });
      expect(status?.pid).toBe(childPid);
      expect(exitedEventFromWaitStatus(status!.waitStatus).exitCode).toBe(7);
    });

    test("trace traces a process once and refuses one that is already gone", async () => {
      const store = open();
      const p = waitingShell("exit 0");
      const first = store.trace(p.pid);
      expect(first.existing).toBe(false);
      const again = store.trace(p.pid);
      expect(again).toMatchObject({ existing: true, traceId: first.traceId, startTicks: first.startTicks });
      await release(p);
      const gone = Bun.spawn(["/bin/true"]);
      await gone.exited;
      expect(() => store.trace(gone.pid, { pidns: 1 })).toThrow(ProcessGoneError);
      expect(() => store.trace(gone.pid, { pidns: 1 })).toThrow(`pid ${gone.pid} exited before it could be traced`);
      expect(store.getTracingTask(gone.pid)).toBeUndefined();
    });

    test("trace ids are unique across processes", async () => {
      const store = open();
      const code = `import { openStore } from ${JSON.stringify(STORE_MODULE)};
        const s = openStore(${JSON.stringify(store.name)}); const ids = [];
        for (let i = 0; i < 500; i++) ids.push(String(s.newTraceId()));
        console.log(ids.join(" "));`;
      const outs = await Promise.all([inChild(code), inChild(code)]);
      const ids = outs.flatMap((o) => o.trim().split(" "));
      for (let i = 0; i < 500; i++) ids.push(String(store.newTraceId()));
      expect(new Set(ids).size).toBe(1500);
    });

    test("collectExit marks the container stopped with the kernel's status", async () => {
      const store = open();
      const p = waitingShell("exit 42");
      const { traceId } = store.trace(p.pid);
      store.putContainer(newContainerRecord({ id: "c1", name: "one", pid: p.pid, traceId, runtime: "runc", state: "running" }));
      await release(p);
      await store.waitExitedEvent(traceId, { timeoutMs: 10_000 });
      const rec = store.collectExit("c1")!;
      expect(rec).toMatchObject({ id: "c1", state: "stopped", exitCode: 42, signal: null });
      expect(rec.stoppedNs).toBeGreaterThan(rec.createdNs - 1_000_000_000n);
      expect(store.getContainer("c1")).toEqual(rec);
      expect(store.getExitedEvent(traceId)).toBeUndefined();
    });
  });

  describe("event log", () => {
    test("two processes appending 10,000 events each lose none and duplicate none", async () => {
      const store = open({ maxEvents: 32768 });
      const writer = (w: string) => `import { openStore, makeEvent } from ${JSON.stringify(STORE_MODULE)};
        const s = openStore(${JSON.stringify(store.name)});
        for (let i = 0; i < 10000; i++) s.append(makeEvent({ type: "add", id: "${w}-" + i, source: "notifier", pid: i }));
        s.close();`;
      // A follower reads while the writers write; it must end up with exactly the final log.
      const stop = new AbortController();
      const followed: bigint[] = [];
      const following = (async () => {
        for await (const { seq } of store.follow({ signal: stop.signal, intervalMs: 5 })) followed.push(seq);
      })();
      await Promise.all([inChild(writer("a")), inChild(writer("b"))]);

      const { events, lost } = store.readEvents();
      expect(lost).toBe(0n);
      expect(events.length).toBe(20000);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 20000 }, (_, i) => BigInt(i + 1)));
      for (const w of ["a", "b"]) {
        const mine = events.filter((e) => e.event.id.startsWith(w + "-")).map((e) => Number(e.event.id.slice(2)));
        expect(mine).toEqual(Array.from({ length: 10000 }, (_, i) => i)); // each once, in the writer's order
      }
      await waitFor("the follower to catch up", () => (followed.length >= 20000 ? true : undefined));
      stop.abort();
      await following;
      expect(followed).toEqual(events.map((e) => e.seq));
    }, scaled(120_000));

    test("a full log evicts from the tail, the writer says so and a late reader hears what it lost", () => {
      const store = open({ maxEvents: 4 });
      const seqs = [];
      const warnings: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const r = store.append(makeEvent({ type: "created", id: `c${i}`, source: "hook" }));
        seqs.push(r.seq);
        warnings.push(...r.warnings);
      }
      expect(seqs).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
      expect(warnings.length).toBe(2);
      expect(warnings[0]).toContain(`store ${store.name}: event log full (4 events), dropped event 1:`);
      expect(warnings[0]).toContain(" c1 ");
      const all = store.readEvents();
      expect(all.events.map((e) => e.event.id)).toEqual(["c3", "c4", "c5", "c6"]);
      const late = store.readEvents(1n);
      expect(late.lost).toBe(1n);
      expect(late.events.map((e) => e.seq)).toEqual([3n, 4n, 5n, 6n]);
      expect(store.readEvents(6n).events).toEqual([]);
    });
  });

  describe("containers", () => {
    test("a full table evicts the oldest finished record and never a verifiably running one", async () => {
      const store = open({ maxContainers: 3 });
      const live = ["a", "b", "c"].map((id) => ({ id, p: waitingShell("exit 0") }));
      try {
        for (const { id, p } of live) {
          const t = store.trace(p.pid);
          store.putContainer(newContainerRecord({ id, state: "running", pid: p.pid, traceId: t.traceId, pidStartTicks: t.startTicks }));
        }
        let err: unknown;
        try {
          store.putContainer(newContainerRecord({ id: "d" }));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(StoreFullError);
        expect((err as Error).message).toBe(`store ${store.name} is full: 3 running containers`);
        store.updateContainer("b", { state: "stopped", stoppedNs: 2n, exitCode: 0 });
        store.updateContainer("c", { state: "stopped", stoppedNs: 3n, exitCode: 1 });
        const warnings = store.putContainer(newContainerRecord({ id: "d" }));
        expect(warnings).toEqual([`store ${store.name}: container table full (3), evicted finished container b`]);
        expect(store.containers().map((c) => c.id).sort()).toEqual(["a", "c", "d"]);
        // replacing an existing record needs no room
        expect(store.putContainer({ ...store.getContainer("a")!, name: "renamed" })).toEqual([]);
      } finally {
        for (const { p } of live) await release(p);
      }
    });

    test("gc removes finished records older than the age and keeps the rest", async () => {
      const store = open();
      store.putContainer(newContainerRecord({ id: "old", state: "stopped", stoppedNs: 1n }));
      const p = waitingShell("exit 0");
      const t = store.trace(p.pid);
      store.putContainer(newContainerRecord({ id: "live", state: "running", createdNs: 1n, pid: p.pid, traceId: t.traceId }));
      store.putContainer(newContainerRecord({ id: "recent", state: "stopped", stoppedNs: makeEvent({ type: "stopped", id: "x", source: "hook" }).timeNs }));
      store.append(makeEvent({ type: "created", id: "old", source: "hook", timeNs: 1n }));
      store.append(makeEvent({ type: "created", id: "recent", source: "hook" }));
      const r = store.gc(3_600_000_000_000n);
      expect(r).toMatchObject({ containers: 1, events: 1 });
      expect(store.containers().map((c) => c.id).sort()).toEqual(["live", "recent"]);
      expect(store.readEvents().events.map((e) => e.event.id)).toEqual(["recent"]);
      await release(p);
    });

    test("a store with another layout version is refused", () => {
      const store = open();
      const meta = BpfMap.fromPin(join(store.dir, PIN.meta));
      try {
        meta.update(new Uint8Array(4), new Uint8Array([99, 0, 0, 0, 0, 0, 0, 0]));
      } finally {
        meta.close();
      }
      expect(() => openExistingStore(store.name, { bpffs: fx.bpffs })).toThrow(StoreVersionError);
      expect(() => openExistingStore(store.name, { bpffs: fx.bpffs })).toThrow(`store ${store.name} has record layout version 99, this hookshim reads version ${LAYOUT_VERSION}`);
      expect(() => openStore(store.name, { bpffs: fx.bpffs })).toThrow(StoreVersionError);
    });
  });

  describe("pins", () => {
    test("the program and maps outlive the loading process and are found, not reloaded, by the next", async () => {
      const name = newStoreName();
      const code = `import { ensureRunning } from ${JSON.stringify(STORE_MODULE)};
        console.log(JSON.stringify(ensureRunning(${JSON.stringify(name)})));`;
      const first = JSON.parse(await inChild(code));
      expect(first.loaded).toBe(true);
      const dir = join(fx.bpffs, name);
      expect(readdirSync(dir).sort()).toEqual(Object.values(PIN).sort());

      // the loader is gone; its link is pinned and its program alive
      const link = BpfLink.fromPin(join(dir, PIN.exitLink));
      const info = link.info();
      link.close();
      expect(info).toMatchObject({ id: first.linkId, progId: first.progId, tpName: "sched_process_exit" });
      const progFd = progFdById(first.progId);
      const tracingId = BpfMap.fromPin(join(dir, PIN.tracing));
      expect(progInfoByFd(progFd).mapIds).toContain(tracingId.info().id);
      close(progFd);

      const second = JSON.parse(await inChild(code));
      expect(second).toEqual({ ...first, loaded: false });
      const again = ensureRunning(name, { bpffs: fx.bpffs });
      expect(again.loaded).toBe(false);
      // exactly one exit program uses this store's maps
      const users = [...programIds()].filter((id) => {
        try {
          const fd = progFdById(id);
          try {
            return progInfoByFd(fd).mapIds.includes(tracingId.info().id);
          } finally {
            close(fd);
          }
        } catch (e) {
          if (isErrno(e, "ENOENT")) return false;
          throw e;
        }
      });
      tracingId.close();
      expect(users).toEqual([first.progId]);

      // and it tracks exits for a process that never loaded anything
      const store = openStore(name, { bpffs: fx.bpffs });
      fx.track(store);
      const p = waitingShell("exit 9");
      const { traceId } = store.trace(p.pid);
      await release(p);
      expect(exitedEventFromWaitStatus((await store.waitExitedEvent(traceId))!.waitStatus).exitCode).toBe(9);
    });

    test("a program bound to maps that were replaced is reloaded onto the new ones", async () => {
      const name = newStoreName();
      const first = ensureRunning(name, { bpffs: fx.bpffs });
      rmSync(join(fx.bpffs, name, PIN.tracing)); // what a partial cleanup by hand would leave
      const second = ensureRunning(name, { bpffs: fx.bpffs });
      expect(second.loaded).toBe(true);
      expect(second.progId).not.toBe(first.progId);
      const store = openStore(name, { bpffs: fx.bpffs });
      fx.track(store);
      const p = waitingShell("exit 5");
      const { traceId } = store.trace(p.pid);
      await release(p);
      expect(exitedEventFromWaitStatus((await store.waitExitedEvent(traceId))!.waitStatus).exitCode).toBe(5);
    });

    test("reset leaves no pins behind and the program goes", async () => {
      const name = newStoreName();
      const { linkId, dir } = ensureRunning(name, { bpffs: fx.bpffs });
      expect(resetStore(name, { bpffs: fx.bpffs })).toBe(true);
      expect(existsSync(dir)).toBe(false);
      expect(readdirSync(fx.bpffs).filter((e) => e === name)).toEqual([]);
      await waitFor("the link to be released", () => {
        try {
          BpfLink.fromId(linkId).close();
          return undefined;
        } catch (e) {
          if (isErrno(e, "ENOENT")) return true;
          throw e;
        }
      });
      expect(resetStore(name, { bpffs: fx.bpffs })).toBe(false);
    });
  });

  describe("CLI", () => {
    async function cli(...args: string[]): Promise<{ rc: number; out: string; err: string }> {
      const p = Bun.spawn([BUN, join(REPO, "main.ts"), ...args], {
        env: { ...process.env, HOOKSHIM_BPFFS: fx.bpffs },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, rc] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { rc, out, err };
    }

    test("ps, events, store gc and store reset", async () => {
      const store = open();
      store.putContainer(newContainerRecord({ id: "web1", name: "web", pid: 0, state: "stopped", exitCode: 3, runtime: "runc", stoppedNs: 1n }));
      store.append(makeEvent({ type: "created", id: "web1", name: "web", source: "hook", timeNs: 1795302301123456789n, runtime: "runc" }));

      // running containers by default (docker and podman's ps), all of them with -a
      const running = await cli("--store", store.name, "ps", "--json");
      expect(running.rc).toBe(0);
      expect(running.out.split("\n").filter(Boolean).map((l) => JSON.parse(l).id)).not.toContain("web1");
      // global options anywhere on the line
      const ps = await cli("ps", "-a", "--store", store.name);
      expect(ps.rc).toBe(0);
      expect(ps.out.split("\n")[1]).toMatch(/^web1\s+web\s+-\s+stopped\s+3\s+runc\s+/);
      // store records come first; running containers on this host only the registry knows may follow
      const psJson = await cli("--store", store.name, "ps", "--all", "--json");
      const psRows = psJson.out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
      expect(psRows[0]).toMatchObject({ id: "web1", state: "stopped", exitCode: 3, signal: null, source: "hook" });
      expect(psRows.slice(1).every((r) => r.source === "registry" && r.state === "running")).toBe(true);

      const ev = await cli("--store", store.name, "events", "--json");
      expect(ev.out).toBe(
        '{"time":"2026-11-21T23:05:01.123456789Z","type":"created","id":"web1","name":"web","pid":0,"bundle":"",' +
          '"runtime":"runc","cgroup":"","exitCode":null,"signal":null,"source":"hook"}\n',
      );

      const follower = Bun.spawn([BUN, join(REPO, "main.ts"), "--store", store.name, "events", "--follow"], {
        env: { ...process.env, HOOKSHIM_BPFFS: fx.bpffs },
        stdout: "pipe",
      });
      store.append(makeEvent({ type: "stopped", id: "web1", source: "hook", exitCode: 3 }));
      const reader = follower.stdout.getReader();
      let text = "";
      while (text.split("\n").length < 3) text += new TextDecoder().decode((await reader.read()).value);
      follower.kill("SIGTERM");
      expect(await follower.exited).toBe(0);
      expect(text.split("\n")[1]).toContain("stopped   web1 exit=3 source=hook");

      const bad = await cli("--store", store.name, "store", "gc", "--older-than", "soon");
      expect(bad.rc).toBe(2);
      expect(bad.err).toBe('hookshim store gc: --older-than: "soon" is not a duration (e.g. 1s, 500ms)\n');
      const gc = await cli("--store", store.name, "store", "gc", "--older-than", "1h");
      expect(gc.out).toContain("removed 1 containers");
      expect(store.containers()).toEqual([]);

      const reset = await cli("--store", store.name, "store", "reset");
      expect(reset.out).toBe(`store ${store.name}: removed\n`);
      expect(existsSync(store.dir)).toBe(false);
      const empty = await cli("--store", store.name, "ps", "--json");
      expect({ ...empty, out: "" }).toEqual({ rc: 0, out: "", err: "" });
      expect(empty.out.split("\n").filter(Boolean).map((l) => JSON.parse(l).source).filter((x) => x !== "registry")).toEqual([]);
      expect(existsSync(store.dir)).toBe(false); // ps does not create the store
    });
  });

  describe("the configuration's store, bpffs and capacity reach every tool", () => {
    test("ps, events, the snapshot gadget and store reset read the store hookshim's config names (no --store)", async () => {
      const store = open();
      store.putContainer(newContainerRecord({ id: "cfg1", name: "configured", pid: 0, state: "stopped", exitCode: 4, runtime: "runc", stoppedNs: 1n }));
      store.append(makeEvent({ type: "created", id: "cfg1", name: "configured", source: "hook", timeNs: 1n, runtime: "runc" }));
      const config = join(fx.bpffs, "..", `${store.name}.config.json`);
      writeFileSync(config, JSON.stringify({ store: store.name, bpffs: fx.bpffs }));
      // no HOOKSHIM_BPFFS and no --store: only the configuration says where the store is
      const run = async (...args: string[]) => {
        const env: Record<string, string | undefined> = { ...process.env, HOOKSHIM_CONFIG: config };
        delete env.HOOKSHIM_BPFFS;
        const p = Bun.spawn([BUN, join(REPO, "main.ts"), ...args], { env, stdout: "pipe", stderr: "pipe" });
        const [out, err, rc] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
        return { rc, out, err };
      };
      try {
        const ps = await run("ps", "-a", "--json");
        expect(ps.err).toBe("");
        expect(JSON.parse(ps.out.split("\n")[0]!)).toMatchObject({ id: "cfg1", name: "configured", exitCode: 4 });
        const ev = await run("events", "--json");
        expect(ev.out).toContain('"id":"cfg1"');
        const snap = await run("snapshot", "containers", "--all", "-o", "json");
        expect(snap.err).toBe("");
        expect(snap.out).toContain('"containerId":"cfg1"');
        const reset = await run("store", "reset");
        expect(reset.out).toBe(`store ${store.name}: removed\n`);
        expect(existsSync(store.dir)).toBe(false);
      } finally {
        rmSync(config, { force: true });
      }
    });

    test("the notifier writes the store its configuration names, in the configured fx.bpffs (it once wrote the default store)", async () => {
      const name = `hookshim-test-notifier-cfg-${process.pid}`;
      const config = join(fx.bpffs, "..", `${name}.config.json`);
      writeFileSync(config, JSON.stringify({ store: name, bpffs: fx.bpffs }));
      const env: Record<string, string | undefined> = { ...process.env, HOOKSHIM_CONFIG: config };
      delete env.HOOKSHIM_BPFFS;
      const p = Bun.spawn([BUN, join(REPO, "main.ts"), "notifier", "--json", "--runtime-path", "/usr/sbin/runc"], { env, stdout: "ignore", stderr: "pipe" });
      try {
        await waitFor("the notifier to create its store", () => existsSync(join(fx.bpffs, name, "containers")) || undefined, 20_000);
      } finally {
        p.kill("SIGTERM");
        await p.exited;
        resetStore(name, { bpffs: fx.bpffs });
        rmSync(config, { force: true });
      }
    }, scaled(30_000));
  });

  describe("cgroup-id filter map", () => {
    test("pinned with the store; filter/unfilter; the registry fills it", async () => {
      const s = open();
      s.filterCgroup(4242n);
      const pinned = BpfMap.fromPin(join(s.dir, PIN.cgroups));
      try {
        expect(u32.decode(pinned.lookup(u64.encode(4242n))!)).toBe(1);
        expect(s.unfilterCgroup(4242n)).toBe(true);
        expect(s.unfilterCgroup(4242n)).toBe(false);
        expect(pinned.lookup(u64.encode(4242n))).toBeUndefined();
        // tracee's PopulateBpfMap into it: keys are u64 cgroup ids, values u32 1
        const fake = { update: (k: Uint8Array, v: Uint8Array) => s.cgroupFilter.update(k, v) };
        fake.update(u64.encode(7n), u32.encode(1));
        expect([...pinned.keys()].map((k) => u64.decode(k))).toEqual([7n]);
      } finally {
        pinned.close();
      }
    });
  });
});
