// CgroupManager against a scratch directory standing in for the cgroup2 mount: interface files are
// pre-created plain files, so this shows exactly what the manager writes, for controllers this host
// does not offer in v2 too.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupManager, CgroupError, MAX, watchEvents, type CgroupEvent } from "../../lib/cgroup/index.ts";

let root: string;

const CORE = ["cgroup.procs", "cgroup.threads", "cgroup.type", "cgroup.subtree_control", "cgroup.controllers", "cgroup.events", "cgroup.freeze"];
const FILES: Record<string, string[]> = {
  cpu: ["cpu.weight", "cpu.max"],
  cpuset: ["cpuset.cpus", "cpuset.mems"],
  memory: ["memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.max", "memory.oom.group"],
  pids: ["pids.max"],
  io: ["io.bfq.weight", "io.max"],
  rdma: ["rdma.max"],
  hugetlb: ["hugetlb.2MB.max"],
};

/** A fake group directory: core files plus those of `controllers`; `available` goes to cgroup.controllers. */
function fakeGroup(dir: string, available: string[], controllers = available): void {
  mkdirSync(dir, { recursive: true });
  for (const f of CORE) writeFileSync(join(dir, f), "");
  writeFileSync(join(dir, "cgroup.controllers"), available.join(" ") + "\n");
  writeFileSync(join(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
  for (const c of controllers) for (const f of FILES[c] ?? []) writeFileSync(join(dir, f), "");
}

const read = (...p: string[]) => readFileSync(join(root, ...p), "utf8");

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "hookshim-cgroup-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("CgroupManager on a scratch root", () => {
  test("create enables controllers in every ancestor, then writes each setting", () => {
    const all = Object.keys(FILES);
    fakeGroup(root, all);
    fakeGroup(join(root, "a"), all);
    fakeGroup(join(root, "a", "b"), all);
    const mgr = CgroupManager.create(
      "/a/b",
      {
        cpu: { weight: 200, max: { quota: 25000, period: 100000 }, cpus: "0", mems: "0" },
        memory: { max: 1 << 30, swapMax: MAX, oomGroup: true },
        pids: { max: 64 },
        io: { bfqWeight: 300 },
        rdma: [{ device: "mlx5_0", hcaHandles: 4 }],
        hugetlb: [{ pageSize: "2MB", max: 2097152 }],
        unified: { "memory.high": "max" },
      },
      { root },
    );
    expect(mgr.path).toBe(join(root, "a/b"));
    expect(mgr.group).toBe("/a/b");
    const enabled = "+cpuset +cpu +memory +pids +io +rdma +hugetlb";
    expect(read("cgroup.subtree_control")).toBe(enabled);
    expect(read("a/cgroup.subtree_control")).toBe(enabled);
    expect(read("a/b/cgroup.subtree_control")).toBe(""); // the group itself delegates nothing
    expect(read("a/b/cpu.weight")).toBe("200");
    expect(read("a/b/cpu.max")).toBe("25000 100000");
    expect(read("a/b/cpuset.cpus")).toBe("0");
    expect(read("a/b/memory.max")).toBe(String(1 << 30));
    expect(read("a/b/memory.swap.max")).toBe("max");
    expect(read("a/b/memory.oom.group")).toBe("1");
    expect(read("a/b/memory.high")).toBe("max");
    expect(read("a/b/pids.max")).toBe("64");
    expect(read("a/b/io.bfq.weight")).toBe("300");
    expect(read("a/b/rdma.max")).toBe("mlx5_0 hca_handle=4");
    expect(read("a/b/hugetlb.2MB.max")).toBe("2097152");
  });

  test("a parent that already delegates the controllers is the only ancestor read", () => {
    fakeGroup(root, []); // cgroup.controllers empty: the walk would fail here
    fakeGroup(join(root, "p"), ["pids"]);
    writeFileSync(join(root, "p", "cgroup.subtree_control"), "pids\n");
    fakeGroup(join(root, "p", "c"), [], ["pids"]);
    CgroupManager.create("/p/c", { pids: { max: 5 } }, { root });
    expect(read("p/c/pids.max")).toBe("5");
    expect(read("cgroup.subtree_control")).toBe("");
    expect(read("p/cgroup.subtree_control")).toBe("pids\n");
  });

  test("a controller the hierarchy lacks: create names it and creates nothing", () => {
    fakeGroup(root, ["hugetlb"]);
    let err: unknown;
    try {
      CgroupManager.create("/x", { memory: { max: 1 }, pids: { max: 1 } }, { root });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupError);
    expect((err as CgroupError).kind).toBe("not-supported");
    expect((err as Error).message).toBe("memory, pids not supported on this system");
    expect(existsSync(join(root, "x"))).toBe(false);
  });

  test("update with skipUnsupported applies what exists and reports the rest", () => {
    fakeGroup(root, ["hugetlb"]);
    fakeGroup(join(root, "g"), ["hugetlb"]);
    const mgr = CgroupManager.create("/g", {}, { root });
    const result = mgr.update({ memory: { max: 1 }, pids: { max: 1 }, hugetlb: [{ pageSize: "2MB", max: MAX }] }, { skipUnsupported: true });
    expect(result).toEqual({ skipped: ["memory", "pids"] });
    expect(read("g/hugetlb.2MB.max")).toBe("max");
    expect(read("cgroup.subtree_control")).toBe("+hugetlb");
    expect(existsSync(join(root, "g", "memory.max"))).toBe(false);
    expect(() => mgr.update({ pids: { max: 1 } })).toThrow("pids not supported on this system");
  });

  test("a unified file of a missing controller, and a deleted group, are named", () => {
    fakeGroup(root, ["misc"]);
    fakeGroup(join(root, "g"), []);
    writeFileSync(join(root, "cgroup.subtree_control"), "misc");
    const mgr = CgroupManager.load("/g", { root });
    expect(() => mgr.update({ unified: { "misc.max": "x 1" } })).toThrow("misc not supported on this system");
    expect(() => mgr.update({ unified: { "cgroup.kill": "1" } })).toThrow("cgroup.kill not supported on this system");
    rmSync(join(root, "g"), { recursive: true });
    expect(() => mgr.update({ unified: { "cgroup.freeze": "1" } })).toThrow(`cgroup deleted: ${join(root, "g")}`);
    expect(() => CgroupManager.load("/g", { root })).toThrow("cgroup deleted");
  });

  test("procs, threads, types and controllers come from the files", () => {
    fakeGroup(root, ["cpu", "io"]);
    fakeGroup(join(root, "g"), ["io"]);
    fakeGroup(join(root, "g", "c"), []);
    writeFileSync(join(root, "g", "cgroup.procs"), "10\n11\n");
    writeFileSync(join(root, "g", "c", "cgroup.procs"), "12\n");
    writeFileSync(join(root, "g", "cgroup.threads"), "10\n11\n13\n");
    writeFileSync(join(root, "g", "cgroup.type"), "domain threaded\n");
    const mgr = CgroupManager.load("/g", { root });
    expect(mgr.procs()).toEqual([10, 11]);
    expect(mgr.procs(true).sort()).toEqual([10, 11, 12]);
    expect(mgr.threads()).toEqual([10, 11, 13]);
    expect(mgr.getType()).toBe("domain threaded");
    expect(mgr.controllers()).toEqual(["io"]);
    expect(mgr.rootControllers()).toEqual(["cpu", "io"]);
    mgr.toggleControllers(["io"], "enable");
    expect(read("g/cgroup.subtree_control")).toBe("+io");
    mgr.toggleControllers(["io", "cpu"], "disable");
    expect(read("g/cgroup.subtree_control")).toBe("-io -cpu");
    mgr.addProc(42);
    expect(read("g/cgroup.procs")).toBe("42");
    mgr.setType("threaded");
    expect(read("g/cgroup.type")).toBe("threaded");
  });

  test("delete refuses while populated, naming the tasks", async () => {
    fakeGroup(root, []);
    fakeGroup(join(root, "g"), []);
    writeFileSync(join(root, "g", "cgroup.events"), "populated 1\nfrozen 0\n");
    writeFileSync(join(root, "g", "cgroup.procs"), "77\n");
    const mgr = CgroupManager.load("/g", { root });
    // On tmpfs rmdir of a non-empty directory is ENOTEMPTY, which the manager treats like EBUSY.
    let err: unknown;
    try {
      await mgr.delete();
    } catch (e) {
      err = e;
    }
    expect((err as CgroupError).kind).toBe("populated");
    expect((err as Error).message).toContain("1 task(s) remain (77)");
  });
});

