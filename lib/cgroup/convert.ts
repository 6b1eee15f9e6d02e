// OCI linux.resources (v1 vocabulary) to cgroup v2 Resources, with the conversions runc applies
// (opencontainers/cgroups utils.go + runc libcontainer/specconv), so a container gets the same
// limits whether runc or this code writes them.
import type { LinuxResources } from "../oci/resources.ts";
import { CgroupError } from "./errors.ts";
import { nonEmpty, prune } from "./util.ts";
import { MAX, type CpuResources, type Limit, type Resources, type IoMaxEntry, type IoLimitType } from "./types.ts";

/** A type with every bigint in it made a number (what ociResourcesOf returns). */
type Numbered<T> = T extends bigint ? number : T extends (infer U)[] ? Numbered<U>[] : T extends object ? { [K in keyof T]: Numbered<T[K]> } : T;

/** lib/oci's `linux.resources` (runtime-spec), with the numbers this module computes with. */
export type OciLinuxResources = Numbered<LinuxResources>;

/**
 * An OCI resources object as lib/oci parses it (integers past 2^53 arrive as bigint) with every
 * bigint made a number: cgroup limits that large mean "no limit" in practice, and the files take
 * decimal text either way.
 */
export function ociResourcesOf(resources: unknown): OciLinuxResources {
  const convert = (v: unknown): unknown =>
    typeof v === "bigint"
      ? Number(v)
      : Array.isArray(v)
        ? v.map(convert)
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)]))
          : v;
  return convert(resources) as OciLinuxResources;
}

/** One throttle{Read,Write}{Bps,IOPS}Device entry of linux.resources.blockIO. */
export type OciThrottle = NonNullable<NonNullable<OciLinuxResources["blockIO"]>["throttleReadBpsDevice"]>[number];

/**
 * cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100), using the current
 * runc/crun formula: a quadratic in log2(shares) fitted so that 2 -> 1, 1024 -> 100 and
 * 262144 -> 10000 (opencontainers/cgroups ConvertCPUSharesToCgroupV2Value, runc 1.4). It replaced
 * the linear 1 + (shares-2)*9999/262142, which mapped the default 1024 to 39 instead of 100.
 * 0 means unset and stays 0.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/**
 * v1 memory.memsw (memory+swap) to v2 memory.swap.max (swap alone), as runc's
 * ConvertMemorySwapToCgroupV2Value: 0 = unset, -1 = unlimited; returns undefined for "unset".
 */
export function memorySwapToV2(swap: number, memory: number): Limit | undefined {
  // Memory unlimited and swap not given: both unlimited (v1 compatibility).
  if (memory === -1 && swap === 0) return MAX;
  if (swap === -1) return MAX;
  if (swap === 0) return undefined;
  if (memory === 0 || memory === -1)
    throw new CgroupError("invalid-value", "unable to set swap limit without memory limit");
  if (memory < 0) throw new CgroupError("invalid-value", `invalid memory value: ${memory}`);
  if (swap < memory) throw new CgroupError("invalid-value", "memory+swap limit should be >= memory limit");
  return swap - memory;
}

/** runc's numToStr: 0 unset, -1 unlimited, anything else as is. */
function v1Limit(v: number | undefined): Limit | undefined {
  if (v === undefined || v === 0) return undefined;
  return v === -1 ? MAX : v;
}

/**
 * pids.limit as runc >= 1.4 reads runtime-spec 1.3: absent = leave alone, negative = "max",
 * 0 = a real limit of zero (older runc treated 0 as unset; crun as unlimited).
 */
function pidsLimit(v: number | undefined): Limit | undefined {
  if (v === undefined) return undefined;
  return v < 0 ? MAX : v;
}

/** cpu.max from CFS quota/period as runc writes it: quota <= 0 is "max"; period 0 is left out. */
function cpuMax(quota: number | undefined, period: number | undefined): CpuResources["max"] {
  if (!quota && !period) return undefined;
  const q: Limit = quota !== undefined && quota > 0 ? quota : MAX;
  return period ? { quota: q, period } : { quota: q };
}

const THROTTLES: [keyof NonNullable<OciLinuxResources["blockIO"]>, IoLimitType][] = [
  ["throttleReadBpsDevice", "rbps"],
  ["throttleWriteBpsDevice", "wbps"],
  ["throttleReadIOPSDevice", "riops"],
  ["throttleWriteIOPSDevice", "wiops"],
];

export function toResources(oci: OciLinuxResources): Resources {
  const res: Resources = {};

  const c = oci.cpu;
  if (c) {
    const weight = c.shares ? cpuSharesToWeight(c.shares) : undefined;
    res.cpu = nonEmpty({ weight, max: cpuMax(c.quota, c.period), cpus: c.cpus || undefined, mems: c.mems || undefined });
  }

  const m = oci.memory;
  if (m) {
    const limit = m.limit ?? 0;
    res.memory = nonEmpty({
      max: v1Limit(m.limit),
      low: v1Limit(m.reservation),
      swapMax: memorySwapToV2(m.swap ?? 0, limit),
    });
  }

  const p = pidsLimit(oci.pids?.limit);
  if (p !== undefined) res.pids = { max: p };

  const b = oci.blockIO;
  if (b) {
    // BFQ takes the blkio weight range (10..1000) unchanged, which is why runc prefers it to io.weight.
    const max: IoMaxEntry[] = [];
    for (const [key, type] of THROTTLES)
      for (const t of (b[key] as OciThrottle[] | undefined) ?? [])
        max.push({ major: t.major, minor: t.minor, type, value: t.rate === 0 ? MAX : t.rate });
    const bfqWeightDevice = (b.weightDevice ?? [])
      .filter((d) => d.weight !== undefined && d.weight !== 0)
      .map((d) => ({ major: d.major, minor: d.minor, weight: d.weight! }));
    res.io = nonEmpty({
      bfqWeight: b.weight || undefined,
      bfqWeightDevice: bfqWeightDevice.length ? bfqWeightDevice : undefined,
      max: max.length ? max : undefined,
    });
  }

  if (oci.hugepageLimits?.length)
    res.hugetlb = oci.hugepageLimits.map((h) => ({ pageSize: h.pageSize, max: h.limit }));

  if (oci.rdma) {
    const rdma = Object.entries(oci.rdma).map(([device, r]) => ({ device, hcaHandles: r.hcaHandles, hcaObjects: r.hcaObjects }));
    if (rdma.length) res.rdma = rdma;
  }

  if (oci.unified && Object.keys(oci.unified).length) res.unified = { ...oci.unified };

  return prune(res);
}
