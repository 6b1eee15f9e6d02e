// The systemd driver's pure half: unit names, slice paths, Resources as transient unit properties.
import { describe, expect, test } from "bun:test";
import {
  bfqToIoWeight, cpuMask, deviceProperties, escapeUnitName, expandSlice, majorNameIn, scopeName, unitGroupPath, unitResources, UINT64_MAX,
} from "../../lib/cgroup/systemd-units.ts";
import { transientProperties } from "../../lib/cgroup/systemd.ts";

describe("unit names and slices", () => {
  test("ids are escaped as systemd-escape does (but \"-\" is kept); nothing can leave the name", () => {
    expect(escapeUnitName("abc-123")).toBe("abc-123");
    expect(escapeUnitName("a/b c")).toBe("a\\x2fb\\x20c");
    expect(escapeUnitName(".hidden")).toBe("\\x2ehidden");
    expect(escapeUnitName("x.service\n")).toBe("x.service\\x0a");
    expect(escapeUnitName("é")).toBe("\\xc3\\xa9");
    expect(scopeName("hookshim", "../../etc")).toBe("hookshim-\\x2e.\\x2f..\\x2fetc.scope");
    expect(() => scopeName("hookshim", "x".repeat(300))).toThrow(/longer than 255/);
  });
  test("slices expand to their cgroup path (containerd ExpandSlice)", () => {
    expect(expandSlice("system.slice")).toBe("/system.slice");
    expect(expandSlice("kubepods-burstable-pod1.slice")).toBe("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice");
    expect(expandSlice("-.slice")).toBe("/");
    expect(unitGroupPath("machine.slice", "libpod-x.scope")).toBe("/machine.slice/libpod-x.scope");
    expect(unitGroupPath("-.slice", "a.scope")).toBe("/a.scope");
    for (const bad of ["system", "a/b.slice", "-a.slice", "a--b.slice", "a-.slice", "../x.slice"]) expect(() => expandSlice(bad)).toThrow(/slice name/);
  });
});

describe("resources as properties", () => {
  test("cpu, memory, pids and io map to systemd's properties with uint64 values", () => {
    const { properties, rest } = unitResources({
      cpu: { weight: 200, max: { quota: 50_000, period: 100_000 }, cpus: "0-2,9" },
      memory: { max: 64 << 20, high: "max", swapMax: 0 },
      pids: { max: 100 },
      io: { bfqWeight: 1000, max: [{ major: 8, minor: 0, type: "rbps", value: 1_000_000 }, { major: 8, minor: 16, type: "rbps", value: "max" }, { major: 8, minor: 0, type: "wiops", value: 10 }] },
    });
    const byName = Object.fromEntries(properties.map((p) => [p.name, [p.signature, p.value]]));
    expect(byName).toEqual({
      CPUWeight: ["t", 200n],
      CPUQuotaPeriodUSec: ["t", 100_000n],
      CPUQuotaPerSecUSec: ["t", 500_000n],
      AllowedCPUs: ["ay", Buffer.from([0b111, 0b10])],
      MemoryHigh: ["t", UINT64_MAX],
      MemoryMax: ["t", BigInt(64 << 20)],
      MemorySwapMax: ["t", 0n],
      TasksMax: ["t", 100n],
      IOWeight: ["t", 10000n],
      IOReadBandwidthMax: ["a(st)", [["/dev/block/8:0", 1_000_000n], ["/dev/block/8:16", UINT64_MAX]]],
      IOWriteIOPSMax: ["a(st)", [["/dev/block/8:0", 10n]]],
    });
    expect(rest).toEqual({});
  });
  test("a quota without a period uses 100 ms; an unlimited quota is infinity", () => {
    expect(unitResources({ cpu: { max: { quota: 25_000 } } }).properties).toEqual([{ name: "CPUQuotaPerSecUSec", signature: "t", value: 250_000n }]);
    expect(unitResources({ cpu: { max: { quota: "max" } } }).properties).toEqual([{ name: "CPUQuotaPerSecUSec", signature: "t", value: UINT64_MAX }]);
  });
  test("what has no property is left for the cgroupfs manager", () => {
    const res = { memory: { max: 1 << 30, oomGroup: true }, rdma: [{ device: "mlx5_0", hcaHandles: 2 }], hugetlb: [{ pageSize: "2MB", max: 0 }], unified: { "memory.zswap.max": "0" }, io: { bfqWeightDevice: [{ major: 8, minor: 0, weight: 10 }] } };
    expect(unitResources(res).rest).toEqual({ memory: { oomGroup: true }, rdma: res.rdma, hugetlb: res.hugetlb, unified: res.unified, io: { bfqWeightDevice: res.io.bfqWeightDevice } });
  });
  test("cpu lists as masks; bad lists are refused", () => {
    expect(cpuMask("0")).toEqual([1]);
    expect(cpuMask("7-8")).toEqual([0x80, 1]);
    expect(() => cpuMask("3-1")).toThrow(/out of order/);
    expect(() => cpuMask("a")).toThrow(/not N or N-M/);
    expect(bfqToIoWeight(1)).toBe(1);
    expect(bfqToIoWeight(100)).toBe(992);
  });
});

describe("device rules as DevicePolicy/DeviceAllow", () => {
  const names = (_t: "c" | "b", major: number) => (major === 136 ? "pts" : undefined);
  test("deny-all then allows (runc's defaults) maps to strict with the allow list", () => {
    expect(deviceProperties([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 136, minor: -1, access: "rw" },
      { allow: true, type: "c", major: null, minor: null, access: "m" },
      { allow: true, type: "b", major: 8, minor: 0, access: "r" },
    ], names)).toEqual([
      { name: "DevicePolicy", signature: "s", value: "strict" },
      { name: "DeviceAllow", signature: "a(ss)", value: [["/dev/char/1:3", "rwm"], ["char-pts", "rw"], ["char-*", "m"], ["/dev/block/8:0", "r"]] },
    ]);
  });
  test("allow-all maps to auto; a deny after an allow, or an unnamed major, does not map", () => {
    expect(deviceProperties([{ allow: true, access: "rwm" }], names)).toEqual([{ name: "DevicePolicy", signature: "s", value: "auto" }]);
    expect(deviceProperties([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 5 }, { allow: false, type: "c", major: 1, minor: 5, access: "w" }], names)).toBeUndefined();
    expect(deviceProperties([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 99, minor: -1 }], names)).toBeUndefined();
    expect(deviceProperties([], names)).toBeUndefined();
  });
  test("/proc/devices names by type", () => {
    const text = "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n";
    expect(majorNameIn(text, "c", 136)).toBe("pts");
    expect(majorNameIn(text, "b", 8)).toBe("sd");
    expect(majorNameIn(text, "b", 1)).toBeUndefined();
  });
  test("a transient scope: slice, pids, Delegate=yes, accounting, then the resources", () => {
    const { properties } = transientProperties("hookshim-x.scope", { pids: { max: 5 } }, { slice: "hookshim.slice", pids: [42] });
    expect(properties.map((p) => p.name)).toEqual(["Description", "Slice", "PIDs", "Delegate", "DefaultDependencies", "MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting", "TasksMax"]);
    expect(properties.find((p) => p.name === "PIDs")!.value).toEqual([42]);
    expect(properties.find((p) => p.name === "Delegate")!.value).toBe(true);
    expect(transientProperties("x.slice", {}, {}).properties.map((p) => p.name)).not.toContain("Slice");
  });
});
