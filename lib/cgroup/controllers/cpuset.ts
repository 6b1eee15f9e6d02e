import type { CpuResources, Setting } from "../types.ts";

// cpus/mems come with the cpu resources (as in OCI) but belong to the cpuset controller.
export function cpusetSettings(cpu: CpuResources | undefined): Setting[] {
  const out: Setting[] = [];
  if (cpu?.cpus !== undefined) out.push({ controller: "cpuset", file: "cpuset.cpus", value: cpu.cpus });
  if (cpu?.mems !== undefined) out.push({ controller: "cpuset", file: "cpuset.mems", value: cpu.mems });
  return out;
}
