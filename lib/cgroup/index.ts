export { CgroupManager, type ManagerOptions, type UpdateOptions, type UpdateResult, type GroupType } from "./manager.ts";
export { CgroupError, isCgroupError, type CgroupErrorKind } from "./errors.ts";
export { cgroupMount, discoverMount, type CgroupMount } from "./mount.ts";
export { verifyGroupPath, pidGroupPath, nestedGroupPath, parseProcCgroup } from "./paths.ts";
export { toResources, ociResourcesOf, cpuSharesToWeight, memorySwapToV2, type OciLinuxResources, type OciThrottle } from "./convert.ts";
export { resourceSettings, requiredControllers } from "./resources.ts";
export { watchEvents, type CgroupEvent, type WatchOptions } from "./events.ts";
export {
  readStats,
  parseFlatKeyed,
  parseNestedKeyed,
  parsePressure,
  parseIoStat,
  parseRdma,
  parseLimit,
  type CgroupStats,
  type FlatKeyed,
  type Pressure,
  type PressureLine,
  type IoStatEntry,
  type RdmaStatEntry,
  type HugetlbStat,
} from "./stats.ts";
export * from "./types.ts";
// The systemd driver itself (lib/cgroup/systemd.ts) is imported where it is used: it loads the D-Bus client.
export { escapeUnitName, scopeName, expandSlice, unitGroupPath, unitResources, deviceProperties, type UnitProperty } from "./systemd-units.ts";
