// hookshim's OCI hooks under real runc: config.json hooks written by `hookshim install --bundle`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds } from "../support/prereq.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { DEVICE_PROGRAM_NAME, readDeviceFilters } from "../../lib/devices/index.ts";
import { progFdById, u64 } from "../../lib/bpf/index.ts";
import { close, isErrno } from "../../lib/sys/index.ts";
import { openExistingStore } from "../../lib/store/index.ts";
import { busyboxRootfs, hookshim, hookshimExecutable, runc, runcBundle, runcDetached, writeTestConfig, type HookshimExecutable, removeRuncRun, storeEvents } from "./hooks-harness.ts";
import { burst, scaled } from "../support/time.ts";

let counter = 0;
const uniq = (what: string) => `hk-${what}-${process.pid}-${++counter}`;

describeNeeds(["root", "runc", "busybox", "cgroup2", "btf"], "hooks under runc", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-e2e-${process.pid}-`));
  const runcRoot = join(tmp, "runc-root");
  const parent = `/hookshim-test-hooks-${process.pid}`;
  const store = uniq("store");
  const config = join(tmp, "hookshim.json");
  let exe: HookshimExecutable;
  let rootfs: string;

  beforeAll(() => {
    exe = hookshimExecutable(tmp);
    if (!exe.compiled) console.warn(`hooks e2e: compiled build failed (${exe.buildError}); using ${exe.path}`);
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: parent });
  }, scaled(120_000));

  afterAll(() => removeRuncRun({ runcRoot, parent, store, tmp }));

  /** A bundle whose config.json runs hookshim's hooks (installed through the CLI). */
  async function hookedBundle(id: string, args: string[]): Promise<string> {
    const bundle = runcBundle(tmp, id, rootfs, args, `${parent}/${id}`);
    const r = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", exe.path]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    return bundle;
  }

  const events = (id: string) => storeEvents(store, id);

  async function waitStopped(id: string): Promise<void> {
    for (let i = 0; i < 2000; i++) {
      const st = await runc(runcRoot, "state", id);
      if (st.code === 0 && JSON.parse(st.out).status === "stopped") return;
      await Bun.sleep(10);
    }
    throw new Error(`${id} did not stop`);
  }

  test("install --bundle is idempotent and keeps the config valid", async () => {
    const id = uniq("idem");
    const bundle = await hookedBundle(id, ["true"]);
    const again = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", exe.path]);
    expect(again.out).toContain("already runs hookshim's hooks");
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    expect(cfg.hooks.prestart).toEqual([{ path: exe.path, args: ["hookshim", "--config", config, "hook", "prestart"] }]);
    expect(cfg.hooks.poststop).toEqual([{ path: exe.path, args: ["hookshim", "--config", config, "hook", "poststop"] }]);
    expect((await hookshim(["validate", "--kind", "config", join(bundle, "config.json")])).code).toBe(0);
  });

  test("exit 7 is recorded as exitCode 7, with created before stopped", async () => {
    const id = uniq("exit7");
    const bundle = await hookedBundle(id, ["sh", "-c", "exit 7"]);
    const r = await runc(runcRoot, "run", "--bundle", bundle, id);
    expect(r.err).toBe("");
    expect(r.code).toBe(7);
    const evs = events(id);
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    expect(evs[0]!.pid).toBeGreaterThan(0);
    expect(evs[0]!.runtime).toBe("runc");
    expect(evs[0]!.cgroup).toBe(`${cgroupMount().mountpoint}${parent}/${id}`);
    expect(evs[1]).toMatchObject({ exitCode: 7, signal: null, source: "hook", pid: evs[0]!.pid });
  });

  test("the device filter is on the container's cgroup; SIGKILL is recorded; delete leaves nothing", async () => {
    const id = uniq("kill");
    const bundle = await hookedBundle(id, ["sleep", "1000"]);
    expect(await runcDetached(runcRoot, bundle, id)).toBe(0);
    const dir = `${cgroupMount().mountpoint}${parent}/${id}`;

    // the policy denies /dev/zero; the runtime's defaults still allow /dev/null
    const zero = await runc(runcRoot, "exec", id, "head", "-c1", "/dev/zero");
    expect(zero.code).not.toBe(0);
    expect(zero.err).toContain("Operation not permitted");
    const nul = await runc(runcRoot, "exec", id, "head", "-c1", "/dev/null");
    expect(nul.err).toBe("");
    expect(nul.code).toBe(0);

    const filters = readDeviceFilters(dir);
    // one program: the host policy's deny of /dev/zero first, then the container's list
    expect(filters.map((f) => [f.name, f.hookshim])).toEqual([[DEVICE_PROGRAM_NAME, true]]);
    expect(filters[0]!.filter!.hostDenies).toHaveLength(1);
    const progId = filters[0]!.id;
    const s = openExistingStore(store);
    const rec = s.getContainer(id)!;
    expect(rec).toMatchObject({ state: "created", cgroupPath: dir, cgroupCreated: false });
    expect(s.getTracingTask(rec.pid)?.traceId).toBe(rec.traceId);
    // the container's cgroup is in the store's kernel-side filter while it runs
    expect(s.cgroupFilter.lookup(u64.encode(rec.cgroupId))).toBeDefined();
    s.close();

    expect((await runc(runcRoot, "kill", id, "KILL")).code).toBe(0);
    await waitStopped(id);
    const del = await runc(runcRoot, "delete", id);
    expect(del.err).toBe("");
    expect(del.code).toBe(0);

    expect(events(id).map((e) => [e.type, e.exitCode, e.signal])).toEqual([["created", null, null], ["stopped", null, 9]]);
    expect(existsSync(dir)).toBe(false);
    const after = openExistingStore(store);
    expect(after.getTracingTask(rec.pid)).toBeUndefined();
    expect(after.cgroupFilter.lookup(u64.encode(rec.cgroupId))).toBeUndefined();
    expect(after.getContainer(id)).toMatchObject({ state: "stopped", signal: 9 });
    after.close();
    // the kernel frees a detached program once its last reference (the cgroup's) is gone
    let gone = false;
    for (let i = 0; i < 500 && !gone; i++) {
      try {
        close(progFdById(progId));
        await Bun.sleep(10);
      } catch (e) {
        if (!isErrno(e, "ENOENT")) throw e;
        gone = true;
      }
    }
    expect(gone).toBe(true);
  });

  const BURST = burst(50);
  test(`${BURST} containers, 8 at a time: ${BURST} created and ${BURST} stopped, each with its exit code`, async () => {
    const ids = Array.from({ length: BURST }, (_, i) => ({ id: uniq(`many${i}`), code: (i * 5) % 256 }));
    const bundles = new Map<string, string>();
    for (const { id, code } of ids) bundles.set(id, await hookedBundle(id, ["sh", "-c", `exit ${code}`]));
    let next = 0;
    const results = new Map<string, number>();
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const { id } = ids[next++]!;
        const r = await runc(runcRoot, "run", "--bundle", bundles.get(id)!, id);
        if (r.err) throw new Error(`${id}: ${r.err}`);
        results.set(id, r.code);
      }
    }));
    for (const { id, code } of ids) {
      expect(results.get(id)).toBe(code);
      const evs = events(id);
      expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
      expect(evs[1]!.exitCode).toBe(code);
      expect(evs[1]!.signal).toBeNull();
    }
  }, scaled(120_000));
});
