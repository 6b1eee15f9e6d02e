import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cpuSharesToWeight, memorySwapToV2, ociResourcesOf, toResources, resourceSettings, MAX, type Resources } from "../../lib/cgroup/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(`${import.meta.dir}/../../../shared/fixtures/bundles/${name}`, "utf8"));

describe("cpu shares -> cpu.weight (runc's quadratic-in-log2 formula)", () => {
  // Expected values computed independently (Python, math.ceil(10 ** ((l*l + 125*l)/612 - 7/34))).
  test.each([
    [0, 0],
    [1, 1],
    [2, 1],
    [3, 2],
    [10, 4],
    [100, 17],
    [512, 59],
    [1024, 100],
    [2048, 174],
    [4096, 303],
    [10000, 627],
    [100000, 4340],
    [262143, 10000],
    [262144, 10000],
    [300000, 10000],
  ])("shares %d -> weight %d", (shares, weight) => {
    expect(cpuSharesToWeight(shares)).toBe(weight);
  });
  test("the default maps to the default (the old linear formula gave 39)", () => {
    expect(cpuSharesToWeight(1024)).toBe(100);
    expect(1 + Math.floor(((1024 - 2) * 9999) / 262142)).toBe(39);
  });
});

describe("memory swap (v1 memory+swap) -> memory.swap.max", () => {
  test.each([
    // [swap, memory, expected]
    [0, 0, undefined],
    [0, -1, MAX],
    [-1, 0, MAX],
    [-1, 1000, MAX],
    [0, 1000, undefined],
    [2000, 1000, 1000],
    [1000, 1000, 0],
    [134217728, 67108864, 67108864],
  ] as const)("swap %p with memory %p -> %p", (swap, memory, expected) => {
    expect(memorySwapToV2(swap, memory)).toBe(expected);
  });
  test.each([
    [1000, 0, "unable to set swap limit without memory limit"],
    [1000, -1, "unable to set swap limit without memory limit"],
    [500, 1000, "memory+swap limit should be >= memory limit"],
    [1000, -5, "invalid memory value: -5"],
  ] as const)("swap %p with memory %p is refused", (swap, memory, message) => {
    expect(() => memorySwapToV2(swap, memory)).toThrow(message);
  });
});

describe("toResources", () => {
  test("podman 4.3 bundle: memory, swap, cpu quota, pids", () => {
    expect(toResources(fixture("podman-4.3.json").linux.resources)).toEqual({
      memory: { max: 67108864, swapMax: 67108864 },
      cpu: { max: { quota: 50000, period: 100000 } },
      pids: { max: 100 },
    });
  });
  test("containerd 1.6 bundle: default shares become the default weight; devices are not ours", () => {
    expect(toResources(fixture("containerd-1.6.json").linux.resources)).toEqual({ cpu: { weight: 100 } });
  });
  test("runc spec bundle: nothing to set", () => {
    expect(toResources(fixture("runc-1.1-spec.json").linux.resources)).toEqual({});
  });
  test("cpu.max as runc writes it", () => {
    expect(toResources({ cpu: { quota: -1, period: 100000 } }).cpu).toEqual({ max: { quota: MAX, period: 100000 } });
    expect(toResources({ cpu: { quota: 20000 } }).cpu).toEqual({ max: { quota: 20000 } });
    expect(toResources({ cpu: { period: 50000 } }).cpu).toEqual({ max: { quota: MAX, period: 50000 } });
    expect(toResources({ cpu: { cpus: "0-1", mems: "0" } }).cpu).toEqual({ cpus: "0-1", mems: "0" });
  });
  test("pids: negative is max, 0 is a real limit (runc 1.4), absent leaves it alone", () => {
    expect(toResources({ pids: { limit: -1 } }).pids).toEqual({ max: MAX });
    expect(toResources({ pids: { limit: 0 } }).pids).toEqual({ max: 0 });
    // @ts-expect-error the runtime-spec requires pids.limit; a config that leaves it out changes nothing
    expect(toResources({ pids: {} }).pids).toBeUndefined();
  });
  test("memory -1 is max, reservation is memory.low", () => {
    expect(toResources({ memory: { limit: -1, reservation: 1 << 20 } }).memory).toEqual({ max: MAX, low: 1 << 20, swapMax: MAX });
  });
  test("blkio weight goes to io.bfq.weight unchanged; throttles to io.max", () => {
    const res = toResources({
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 300 }, { major: 8, minor: 16, leafWeight: 10 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }],
      },
    });
    expect(res.io).toEqual({
      bfqWeight: 500,
      bfqWeightDevice: [{ major: 8, minor: 0, weight: 300 }],
      max: [
        { major: 8, minor: 0, type: "rbps", value: 1048576 },
        { major: 8, minor: 0, type: "wiops", value: MAX },
      ],
    });
  });
  test("hugepages, rdma and unified pass through", () => {
    const res = toResources({
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      unified: { "memory.oom.group": "1" },
    });
    expect(res).toEqual({
      hugetlb: [{ pageSize: "2MB", max: 4194304 }],
      rdma: [{ device: "mlx5_1", hcaHandles: 3, hcaObjects: 10000 }],
      unified: { "memory.oom.group": "1" },
    });
  });
});

