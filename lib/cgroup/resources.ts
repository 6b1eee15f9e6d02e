import { cpuSettings } from "./controllers/cpu.ts";
import { cpusetSettings } from "./controllers/cpuset.ts";
import { hugetlbSettings } from "./controllers/hugetlb.ts";
import { ioSettings } from "./controllers/io.ts";
import { memorySettings } from "./controllers/memory.ts";
import { pidsSettings } from "./controllers/pids.ts";
import { rdmaSettings } from "./controllers/rdma.ts";
import { unifiedSettings } from "./controllers/unified.ts";
import { CgroupError } from "./errors.ts";
import type { Resources, Setting } from "./types.ts";

/** Every write a Resources value stands for, in order; `unified` last so it can override. */
export function resourceSettings(res: Resources): Setting[] {
  for (const file of Object.keys(res.unified ?? {}))
    if (file.includes("/") || file === "." || file === "..")
      throw new CgroupError("invalid-value", `unified key ${JSON.stringify(file)} is not an interface file name`);
  return [
    ...cpusetSettings(res.cpu),
    ...cpuSettings(res.cpu),
    ...memorySettings(res.memory),
    ...pidsSettings(res.pids),
    ...ioSettings(res.io),
    ...rdmaSettings(res.rdma),
    ...hugetlbSettings(res.hugetlb),
    ...unifiedSettings(res.unified),
  ];
}

/** Controllers (not "cgroup" core) the settings need enabled in the group's parent. */
export function requiredControllers(settings: Setting[]): string[] {
  return [...new Set(settings.map((s) => s.controller).filter((c) => c !== "cgroup"))];
}
