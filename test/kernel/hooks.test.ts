// The hook CLI with states written by the test (no runtime): bad inputs under both fail modes, a
// container the runtime left in the root cgroup, a cgroup removed under the hook, and poststop for a
// container hookshim never saw.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds } from "../support/prereq.ts";
import { CgroupManager, cgroupMount, pidGroupPath } from "../../lib/cgroup/index.ts";
import {
  DevcgAccess, DEVICE_PROGRAM_NAME, Emulator, RUNC_ALLOWED_DEVICES, compileDeviceFilter, haveProgReplace, loadDeviceFilter, readDeviceFilters,
} from "../../lib/devices/index.ts";
import { AttachFlag, AttachType, progAttach } from "../../lib/bpf/index.ts";
import { O, close as closeFd, open as openFd } from "../../lib/sys/index.ts";
import { openStore, resetStore, type Store } from "../../lib/store/index.ts";
import { hookshim, writeTestConfig } from "../e2e/hooks-harness.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");
let counter = 0;
const uniq = (what: string) => `hkk-${what}-${process.pid}-${++counter}`;

describeNeeds(["root", "cgroup2", "btf"], "hook CLI on this kernel", () => {
  const tmp = mkdtempSync(join(tmpdir(), `hooks-kernel-${process.pid}-`));
  const parent = `/hookshim-test-hookcli-${process.pid}`;
  const store = uniq("store");
  const closed = join(tmp, "closed.json");
  const open = join(tmp, "open.json");
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  const cleanups: (() => unknown)[] = [];
  let parentGroup: CgroupManager;
  let s: Store;

  /** A bundle holding one of the captured config.json files as it is. */
  function fixtureBundle(fixture: string): string {
    const dir = join(tmp, uniq("bundle"));
    mkdirSync(dir);
    copyFileSync(join(FIXTURES, "bundles", fixture), join(dir, "config.json"));
    return dir;
  }

  function state(fields: Record<string, unknown>): string {
    return JSON.stringify({ ociVersion: "1.0.2-dev", id: uniq("ctr"), status: "creating", bundle: fixtureBundle("runc-1.1-spec.json"), ...fields });
  }

  /** `sleep` in a group of its own under the test parent, or in the v2 root. */
  function sleeper(where: "own" | "root"): number {
    const p = Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore"] });
    procs.push(p);
    const group = where === "root" ? CgroupManager.load("/") : parentGroup.newChild(uniq("g"));
    group.addProc(p.pid);
    return p.pid;
  }

  function snapshot() {
    return { events: s.readEvents().last, containers: s.containers().length, tracing: s.tracingTasks().length };
  }

  beforeAll(() => {
    writeTestConfig(closed, { store, cgroupParent: parent, failMode: "closed" });
    writeTestConfig(open, { store, cgroupParent: parent, failMode: "open" });
    parentGroup = CgroupManager.create(parent);
    s = openStore(store);
  });

  afterAll(async () => {
    for (const p of procs) p.kill(9);
    await Promise.all(procs.map((p) => p.exited));
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {}
    }
    s.close();
    await parentGroup.delete();
    resetStore(store);
    rmSync(tmp, { recursive: true, force: true });
  });

  const badInputs: [string, () => string, RegExp][] = [
    ["malformed state", () => `{"ociVersion": "1.0.2", "id": `, /^hookshim: prestart: stdin: not valid JSON/],
    ["empty state", () => "", /^hookshim: prestart: stdin: empty/],
    ["a running status", () => state({ status: "running", pid: process.pid }), /status "running" is not one a prestart hook is run with/],
    ["no pid", () => state({}), /pid: required/],
    ["an oversized state", () => state({ pid: process.pid, annotations: { big: "x".repeat(1100 * 1024) } }), /larger than 1048576 bytes/],
    ["a missing bundle", () => state({ pid: sleeper("own"), bundle: join(tmp, "no-such-bundle") }), /reading the bundle .*no-such-bundle.*ENOENT/],
    ["a config.json that fails the schema", () => {
      const bundle = join(tmp, uniq("badcfg"));
      mkdirSync(bundle);
      writeFileSync(join(bundle, "config.json"), JSON.stringify({ ociVersion: 1, process: { cwd: "relative" } }));
      return state({ pid: sleeper("own"), bundle });
    }, /reading the bundle .*config\.json: ociVersion/],
  ];

  for (const [what, input, message] of badInputs) {
    test(`${what}: one line, exit 2 when closed, 0 when open, store unchanged`, async () => {
      const before = snapshot();
      const text = input();
      const c = await hookshim(["--config", closed, "hook", "prestart"], text);
      expect(c.out).toBe("");
      expect(c.err.trimEnd().split("\n")).toHaveLength(1);
      expect(c.err).toMatch(message);
      expect(c.code).toBe(2);
      const o = await hookshim(["--config", open, "hook", "prestart"], text);
      expect(o.out).toBe("");
      expect(o.code).toBe(0);
      expect(o.err).toContain("fail mode open");
      expect(snapshot()).toEqual(before);
    });
  }

  test("a bad hookshim config fails closed and names the file", async () => {
    const bad = join(tmp, "bad-config.json");
    writeFileSync(bad, JSON.stringify({ failMode: "sometimes" }));
    const r = await hookshim(["--config", bad, "hook", "prestart"], state({ pid: process.pid }));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}: failMode`);
  });

  test("a cgroup removed under the hook: exit 1 naming it, store unchanged", async () => {
    // a zombie keeps naming the group it died in after the group is removed
    const group = parentGroup.newChild(uniq("gone"));
    const p = Bun.spawn(["sh", "-c", 'read x; sh -c "exit 0" & echo $!; exec sleep 1000'], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    procs.push(p);
    group.addProc(p.pid);
    p.stdin.write("\n");
    await p.stdin.flush();
    const reader = p.stdout.getReader();
    const zombie = Number(new TextDecoder().decode((await reader.read()).value).trim());
    reader.releaseLock();
    // only a zombie leaves the group deletable: wait for the child to have exited
    const procState = () => readFileSync(`/proc/${zombie}/stat`, "utf8").split(") ")[1]?.[0];
    for (let i = 0; i < 500 && procState() !== "Z"; i++) await Bun.sleep(10);
    expect(procState()).toBe("Z");
    parentGroup.addProc(p.pid);
    await group.delete();
    expect(pidGroupPath(zombie)).toEndWith("(deleted)");

    const before = snapshot();
    const r = await hookshim(["--config", closed, "hook", "prestart"], state({ pid: zombie }));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`finding the cgroup of pid ${zombie}: cgroup .*${group.group.split("/").pop()} of pid ${zombie} was removed`));
    expect(snapshot()).toEqual(before);
  });

  test("a container left in the root cgroup gets hookshim's group, with the resources v2 can apply, removed at poststop", async () => {
    const pid = sleeper("root");
    const id = uniq("rooted");
    // A parent of its own: v2 enables controllers only in groups without processes, and other tests
    // park processes in theirs.
    const ownParent = `${parent}-rooted`;
    const config = join(tmp, "rooted.json");
    writeTestConfig(config, { store, cgroupParent: ownParent, failMode: "closed" });
    cleanups.push(() => CgroupManager.load(ownParent).delete());
    const bundle = fixtureBundle("podman-4.3.json"); // memory, cpu and pids limits; devices deny-all + /dev/fuse
    const pre = await hookshim(["--config", config, "hook", "createRuntime"], JSON.stringify({ ociVersion: "1.0.2-dev", id, status: "creating", pid, bundle }));
    expect(pre.out).toBe("");
    expect({ code: pre.code, err: pre.err }).toMatchObject({ code: 0 });
    const dir = `${cgroupMount().mountpoint}${ownParent}/${id}`;
    expect(pidGroupPath(pid)).toBe(`${ownParent}/${id}`);
    // one program: the host policy's deny of /dev/zero first, then the container's list
    const filters = readDeviceFilters(dir);
    expect(filters.map((f) => [f.name, f.hookshim])).toEqual([[DEVICE_PROGRAM_NAME, true]]);
    expect(filters[0]!.filter!.hostDenies).toEqual([{ type: "c", major: 1, minor: 5, access: DevcgAccess.READ | DevcgAccess.WRITE }]);
    // Each limit is written where the v2 hierarchy offers its controller (pure v2 hosts), and gets one
    // warning where it does not (the hybrid host, whose v2 tree has hugetlb only).
    const offered = readFileSync(`${cgroupMount().mountpoint}/cgroup.controllers`, "utf8").trim().split(/\s+/);
    const written = { memory: ["memory.max", "67108864"], cpu: ["cpu.max", "50000 100000"], pids: ["pids.max", "100"] } as const;
    for (const [c, [file, value]] of Object.entries(written)) {
      const warnings = pre.err.split("\n").filter((l) => l.includes(`controller ${c} `));
      if (offered.includes(c)) {
        expect(warnings).toEqual([]);
        expect(readFileSync(join(dir, file), "utf8").trim()).toBe(value);
      } else expect(warnings).toHaveLength(1);
    }
    expect(s.getContainer(id)).toMatchObject({ state: "created", pid, cgroupPath: dir, cgroupCreated: true });

    const proc = procs.find((p) => p.pid === pid)!;
    proc.kill(9);
    await proc.exited;
    const post = await hookshim(["--config", config, "hook", "poststop"], JSON.stringify({ ociVersion: "1.0.2-dev", id, status: "stopped", bundle }));
    expect(post.err).toBe("");
    expect(post.code).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(s.getContainer(id)).toMatchObject({ state: "stopped", signal: 9, exitCode: null });
    expect(s.getTracingTask(pid)).toBeUndefined();
    const evs = s.readEvents().events.map((e) => e.event).filter((e) => e.id === id);
    expect(evs.map((e) => [e.type, e.signal])).toEqual([["created", null], ["stopped", 9]]);
  });

  test("prestart on a group holding the runtime's one device program: hookshim's one program in its place, swapped atomically where the kernel has BPF_F_REPLACE (issue 13 #3)", async () => {
    const pid = sleeper("own");
    const id = uniq("replace");
    const dir = `${cgroupMount().mountpoint}${pidGroupPath(pid)}`;
    // the runtime's program, as runc attaches it on pure v2: its spec's rules, a name of its own
    const runtime = loadDeviceFilter(compileDeviceFilter(Emulator.fromRules([{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES])), "runtime_dev");
    const fd = openFd(dir, O.RDONLY | O.DIRECTORY);
    try {
      progAttach({ targetFd: fd, progFd: runtime.fd, attachType: AttachType.CGROUP_DEVICE, flags: AttachFlag.ALLOW_MULTI });
    } finally {
      closeFd(fd);
    }
    const runtimeId = runtime.info().id;
    runtime.close();
    const config = join(tmp, "replace.json");
    writeTestConfig(config, { store, cgroupParent: parent, failMode: "closed", logLevel: "debug" });
    const pre = await hookshim(["--config", config, "hook", "prestart"], state({ id, pid }));
    expect(pre.code).toBe(0);
    const how = haveProgReplace() ? "atomically, BPF_F_REPLACE" : "attach, then detach";
    expect(pre.err).toContain(`(replaced ${runtimeId}: ${how})`);
    const filters = readDeviceFilters(dir);
    expect(filters.map((f) => f.name)).toEqual([DEVICE_PROGRAM_NAME]);
    expect(filters[0]!.filter!.hostDenies).toEqual([{ type: "c", major: 1, minor: 5, access: DevcgAccess.READ | DevcgAccess.WRITE }]);
    const post = await hookshim(["--config", config, "hook", "poststop"], JSON.stringify({ ociVersion: "1.0.2-dev", id, status: "stopped", bundle: fixtureBundle("runc-1.1-spec.json") }));
    expect(post.code).toBe(0);
  });

  test("poststop of a container hookshim never saw records the stop and exits 0", async () => {
    const id = uniq("unseen");
    const text = await Bun.file(join(FIXTURES, "states/podman-4.3-poststop.json")).text();
    const r = await hookshim(["--config", closed, "hook", "poststop"], text.replace(/"id": "[0-9a-f]+"/, `"id": "${id}"`));
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
    const evs = s.readEvents().events.map((e) => e.event).filter((e) => e.id === id);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ type: "stopped", exitCode: null, signal: null, pid: 0, source: "hook" });
  });

  test("hook auto picks the stage from the status", async () => {
    const r = await hookshim(["--config", closed, "hook", "auto"], state({ status: "running", pid: process.pid }));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`status "running" belongs to no hook stage`);
  });
});