describe("stat on sample files", () => {
  test("typed numbers, max as MAX, absent controllers absent", () => {
    const g = join(root, "g");
    mkdirSync(g);
    const files: Record<string, string> = {
      "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 20\n",
      "memory.current": "4096\n",
      "memory.peak": "8192\n",
      "memory.swap.current": "0\n",
      "memory.max": "max\n",
      "memory.stat": "anon 1024\nfile 2048\npgfault 7\n",
      "memory.events": "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\noom_group_kill 0\n",
      "pids.current": "3\n",
      "pids.max": "max\n",
      "io.stat": "8:0 rbytes=90112 wbytes=4096 rios=3 wios=1 dbytes=0 dios=0\n",
      "rdma.current": "mlx5_0 hca_handle=1 hca_object=20\n",
      "rdma.max": "mlx5_0 hca_handle=max hca_object=100\n",
      "hugetlb.2MB.current": "0\n",
      "hugetlb.2MB.max": "2097152\n",
      "hugetlb.2MB.events": "max 5\n",
      "hugetlb.1GB.current": "0\n",
      "hugetlb.1GB.max": "9223372036854771712\n",
      "cpu.pressure": "some avg10=0.50 avg60=0.10 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
      "memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    };
    for (const [f, v] of Object.entries(files)) writeFileSync(join(g, f), v);
    expect(CgroupManager.load("/g", { root }).stat()).toEqual({
      cpu: { usage_usec: 1500, user_usec: 1000, system_usec: 500, nr_periods: 3, nr_throttled: 1, throttled_usec: 20 },
      memory: {
        current: 4096,
        peak: 8192,
        swapCurrent: 0,
        max: MAX,
        stat: { anon: 1024, file: 2048, pgfault: 7 },
        events: { low: 0, high: 1, max: 2, oom: 3, oom_kill: 4, oom_group_kill: 0 },
      },
      pids: { current: 3, max: MAX },
      io: [{ major: 8, minor: 0, rbytes: 90112, wbytes: 4096, rios: 3, wios: 1, dbytes: 0, dios: 0 }],
      rdma: {
        current: [{ device: "mlx5_0", hcaHandles: 1, hcaObjects: 20 }],
        max: [{ device: "mlx5_0", hcaHandles: MAX, hcaObjects: 100 }],
      },
      hugetlb: [
        { pageSize: "2MB", current: 0, max: 2097152, failcnt: 5 },
        { pageSize: "1GB", current: 0, max: MAX },
      ],
      pressure: {
        cpu: { some: { avg10: 0.5, avg60: 0.1, avg300: 0, total: 1234 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 0 } },
        memory: { some: { avg10: 0, avg60: 0, avg300: 0, total: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 0 } },
      },
    });
  });
});

function inotifyFds(): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:inotify";
    } catch {
      return false;
    }
  }).length;
}

