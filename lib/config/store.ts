// Which store a process uses, from hookshim's configuration: one answer for the hooks, the notifier,
// ps, events, store gc|reset and the gadgets, so what the hooks write is what the tools read.
// --store overrides the name; $HOOKSHIM_BPFFS (tests' own bpffs) overrides the mount point.
import type { StoreOptions } from "../store/index.ts";
import type { HookshimConfig } from "./index.ts";

export interface StoreLocation {
  name: string;
  options: StoreOptions;
}

export function storeLocation(config: Pick<HookshimConfig, "store" | "bpffs" | "capacity">, nameOverride?: string): StoreLocation {
  return {
    name: nameOverride ?? config.store,
    options: {
      bpffs: process.env.HOOKSHIM_BPFFS || config.bpffs,
      maxContainers: config.capacity.containers,
      maxEvents: config.capacity.events,
    },
  };
}
