// crun end to end on a pure cgroup v2 host (crun 1.8 refuses hybrid ones): hookshim's hooks in a
// bundle crun runs, the runtime shim with crun as its lower runtime, and the notifier following
// crun's create/start/delete and `crun run` through its argv and its state directory.
import { afterAll, afterEach, beforeAll, expect } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { CRUN, busyboxRootfs, runcBundle } from "../support/bundle.ts";
import { NotifierProcess, expectRecordIds, killLiveNotifiers } from "../support/notifier.ts";
import { removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { hookshim, hookshimExecutable, run, writeTestConfig, type HookshimExecutable } from "../e2e/hooks-harness.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { readDeviceFilters } from "../../lib/devices/index.ts";
import { openExistingStore, resetStore, type LifecycleEvent } from "../../lib/store/index.ts";

let counter = 0;
const uniq = (what: string) => `crun-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `crun-v2-${process.pid}-`));
const parent = `/hookshim-test-crun-${process.pid}`;
const crunRoot = join(tmp, "crun-root");
const stores: string[] = [];
/** ids started under crun's default root (/run/crun), deleted at the end */
const defaultRootIds: string[] = [];

afterEach(killLiveNotifiers);
afterAll(async () => {
  await killLiveNotifiers();
  for (const root of [crunRoot, undefined]) {
    const list = Bun.spawnSync([CRUN, ...(root ? ["--root", root] : []), "list", "-q"], { stderr: "ignore" });
    const ids = list.stdout.toString().split("\n").filter(Boolean);
    for (const id of root ? ids : ids.filter((i) => defaultRootIds.includes(i))) Bun.spawnSync([CRUN, ...(root ? ["--root", root] : []), "delete", "--force", id]);
  }
  removeGroupEverywhere(parent);
  for (const s of stores) resetStore(s);
  rmSync(tmp, { recursive: true, force: true });
});

function newStore(): string {
  const s = uniq("store");
  stores.push(s);
  return s;
}

/** crun with its state under this file's root; the container's stdio goes nowhere. */
function crun(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return run([CRUN, "--root", crunRoot, ...args]);
}

async function crunDetached(...args: string[]): Promise<number> {
  return Bun.spawn([CRUN, "--root", crunRoot, ...args], { stdio: ["ignore", "ignore", "ignore"] }).exited;
}

function storeEvents(store: string, id: string): LifecycleEvent[] {
  const s = openExistingStore(store);
  try {
    return s.readEvents().events.map((e) => e.event).filter((e) => e.id === id);
  } finally {
    s.close();
  }
}

describeNeeds(["root", "crun", "busybox", "cgroup2-pure", "btf", "bpffs"], "crun on pure cgroup v2", () => {
  let exe: HookshimExecutable;
  let rootfs: string;
  beforeAll(() => {
    exe = hookshimExecutable(tmp);
    if (!exe.compiled) throw new Error(`bun build failed: ${exe.buildError}`);
    rootfs = busyboxRootfs(tmp);
  }, 600_000);

  const bundle = (id: string, args: string[]) => runcBundle(tmp, id, rootfs, args, `${parent}/${id}`, CRUN);

  needs("root")("hooks: crun run records created and stopped with the exit code and leaves no cgroup", async () => {
    const store = newStore();
    const config = writeTestConfig(join(tmp, `${store}.json`), { store, cgroupParent: parent });
    const id = uniq("exit7");
    const b = bundle(id, ["sh", "-c", "exit 7"]);
    const inst = await hookshim(["--config", config, "install", "--bundle", b, "--binary", exe.path]);
    expect(inst.code).toBe(0);
    const r = await crun("run", "--bundle", b, id);
    expect(r.err).toBe("");
    expect(r.code).toBe(7);
    const evs = storeEvents(store, id);
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    const dir = `${cgroupMount().mountpoint}${parent}/${id}`;
    expect(evs[0]).toMatchObject({ runtime: "crun", cgroup: dir, source: "hook" });
    expect(evs[0]!.pid).toBeGreaterThan(0);
    expect(evs[1]).toMatchObject({ exitCode: 7, signal: null, pid: evs[0]!.pid, source: "hook" });
    expect(existsSync(dir)).toBe(false);
  });

  needs("root")("hooks: the device filter decides inside a crun container, and delete leaves nothing", async () => {
    const store = newStore();
    const config = writeTestConfig(join(tmp, `${store}.json`), { store, cgroupParent: parent });
    const id = uniq("dev");
    const b = bundle(id, ["sleep", "1000"]);
    expect((await hookshim(["--config", config, "install", "--bundle", b, "--binary", exe.path])).code).toBe(0);
    expect(await crunDetached("run", "--detach", "--bundle", b, id)).toBe(0);
    const dir = `${cgroupMount().mountpoint}${parent}/${id}`;
    // the policy denies reading /dev/zero; the runtime's defaults still allow /dev/null
    const zero = await crun("exec", id, "head", "-c1", "/dev/zero");
    expect(zero.code).not.toBe(0);
    expect(zero.err).toContain("Operation not permitted");
    const nul = await crun("exec", id, "head", "-c1", "/dev/null");
    expect(nul.code).toBe(0);
    // hookshim's filter is the one attached (it replaced crun's own)
    expect(readDeviceFilters(dir).map((f) => f.hookshim)).toEqual([true]);
    const s = openExistingStore(store);
    expect(s.getContainer(id)).toMatchObject({ state: "created", cgroupPath: dir, runtime: "crun" });
    s.close();
    expect((await crun("kill", id, "KILL")).code).toBe(0);
    for (let i = 0; i < 500 && JSON.parse((await crun("state", id)).out || "{}").status !== "stopped"; i++) await Bun.sleep(20);
    expect((await crun("delete", id)).code).toBe(0);
    expect(storeEvents(store, id).map((e) => [e.type, e.exitCode, e.signal])).toEqual([["created", null, null], ["stopped", null, 9]]);
    expect(existsSync(dir)).toBe(false);
  });

  needs("root")("shim: crun as the lower runtime runs the hooks.d hooks; the exit code is recorded", async () => {
    const store = newStore();
    const hooksDir = join(tmp, uniq("hooks.d"));
    const config = join(tmp, `${store}.json`);
    writeTestConfig(config, { store, cgroupParent: parent });
    const cfg = JSON.parse(readFileSync(config, "utf8"));
    writeFileSync(config, JSON.stringify({ ...cfg, hooksDirs: [hooksDir], runtime: { path: CRUN, injectHookshimHooks: false } }));
    const inst = await hookshim(["--config", config, "install", "--hooks-dir", hooksDir, "--binary", exe.path]);
    expect(inst.code).toBe(0);
    const shim = join(tmp, "hookshim-runtime");
    if (!existsSync(shim)) symlinkSync(exe.path, shim);
    const id = uniq("shim");
    const b = bundle(id, ["sh", "-c", "exit 5"]);
    const p = Bun.spawn([shim, "--root", crunRoot, "run", "--bundle", b, id], {
      env: { ...process.env, HOOKSHIM_CONFIG: config },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(err).toBe("");
    expect(code).toBe(5);
    // the shim put the hooks.d hooks into the bundle before crun read it
    const hooks = JSON.parse(readFileSync(join(b, "config.json"), "utf8")).hooks;
    expect(hooks.prestart?.map((h: { path: string }) => h.path)).toContain(exe.path);
    const evs = storeEvents(store, id);
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    expect(evs[0]).toMatchObject({ runtime: "crun" });
    expect(evs[1]).toMatchObject({ exitCode: 5, signal: null });
    expect(existsSync(`${cgroupMount().mountpoint}${parent}/${id}`)).toBe(false);
  });

  needs("root")("notifier: crun create/start/delete gives precreate, add and remove with the exit code", async () => {
    const n = new NotifierProcess(newStore());
    await n.start();
    const id = uniq("ntf");
    const b = bundle(id, ["sh", "-c", "exit 7"]);
    const pidFile = join(tmp, `${id}.pid`);
    expect(await crunDetached("create", "--bundle", b, "--pid-file", pidFile, id)).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await n.waitFor(() => n.of(id, "add").length === 1, "add");
    // the record has the container's cgroup id and namespaces (created, not started: it is alive)
    expectRecordIds(n.store, id, pid);
    expect((await crun("start", id)).code).toBe(0);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    expect((await crun("delete", id)).code).toBe(0);
    expect(n.of(id).map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
    expect(n.of(id, "precreate")[0]).toMatchObject({ id, name: id, bundle: b, runtime: "crun", source: "notifier" });
    expect(n.of(id, "add")[0]).toMatchObject({ pid, bundle: b, runtime: "crun", cgroup: `${cgroupMount().mountpoint}${parent}/${id}` });
    expect(n.of(id, "remove")[0]).toMatchObject({ pid, exitCode: 7, signal: null });
  });

  needs("root")("notifier: crun run without a pid file is followed through /run/crun/<id>/status", async () => {
    const n = new NotifierProcess(newStore());
    await n.start();
    const id = uniq("run");
    defaultRootIds.push(id);
    const b = bundle(id, ["sh", "-c", "sleep 0.5; exit 4"]);
    const r = await run([CRUN, "run", "--bundle", b, id]);
    expect(r.code).toBe(4);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    expect(n.errors.filter((e) => e.id === id)).toEqual([]);
    expect(n.of(id).map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
    expect(n.of(id, "add")[0]!.pid).toBeGreaterThan(0);
    expect(n.of(id, "remove")[0]).toMatchObject({ exitCode: 4, signal: null, runtime: "crun" });
  });
});
