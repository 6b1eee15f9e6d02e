import { limitString, type RdmaEntry, type Setting } from "../types.ts";

export function rdmaSettings(rdma: RdmaEntry[] | undefined): Setting[] {
  const out: Setting[] = [];
  for (const e of rdma ?? []) {
    const parts = [e.device];
    if (e.hcaHandles !== undefined) parts.push(`hca_handle=${limitString(e.hcaHandles)}`);
    if (e.hcaObjects !== undefined) parts.push(`hca_object=${limitString(e.hcaObjects)}`);
    if (parts.length > 1) out.push({ controller: "rdma", file: "rdma.max", value: parts.join(" ") });
  }
  return out;
}
