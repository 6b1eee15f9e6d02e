import { limitString, type IoResources, type Setting } from "../types.ts";

// io.max and per-device io.bfq.weight take one device per write, so each entry is its own setting.
export function ioSettings(io: IoResources | undefined): Setting[] {
  const out: Setting[] = [];
  if (!io) return out;
  if (io.bfqWeight !== undefined) out.push({ controller: "io", file: "io.bfq.weight", value: String(io.bfqWeight) });
  for (const d of io.bfqWeightDevice ?? [])
    out.push({ controller: "io", file: "io.bfq.weight", value: `${d.major}:${d.minor} ${d.weight}` });
  for (const e of io.max ?? [])
    out.push({ controller: "io", file: "io.max", value: `${e.major}:${e.minor} ${e.type}=${limitString(e.value)}` });
  return out;
}
