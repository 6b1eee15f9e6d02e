// hookshim's hooks under podman, registered with the hooks.d file `hookshim install --hooks-dir` writes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds } from "../support/prereq.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { openExistingStore, resetStore, type LifecycleEvent } from "../../lib/store/index.ts";
import { busyboxRootfs, hookshim, hookshimExecutable, run, writeTestConfig, type HookshimExecutable, storeEvents } from "./hooks-harness.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";


let counter = 0;
const uniq = (what: string) => `hkp-${what}-${process.pid}-${++counter}`;

describeNeeds(["root", "podman", "runc", "busybox", "cgroup2", "btf"], "hooks under podman (hooks.d)", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-podman-${process.pid}-`));
  const hooksDir = join(tmp, "hooks.d");
  const store = uniq("store");
  const config = join(tmp, "hookshim.json");
  let exe: HookshimExecutable;
  let rootfs: string;
  // private storage so the test touches nothing of the host's podman
  const podmanBase = ["podman", "--root", join(tmp, "storage"), "--runroot", join(tmp, "run"), "--storage-driver", "vfs",
    "--cgroup-manager=cgroupfs", "--runtime=runc", "--hooks-dir", hooksDir];
  const runArgs = ["--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

  beforeAll(async () => {
    exe = hookshimExecutable(tmp);
    if (!exe.compiled) console.warn(`hooks podman e2e: compiled build failed (${exe.buildError}); using ${exe.path}`);
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: `/hookshim-test-podman-${process.pid}` });
    const r = await hookshim(["--config", config, "install", "--hooks-dir", hooksDir, "--binary", exe.path]);
    expect(r.code).toBe(0);
  }, scaled(120_000));

  afterAll(async () => {
    await run([...podmanBase, "rm", "-af", "-t", "0"]);
    resetStore(store);
    rmSync(tmp, { recursive: true, force: true });
  });

  const events = (id: string): LifecycleEvent[] => storeEvents(store, id);

  async function podmanRun(script: string): Promise<{ code: number; err: string; id: string }> {
    const cidfile = join(tmp, `${uniq("cid")}`);
    const r = await run([...podmanBase, "run", "--rm", "--cidfile", cidfile, ...runArgs, "--rootfs", rootfs, "sh", "-c", script]);
    return { code: r.code, err: r.err, id: readFileSync(cidfile, "utf8").trim() };
  }

  test("the hooks.d file runs `hook auto` for prestart and poststop", () => {
    const def = JSON.parse(readFileSync(join(hooksDir, "hookshim.json"), "utf8"));
    expect(def).toEqual({
      version: "1.0.0",
      hook: { path: exe.path, args: ["hookshim", "--config", config, "hook", "auto"] },
      when: { always: true },
      stages: ["prestart", "poststop"],
    });
  });

  test("exit 7 is recorded as exitCode 7 in podman's cgroup", async () => {
    const r = await podmanRun("exit 7");
    expect(r.err).toBe("");
    expect(r.code).toBe(7);
    const evs = events(r.id);
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    expect(evs[0]!.cgroup).toBe(`${cgroupMount().mountpoint}/libpod_parent/libpod-${r.id}`);
    expect(evs[1]).toMatchObject({ exitCode: 7, signal: null, source: "hook" });
  });

  test("the policy's /dev/zero deny applies; /dev/null still works", async () => {
    const r = await podmanRun("head -c1 /dev/null || exit 3; head -c1 /dev/zero >/dev/null");
    expect(r.code).toBe(1);
    expect(r.err).toContain("/dev/zero: Operation not permitted");
    expect(events(r.id).at(-1)).toMatchObject({ type: "stopped", exitCode: 1 });
  });

  test("SIGKILL is recorded as signal 9; removal leaves no cgroup and no tracing entry", async () => {
    const name = uniq("kill");
    const started = await run([...podmanBase, "run", "-d", "--name", name, ...runArgs, "--rootfs", rootfs, "sleep", "1000"]);
    expect(started.code).toBe(0);
    const id = started.out.trim();
    const created = events(id);
    expect(created.map((e) => e.type)).toEqual(["created"]);
    const pid = created[0]!.pid;
    expect((await run([...podmanBase, "kill", "-s", "KILL", name])).code).toBe(0);
    await run([...podmanBase, "wait", name]);
    const rm = await run([...podmanBase, "rm", name]);
    expect(rm.code).toBe(0);
    expect(events(id).map((e) => [e.type, e.exitCode, e.signal])).toEqual([["created", null, null], ["stopped", null, 9]]);
    expect(existsSync(created[0]!.cgroup)).toBe(false);
    const s = openExistingStore(store);
    expect(s.getTracingTask(pid)).toBeUndefined();
    s.close();
  }, scaled(30_000));
});

// podman and containerd leave /libpod_parent and /default behind in every hierarchy; registered last so
// it runs after the file's own clean-up has removed its containers
afterAll(rememberRuntimeCgroups(), 10_000);
