// Resource settings in cgroup v2 terms (the OCI/v1 vocabulary is converted by toResources).

/** The kernel's "no limit". Written and read back as the literal string, never as a sentinel number. */
export const MAX = "max" as const;
export type Max = typeof MAX;
export type Limit = number | Max;

export interface CpuResources {
  /** cpu.weight, 1..10000 (default 100). */
  weight?: number;
  /** cpu.max: quota per period in µs; quota "max" is unlimited. period omitted keeps the kernel's. */
  max?: { quota: Limit; period?: number };
  /** cpuset.cpus / cpuset.mems (cpuset controller), e.g. "0-3,6". */
  cpus?: string;
  mems?: string;
}

export interface MemoryResources {
  min?: Limit;
  low?: Limit;
  high?: Limit;
  max?: Limit;
  /** memory.swap.max: swap alone (v2), not memory+swap (v1). */
  swapMax?: Limit;
  /** memory.oom.group: kill the whole group on OOM. */
  oomGroup?: boolean;
}

export interface PidsResources {
  max: Limit;
}

export type IoLimitType = "rbps" | "wbps" | "riops" | "wiops";
export interface IoMaxEntry {
  major: number;
  minor: number;
  type: IoLimitType;
  value: Limit;
}
export interface IoResources {
  /** io.bfq.weight default for the group, 1..1000 (BFQ scheduler). */
  bfqWeight?: number;
  /** io.bfq.weight per device. */
  bfqWeightDevice?: { major: number; minor: number; weight: number }[];
  /** io.max entries, one line per device and limit. */
  max?: IoMaxEntry[];
}

export interface RdmaEntry {
  device: string;
  hcaHandles?: Limit;
  hcaObjects?: Limit;
}

export interface HugetlbEntry {
  /** As in the file names: "2MB", "1GB", "64KB". */
  pageSize: string;
  max: Limit;
}

export interface Resources {
  cpu?: CpuResources;
  memory?: MemoryResources;
  pids?: PidsResources;
  io?: IoResources;
  rdma?: RdmaEntry[];
  hugetlb?: HugetlbEntry[];
  /** Interface file -> value, written as given (OCI linux.resources.unified). */
  unified?: Record<string, string>;
}

/** One write: `value` into `file` of the group, which needs `controller` enabled ("cgroup" = core). */
export interface Setting {
  controller: string;
  file: string;
  value: string;
}

export const limitString = (v: Limit): string => (v === MAX ? MAX : String(v));
