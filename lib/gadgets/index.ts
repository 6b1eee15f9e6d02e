// The gadgets hookshim has, by category and name: `hookshim <category> <gadget>` (Inspektor Gadget's
// gadget registry). A new gadget is one file here and one line in GADGETS.
export { runGadget, gadgetHelp, gadgetValues, sleepUnlessAborted, type RunOptions } from "./run.ts";
export { gadgetCommand, gadgetCommands } from "./command.ts";
export { commonParams, matchesFilter, GADGET_CATEGORIES, type Gadget, type GadgetCategory, type GadgetType, type GadgetContext, type ContainerRow, type ContainerFilter } from "./gadget.ts";
export {
  formatTable, tableHeader, tableRow, rowToJSON, sortRows, parseSort, parseOutput, visibleColumns, truncate, formatBytes, shortId, signalName,
  type Column, type CellValue, type SortKey, type OutputMode,
} from "./columns.ts";
export { ContainerDirectory, ociRuntimeOf, type ContainerView } from "./containers.ts";
export {
  createFilterMap, syncSetMap, setMapIds, syncCgroupFilter, syncMntnsFilter, containerMntns, cgroupPids, mntnsInode,
} from "./filtermap.ts";
export { ExitTracer, decodeExitRecord, exitRow, exittraceOffsets, type ExitRecord, type ExitRow } from "./trace-exit.ts";
export { sampleCgroup, cpuPercent, v1Controllers, type CgroupSample, type CgroupTopRow } from "./top-cgroups.ts";

import type { Gadget, GadgetCategory } from "./gadget.ts";
import { snapshotContainers } from "./snapshot-containers.ts";
import { traceLifecycle } from "./trace-lifecycle.ts";
import { traceExit } from "./trace-exit.ts";
import { topCgroups } from "./top-cgroups.ts";

// Gadget<never>: a catalog holds gadgets of different row types; runGadget is generic over them.
export const GADGETS: readonly Gadget<never>[] = [
  snapshotContainers, traceLifecycle, traceExit, topCgroups,
] as unknown as Gadget<never>[];

export function findGadget(category: GadgetCategory, name: string): Gadget<never> | undefined {
  return GADGETS.find((g) => g.category === category && g.name === name);
}

export function gadgetsOf(category: GadgetCategory): Gadget<never>[] {
  return GADGETS.filter((g) => g.category === category);
}
