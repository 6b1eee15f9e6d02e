// The kernel's CPU lists (/sys/devices/system/cpu/{possible,online}, "0-3,6"): per-CPU map values
// have one slot per possible CPU; perf events are opened on an online one.
import { readText } from "../sys/file.ts";

/** "0-3,6" -> [0, 1, 2, 3, 6] */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    if (!part) continue;
    const [lo, hi] = part.split("-").map(Number);
    for (let c = lo!; c <= (hi ?? lo!); c++) cpus.push(c);
  }
  return cpus;
}

let possibleCpuCount = 0;
/** Number of possible CPUs: per-CPU values have one slot each. */
export function possibleCpus(): number {
  possibleCpuCount ||= parseCpuList(readText("/sys/devices/system/cpu/possible")).length;
  return possibleCpuCount;
}

export function onlineCpus(): number[] {
  return parseCpuList(readText("/sys/devices/system/cpu/online"));
}
