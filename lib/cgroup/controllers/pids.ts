import { limitString, type PidsResources, type Setting } from "../types.ts";

export function pidsSettings(pids: PidsResources | undefined): Setting[] {
  return pids ? [{ controller: "pids", file: "pids.max", value: limitString(pids.max) }] : [];
}
