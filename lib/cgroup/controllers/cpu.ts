import { limitString, type CpuResources, type Setting } from "../types.ts";

export function cpuSettings(cpu: CpuResources | undefined): Setting[] {
  const out: Setting[] = [];
  if (!cpu) return out;
  if (cpu.weight !== undefined) out.push({ controller: "cpu", file: "cpu.weight", value: String(cpu.weight) });
  if (cpu.max !== undefined) {
    const { quota, period } = cpu.max;
    out.push({ controller: "cpu", file: "cpu.max", value: period === undefined ? limitString(quota) : `${limitString(quota)} ${period}` });
  }
  return out;
}
