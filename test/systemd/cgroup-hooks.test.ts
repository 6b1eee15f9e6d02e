// With systemd as PID 1 (the vm-systemd lane: `npm run test:vm -- --kernel 6.1 --init systemd test/systemd`):
// the systemd cgroup driver against the real systemd over D-Bus, hookshim's own containers in a
// transient scope, and the hooks on scopes systemd made for runc (--systemd-cgroup), including the
// host policy after `systemctl daemon-reload`.
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { CgroupManager, cgroupMount, isCgroupError, pidGroupPath } from "../../lib/cgroup/index.ts";
import { SystemdCgroup, systemdBooted } from "../../lib/cgroup/systemd.ts";
import { readDeviceFilters } from "../../lib/devices/index.ts";
import { resetStore, type LifecycleEvent } from "../../lib/store/index.ts";
import { busyboxRootfs, hookshim, runc, runcBundle, storeEvents, writeTestConfig, BUN, CLI } from "../e2e/hooks-harness.ts";
import { describeNeeds, needs } from "../support/prereq.ts";

let counter = 0;
const uniq = (what: string) => `hssd-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `systemd-e2e-${process.pid}-`));
const slice = `hstest${process.pid}.slice`;
const store = uniq("store");
const config = join(tmp, "hookshim.json");
const runcRoot = join(tmp, "runc-root");
const root = () => cgroupMount().mountpoint;
const procs: ReturnType<typeof Bun.spawn>[] = [];

function systemctl(...args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["systemctl", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim() + r.stderr.toString().trim() };
}

function sleeper(): number {
  const p = Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore"] });
  procs.push(p);
  return p.pid;
}

const events = (id: string): LifecycleEvent[] => storeEvents(store, id);

async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describeNeeds(["root", "systemd", "runc", "busybox", "bpffs"], "systemd as PID 1", () => {
  let rootfs = "";
  let hookBinary = "";

  beforeAll(() => {
    rootfs = busyboxRootfs(tmp);
    // hookshim's own containers go into scopes in this test's slice
    writeTestConfig(config, { store, cgroupParent: `/hookshim-test-systemd-${process.pid}` });
    const cfg = JSON.parse(readFileSync(config, "utf8"));
    writeFileSync(config, JSON.stringify({ ...cfg, systemdSlice: slice }));
    // the sources, as the runtime's hook command (a compiled build under TCG costs minutes)
    hookBinary = join(tmp, "hookshim");
    writeFileSync(hookBinary, `#!/bin/sh\nexec ${BUN} ${CLI} "$@"\n`, { mode: 0o755 });
  });

  afterAll(async () => {
    for (const p of procs) p.kill(9);
    const listed = await runc(runcRoot, "list", "-q");
    for (const id of listed.out.split("\n").filter(Boolean)) await runc(runcRoot, "delete", "-f", id);
    systemctl("stop", slice);
    resetStore(store);
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  needs("root")("systemd is PID 1 and the driver sees it", () => {
    expect(readFileSync("/proc/1/comm", "utf8").trim()).toBe("systemd");
    expect(systemdBooted()).toBe(true);
  });

  needs("root")("NewSystemd: a transient scope with the pid, Delegate=yes and the resources; update; LoadSystemd; Delete through systemd", async () => {
    const pid = sleeper();
    const unit = `${uniq("drv")}.scope`;
    const scope = await SystemdCgroup.create(unit, { pids: { max: 7 }, memory: { max: 64 << 20, oomGroup: true }, cpu: { weight: 50 } }, { slice, pids: [pid] });
    expect(scope.manager.group).toBe(`/${slice}/${unit}`);
    expect(pidGroupPath(pid)).toBe(`/${slice}/${unit}`);
    const file = (f: string) => readFileSync(join(scope.manager.path, f), "utf8").trim();
    expect(file("pids.max")).toBe("7");
    expect(file("memory.max")).toBe(String(64 << 20));
    expect(file("cpu.weight")).toBe("50");
    expect(file("memory.oom.group")).toBe("1"); // no property: written through cgroupfs under the delegated scope
    expect(systemctl("show", "-p", "Delegate", "--value", unit).out).toBe("yes");
    expect(systemctl("show", "-p", "TasksMax", "--value", unit).out).toBe("7");
    expect(await scope.activeState()).toBe("active");

    await scope.update({ pids: { max: 9 } });
    expect(file("pids.max")).toBe("9");
    expect(systemctl("show", "-p", "TasksMax", "--value", unit).out).toBe("9");
    expect(SystemdCgroup.load(unit, slice).manager.path).toBe(scope.manager.path);

    await scope.delete();
    await until(() => !existsSync(`/proc/${pid}/stat`) || readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] === "Z", "the scope's process to be killed");
    expect(existsSync(scope.manager.path)).toBe(false);
    expect(await scope.activeState()).toBeUndefined();
    expect(() => SystemdCgroup.load(unit, slice)).toThrow(/cgroup deleted/);
    await scope.delete(); // a second delete finds nothing to do
  }, 120_000);

  needs("root")("a scope needs a process, and bad slice names never reach systemd", async () => {
    await expect(SystemdCgroup.create(`${uniq("nopid")}.scope`, {}, { slice })).rejects.toThrow(/needs at least one process/);
    await expect(SystemdCgroup.create(`${uniq("bad")}.scope`, {}, { slice: "../x.slice", pids: [process.pid] })).rejects.toThrow(/slice name/);
  });

  needs("root")("a container left at the root goes into hookshim-<id>.scope in systemdSlice; systemd removes it after poststop", async () => {
    const pid = sleeper();
    CgroupManager.load("/").addProc(pid); // as a runtime that made no cgroup would leave it
    const id = uniq("rooted");
    const bundle = runcBundle(tmp, id, rootfs, ["true"], "");
    const pre = await hookshim(["--config", config, "hook", "prestart"], JSON.stringify({ ociVersion: "1.0.2", id, status: "creating", pid, bundle }));
    expect(pre.err).toBe("");
    expect(pre.code).toBe(0);
    const unit = `hookshim-${id}.scope`;
    expect(pidGroupPath(pid)).toBe(`/${slice}/${unit}`);
    const dir = `${root()}/${slice}/${unit}`;
    expect(readDeviceFilters(dir).map((f) => f.hookshim)).toContain(true);
    expect(systemctl("is-active", unit).out).toBe("active");

    procs.find((p) => p.pid === pid)!.kill(9);
    const post = await hookshim(["--config", config, "hook", "poststop"], JSON.stringify({ ociVersion: "1.0.2", id, status: "stopped", bundle }));
    expect(post.err).toBe("");
    expect(post.code).toBe(0);
    expect(events(id).map((e) => [e.type, e.signal])).toEqual([["created", null], ["stopped", 9]]);
    await until(() => !existsSync(dir), `systemd to remove ${unit}`);
    expect(systemctl("is-active", unit).out).not.toBe("active");
  }, 120_000);

  needs("root")("runc --systemd-cgroup: prestart finds runc's scope, the host policy holds after daemon-reload, the exit is recorded, systemd removes the scope", async () => {
    const id = uniq("runc");
    const unit = `hstest-${id}.scope`;
    const bundle = runcBundle(tmp, id, rootfs, ["sh", "-c", "sleep 1000; exit 3"], `system.slice:hstest:${id}`);
    const inst = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", hookBinary]);
    expect(inst.code).toBe(0);
    const started = await Bun.spawn(["runc", "--root", runcRoot, "--systemd-cgroup", "run", "--detach", "--bundle", bundle, id], { stdio: ["ignore", "ignore", "inherit"] }).exited;
    expect(started).toBe(0);
    const dir = `${root()}/system.slice/${unit}`;
    const created = events(id);
    expect(created.map((e) => e.type)).toEqual(["created"]);
    expect(created[0]!.cgroup).toBe(dir);
    expect(readDeviceFilters(dir).filter((f) => f.hookshim)).toHaveLength(1);

    const readZero = async () => (await runc(runcRoot, "exec", id, "sh", "-c", "head -c 1 /dev/zero >/dev/null && echo read")).out.trim();
    expect(await readZero()).toBe("");
    // systemd re-applies its units' device policy on daemon-reload: hookshim's program stays attached
    expect(systemctl("daemon-reload").code).toBe(0);
    expect(readDeviceFilters(dir).filter((f) => f.hookshim)).toHaveLength(1);
    expect(await readZero()).toBe("");

    expect((await runc(runcRoot, "kill", id, "KILL")).code).toBe(0);
    await until(() => Bun.spawnSync(["runc", "--root", runcRoot, "state", id]).stdout.toString().includes('"stopped"'), "the container to stop");
    expect((await runc(runcRoot, "--systemd-cgroup", "delete", id)).code).toBe(0);
    const evs = events(id);
    expect(evs.map((e) => [e.type, e.signal])).toEqual([["created", null], ["stopped", 9]]);
    await until(() => !existsSync(dir), `${unit} to go`);
  }, 180_000);
});