describe("resources -> (file, value) writes", () => {
  test("every controller module", () => {
    const res: Resources = {
      cpu: { weight: 100, max: { quota: 50000, period: 100000 }, cpus: "0-1", mems: "0" },
      memory: { min: 1, low: 2, high: MAX, max: 4096, swapMax: 0, oomGroup: true },
      pids: { max: MAX },
      io: {
        bfqWeight: 100,
        bfqWeightDevice: [{ major: 8, minor: 0, weight: 50 }],
        max: [
          { major: 8, minor: 0, type: "rbps", value: 1000 },
          { major: 8, minor: 0, type: "wiops", value: MAX },
        ],
      },
      rdma: [{ device: "mlx4_0", hcaHandles: 2, hcaObjects: MAX }, { device: "none" }],
      hugetlb: [{ pageSize: "1GB", max: MAX }],
      unified: { "cpu.idle": "1", "io.pressure": "some 150000 1000000" },
    };
    expect(resourceSettings(res).map((s) => [s.controller, s.file, s.value])).toEqual([
      ["cpuset", "cpuset.cpus", "0-1"],
      ["cpuset", "cpuset.mems", "0"],
      ["cpu", "cpu.weight", "100"],
      ["cpu", "cpu.max", "50000 100000"],
      ["memory", "memory.min", "1"],
      ["memory", "memory.low", "2"],
      ["memory", "memory.high", "max"],
      ["memory", "memory.swap.max", "0"],
      ["memory", "memory.max", "4096"],
      ["memory", "memory.oom.group", "1"],
      ["pids", "pids.max", "max"],
      ["io", "io.bfq.weight", "100"],
      ["io", "io.bfq.weight", "8:0 50"],
      ["io", "io.max", "8:0 rbps=1000"],
      ["io", "io.max", "8:0 wiops=max"],
      ["rdma", "rdma.max", "mlx4_0 hca_handle=2 hca_object=max"],
      ["hugetlb", "hugetlb.1GB.max", "max"],
      ["cpu", "cpu.idle", "1"],
      ["cgroup", "io.pressure", "some 150000 1000000"],
    ]);
  });
  test("a unified key that is a path is refused", () => {
    expect(() => resourceSettings({ unified: { "../x": "1" } })).toThrow("is not an interface file name");
  });
});

describe("ociResourcesOf", () => {
  test("integers lib/oci read as bigint (past 2^53) become numbers, deep inside arrays too", () => {
    const r = ociResourcesOf({
      memory: { limit: 9223372036854775807n, swap: -1 },
      blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 18446744073709551615n }] },
      unified: { "memory.high": "max" },
    });
    expect(r.memory!.limit).toBe(9223372036854775807);
    expect(r.blockIO!.throttleReadBpsDevice![0]!.rate).toBe(18446744073709551615);
    expect(r.unified).toEqual({ "memory.high": "max" });
    expect(toResources(r).memory!.max).toBe(9223372036854775807);
  });
});
