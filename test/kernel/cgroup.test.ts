// CgroupManager on the real cgroup2 mount. Every test works below its own parent group, removed in
// afterEach (processes killed first) even when the test failed.
import { afterEach, beforeEach, expect } from "bun:test";
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import type { Subprocess } from "bun";
import { describeNeeds, needs } from "../support/prereq.ts";
import { CgroupManager, CgroupError, cgroupMount, pidGroupPath, MAX, type CgroupEvent } from "../../lib/cgroup/index.ts";

let n = 0;
let parent: CgroupManager | undefined;
let children: Subprocess[] = [];

function sleeper(): Subprocess {
  const p = Bun.spawn(["sleep", "300"], { stdout: "ignore", stderr: "ignore" });
  children.push(p);
  return p;
}

const events = (m: CgroupManager) => readFileSync(`${m.path}/cgroup.events`, "utf8");

function inotifyFds(): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:inotify";
    } catch {
      return false;
    }
  }).length;
}

const test = needs("root", "cgroup2");

describeNeeds(["root", "cgroup2"], "cgroup v2 manager (kernel)", () => {
  beforeEach(() => {
    parent = CgroupManager.create(`/hookshim-test-${process.pid}-${++n}`);
  });
  afterEach(async () => {
    for (const p of children) p.kill(9);
    await Promise.all(children.map((p) => p.exited));
    children = [];
    if (parent?.populated()) await parent.kill();
    await parent?.delete();
    parent = undefined;
  });

  test("create, update, stat and delete round trip", async () => {
    const hasHugetlb = parent!.rootControllers().includes("hugetlb");
    const mgr = parent!.newChild("rt", {
      unified: { "cgroup.max.descendants": "7" },
      ...(hasHugetlb ? { hugetlb: [{ pageSize: "2MB", max: 4 << 20 }] } : {}),
    });
    expect(mgr.path).toBe(`${cgroupMount().mountpoint}${parent!.group}/rt`);
    expect(readFileSync(`${mgr.path}/cgroup.max.descendants`, "utf8")).toBe("7\n");
    const ino = Bun.spawnSync(["stat", "-c", "%i", mgr.path]).stdout.toString().trim();
    expect(mgr.id()).toBe(BigInt(ino));

    mgr.update({ unified: { "cgroup.max.descendants": "max", "cgroup.max.depth": "2" } });
    expect(readFileSync(`${mgr.path}/cgroup.max.descendants`, "utf8")).toBe("max\n");
    expect(readFileSync(`${mgr.path}/cgroup.max.depth`, "utf8")).toBe("2\n");

    const st = mgr.stat();
    expect(typeof st.cpu?.usage_usec).toBe("number");
    if (hasHugetlb) {
      expect(readFileSync(`${parent!.path}/cgroup.subtree_control`, "utf8")).toContain("hugetlb");
      expect(st.hugetlb?.find((h) => h.pageSize === "2MB")).toEqual({ pageSize: "2MB", current: 0, max: 4 << 20, failcnt: 0 });
      mgr.update({ hugetlb: [{ pageSize: "2MB", max: MAX }] });
      expect(mgr.stat().hugetlb?.find((h) => h.pageSize === "2MB")?.max).toBe(MAX);
    }
    for (const c of ["memory", "pids", "io"]) if (!mgr.controllers().includes(c)) expect(st[c as "memory"]).toBeUndefined();

    expect(() => mgr.update({ unified: { "cgroup.max.depth": "lots" } })).toThrow(
      `writing "lots" to ${mgr.path}/cgroup.max.depth: invalid value (EINVAL)`,
    );

    await mgr.delete();
    expect(existsSync(mgr.path)).toBe(false);
    expect(() => CgroupManager.load(mgr.group)).toThrow(`cgroup deleted: ${mgr.path}`);
    await mgr.delete(); // already gone: not an error
  });

  test("controllers the hierarchy lacks: named, or skipped on request", () => {
    const lacking = ["cpu", "memory", "pids", "io"].filter((c) => !parent!.rootControllers().includes(c));
    if (!lacking.length) return; // a full v2 host: nothing to skip (covered by the scratch-root unit tests)
    const mgr = parent!.newChild("partial");
    const res = { memory: { max: 1 << 30 }, pids: { max: 10 }, io: { bfqWeight: 100 }, cpu: { weight: 50 } };
    let err: unknown;
    try {
      mgr.update(res);
    } catch (e) {
      err = e;
    }
    expect((err as CgroupError).kind).toBe("not-supported");
    expect((err as Error).message).toBe(`${lacking.join(", ")} not supported on this system`);
    const result = mgr.update(res, { skipUnsupported: true });
    expect(result.skipped).toEqual(lacking);
  });

  test("processes moved in are listed, recursively, and can be moved on", () => {
    const a = parent!.newChild("a");
    const b = a.newChild("b");
    const [p1, p2, p3] = [sleeper(), sleeper(), sleeper()];
    a.addProc(p1.pid);
    a.addProc(p2.pid);
    b.addProc(p3.pid);
    expect(a.procs().sort()).toEqual([p1.pid, p2.pid].sort());
    expect(a.procs(true).sort()).toEqual([p1.pid, p2.pid, p3.pid].sort());
    expect(b.threads()).toEqual([p3.pid]); // sleep is single-threaded
    expect(pidGroupPath(p1.pid)).toBe(a.group);
    expect(a.populated()).toBe(true);

    const dest = parent!.newChild("dest");
    a.moveTo(dest);
    expect(a.procs()).toEqual([]);
    expect(dest.procs().sort()).toEqual([p1.pid, p2.pid].sort());
    expect(pidGroupPath(p2.pid)).toBe(dest.group);
  });

  test("freeze and thaw a running process", async () => {
    const g = parent!.newChild("fz");
    const p = sleeper();
    g.addProc(p.pid);
    await g.freeze();
    expect(events(g)).toContain("frozen 1");
    await g.thaw();
    expect(events(g)).toContain("frozen 0");
    expect(p.exitCode).toBeNull();
    expect(() => process.kill(p.pid, 0)).not.toThrow();
  });

  for (const method of ["cgroup.kill", "signal"] as const) {
    test(`kill (${method}) ends every process in the group and its descendants`, async () => {
      const g = parent!.newChild(`k-${method.replace(".", "")}`);
      const sub = g.newChild("sub");
      const ps = [sleeper(), sleeper(), sleeper()];
      g.addProc(ps[0]!.pid);
      g.addProc(ps[1]!.pid);
      sub.addProc(ps[2]!.pid);
      await g.kill({ method });
      expect(g.populated()).toBe(false);
      expect(g.procs(true)).toEqual([]);
      for (const p of ps) {
        await p.exited;
        expect(p.signalCode).toBe("SIGKILL");
      }
      await g.delete(); // removes sub first
      expect(existsSync(sub.path)).toBe(false);
    });
  }

  test("delete is refused while tasks remain", async () => {
    const g = parent!.newChild("busy");
    const p = sleeper();
    g.addProc(p.pid);
    let err: unknown;
    try {
      await parent!.delete();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupError);
    expect((err as CgroupError).kind).toBe("populated");
    expect((err as Error).message).toBe(`cannot delete ${parent!.path}: 1 task(s) remain (${p.pid}); kill or move them first`);
    expect(existsSync(g.path)).toBe(true);
  });

  test("the event iterator sees a process exit empty the group, and closes its fd", async () => {
    const g = parent!.newChild("ev");
    const p = sleeper();
    g.addProc(p.pid);
    const before = inotifyFds();
    setTimeout(() => p.kill(15), 50);
    const seen: CgroupEvent[] = [];
    for await (const ev of g.events()) seen.push(ev);
    expect(seen.at(-1)).toEqual({ type: "empty" });
    expect(inotifyFds()).toBe(before);
    await p.exited;
  });

  test("moving the last process out ends the event iterator", async () => {
    const g = parent!.newChild("gone");
    const p = sleeper();
    g.addProc(p.pid);
    const it = g.events();
    const first = it.next();
    g.moveTo(parent!.newChild("elsewhere"));
    expect((await first).value).toEqual({ type: "empty" });
    expect((await it.next()).done).toBe(true);
  });

  test("threaded groups", () => {
    const d = parent!.newChild("dom");
    const t = d.newChild("t");
    expect(t.getType()).toBe("domain");
    t.setType("threaded");
    expect(t.getType()).toBe("threaded");
    expect(d.getType()).toBe("domain threaded");
  });

  test("controllers are enabled in every ancestor and can be toggled", () => {
    if (!parent!.rootControllers().includes("hugetlb")) return; // nothing enableable in this v2 hierarchy
    const leaf = CgroupManager.create(`${parent!.group}/x/y/z`, { hugetlb: [{ pageSize: "2MB", max: MAX }] });
    for (const dir of [parent!.path, `${parent!.path}/x`, `${parent!.path}/x/y`])
      expect(readFileSync(`${dir}/cgroup.subtree_control`, "utf8").split(/\s+/)).toContain("hugetlb");
    expect(leaf.controllers()).toContain("hugetlb");
    const y = CgroupManager.load(`${parent!.group}/x/y`);
    y.toggleControllers(["hugetlb"], "disable");
    expect(y.subtreeControllers()).not.toContain("hugetlb");
    expect(leaf.controllers()).not.toContain("hugetlb");
    y.toggleControllers(["hugetlb"], "enable");
    expect(leaf.controllers()).toContain("hugetlb");
  });
});
