// What every command receives besides its own options: the global options (lib/cli/commands.ts
// GLOBAL_OPTIONS), and the store they and hookshim's configuration select.
import type { ParsedCommand } from "../options/index.ts";
import type { StoreLocation } from "../config/store.ts";

export interface GlobalOptions {
  /** --config FILE, else $HOOKSHIM_CONFIG; undefined means /etc/hookshim/config.json then defaults */
  configPath?: string;
  /** --store NAME: pin directory under bpffs, overriding the configuration's */
  store?: string;
  debug: boolean;
}

export type CommandMain = (p: ParsedCommand, g: GlobalOptions) => Promise<number> | number;

/** The store the configuration names (its bpffs and capacity too), --store overriding the name. */
export async function configuredStore(g: GlobalOptions): Promise<StoreLocation> {
  const [{ loadConfig }, { storeLocation }] = await Promise.all([import("../config/index.ts"), import("../config/store.ts")]);
  return storeLocation(loadConfig(g.configPath), g.store);
}