describe("events on a scratch group (inotify on plain files)", () => {
  function group(populated: boolean): string {
    const g = join(root, "g");
    mkdirSync(g);
    writeFileSync(join(g, "cgroup.events"), `populated ${populated ? 1 : 0}\nfrozen 0\n`);
    writeFileSync(join(g, "memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    return g;
  }

  test("memory counters that grow, then empty, then the end; the fd is closed", async () => {
    const g = group(true);
    const before = inotifyFds();
    const seen: CgroupEvent[] = [];
    const it = watchEvents(g);
    const drive = (async () => {
      await Bun.sleep(20);
      writeFileSync(join(g, "memory.events"), "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
      await Bun.sleep(20);
      writeFileSync(join(g, "cgroup.events"), "populated 0\nfrozen 0\n");
    })();
    for await (const ev of it) {
      seen.push(ev);
      if (ev.type === "memory") expect(inotifyFds()).toBe(before + 1);
    }
    await drive;
    expect(seen).toEqual([
      { type: "memory", counts: { low: 0, high: 0, max: 1, oom: 1, oom_kill: 1 }, changed: ["max", "oom", "oom_kill"] },
      { type: "empty" },
    ]);
    expect(inotifyFds()).toBe(before);
  });

  test("breaking out early closes the fd", async () => {
    const g = group(true);
    const before = inotifyFds();
    setTimeout(() => writeFileSync(join(g, "memory.events"), "oom 1\n"), 10);
    for await (const ev of watchEvents(g)) {
      expect(ev.type).toBe("memory");
      break;
    }
    expect(inotifyFds()).toBe(before);
  });

  test("an empty group ends at once; a removed group ends with deleted", async () => {
    const g = group(false);
    const events: CgroupEvent[] = [];
    for await (const ev of watchEvents(g)) events.push(ev);
    expect(events).toEqual([{ type: "empty" }]);
    rmSync(g, { recursive: true });
    events.length = 0;
    for await (const ev of watchEvents(g)) events.push(ev);
    expect(events).toEqual([{ type: "deleted" }]);
  });

  test("an abort signal ends the iteration", async () => {
    const g = group(true);
    const before = inotifyFds();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const events: CgroupEvent[] = [];
    for await (const ev of watchEvents(g, { signal: ac.signal, maxIntervalMs: 5 })) events.push(ev);
    expect(events).toEqual([]);
    expect(inotifyFds()).toBe(before);
  });
});
