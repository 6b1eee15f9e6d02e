import { limitString, type MemoryResources, type Setting, type Limit } from "../types.ts";

const FILES: [keyof MemoryResources, string][] = [
  ["min", "memory.min"],
  ["low", "memory.low"],
  ["high", "memory.high"],
  // swap before max: lowering max below current usage reclaims into swap, which must be allowed first.
  ["swapMax", "memory.swap.max"],
  ["max", "memory.max"],
];

export function memorySettings(mem: MemoryResources | undefined): Setting[] {
  const out: Setting[] = [];
  if (!mem) return out;
  for (const [key, file] of FILES) {
    const v = mem[key] as Limit | undefined;
    if (v !== undefined) out.push({ controller: "memory", file, value: limitString(v) });
  }
  if (mem.oomGroup !== undefined)
    out.push({ controller: "memory", file: "memory.oom.group", value: mem.oomGroup ? "1" : "0" });
  return out;
}
