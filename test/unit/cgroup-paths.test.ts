import { describe, expect, test } from "bun:test";
import { discoverMount, nestedGroupPath, parseProcCgroup, verifyGroupPath, isCgroupError, CgroupError } from "../../lib/cgroup/index.ts";

const PURE_V2 = `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
`;

// As on these machines: tmpfs at /sys/fs/cgroup, v1 controllers beside v2 at unified.
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const V1_ONLY = `31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
`;

describe("discoverMount", () => {
  test("pure v2 at /sys/fs/cgroup", () => {
    expect(discoverMount(PURE_V2)).toEqual({ mountpoint: "/sys/fs/cgroup", mode: "unified", v1Controllers: [] });
  });
  test("hybrid: v2 at /sys/fs/cgroup/unified, v1 controllers listed", () => {
    expect(discoverMount(HYBRID)).toEqual({
      mountpoint: "/sys/fs/cgroup/unified",
      mode: "hybrid",
      v1Controllers: ["cpu", "memory", "pids"],
    });
  });
  test("v1 only: a clear error naming the v1 controllers", () => {
    let err: unknown;
    try {
      discoverMount(V1_ONLY);
    } catch (e) {
      err = e;
    }
    expect(isCgroupError(err, "no-cgroup2")).toBe(true);
    expect((err as Error).message).toBe("cgroup v2 is not mounted: this host has only cgroup v1 (cpu, cpuacct, memory)");
  });
  test("no cgroup at all", () => {
    expect(() => discoverMount(PURE_V2.split("\n")[0]!)).toThrow("cgroup v2 is not mounted (no cgroup2 line");
  });
  test("a v2 mount elsewhere, with an escaped space in its path", () => {
    const text = "50 1 0:40 / /run/my\\040cgroup rw - cgroup2 none rw\n";
    expect(discoverMount(text).mountpoint).toBe("/run/my cgroup");
  });
});

describe("verifyGroupPath", () => {
  test.each(["/", "/a", "/a/b.scope", "/hookshim-test-1-2/x"])("accepts %p", (p) => {
    expect(verifyGroupPath(p)).toBe(p);
  });
  test.each([
    ["a/b", "must be absolute"],
    ["", "must be absolute"],
    ["/a/../b", 'must not contain ".."'],
    ["/..", 'must not contain ".."'],
    ["/a//b", "not clean (/a/b)"],
    ["/a/./b", "not clean (/a/b)"],
    ["/a/", "not clean (/a)"],
    ["/sys/fs/cgroup/a", "must be relative to the cgroup mount"],
    ["/sys/fs/cgroup", "must be relative to the cgroup mount"],
  ])("rejects %p (%s)", (p, why) => {
    let err: unknown;
    try {
      verifyGroupPath(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupError);
    expect((err as CgroupError).kind).toBe("invalid-group-path");
    expect((err as Error).message).toStartWith("invalid group path");
    expect((err as Error).message).toContain(why);
  });
  test("the discovered mountpoint is rejected as a prefix too", () => {
    expect(() => verifyGroupPath("/sys/fs/cgroup/unified/x", ["/sys/fs/cgroup/unified"])).toThrow("must be relative");
    expect(verifyGroupPath("/sys/fs/cgroupx", ["/sys/fs/cgroup"])).toBe("/sys/fs/cgroupx");
  });
});

describe("/proc/PID/cgroup", () => {
  const HYBRID_PROC = "9:name=systemd:/\n4:memory:/x/y\n1:cpu:/\n0::/user.slice/session-1.scope\n";
  test("the 0:: line is the v2 group path", () => {
    expect(parseProcCgroup(HYBRID_PROC)).toBe("/user.slice/session-1.scope");
    expect(parseProcCgroup("0::/\n")).toBe("/");
  });
  test("v1-only processes have no 0:: line", () => {
    expect(() => parseProcCgroup("4:memory:/x\n1:cpu:/\n")).toThrow("no cgroup v2 entry");
  });
  test("nestedGroupPath joins below the process's group", () => {
    expect(nestedGroupPath("child/leaf", HYBRID_PROC)).toBe("/user.slice/session-1.scope/child/leaf");
    expect(nestedGroupPath("/c", "0::/\n")).toBe("/c");
    expect(() => nestedGroupPath("../escape", HYBRID_PROC)).toThrow('must not contain ".."');
  });
});
