// Which configuration file is in force. Kept apart from the zod schema so the runtime shim's
// pass-through path (runc state, kill, delete, ...) can find the file without loading zod.
// lib/sys's statx, not node:fs, which the shim's pass-through path does not load
import { exists } from "../sys/stat.ts";

export const SYSTEM_CONFIG = "/etc/hookshim/config.json";

/** An explicit file (which must then exist), else /etc/hookshim/config.json when present, else none (the defaults). */
export function configFileInUse(explicitPath?: string): string | undefined {
  return explicitPath ?? (exists(SYSTEM_CONFIG) ? SYSTEM_CONFIG : undefined);
}
