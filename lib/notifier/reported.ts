// What this notifier (or the one before a restart) has told about each container, in a small map
// pinned in the store directory, so a restarted notifier reports survivors once and never twice:
//   - "pending": `precreate` written, the pid not known yet; the value says where the pid will appear,
//     so a notifier started after a crash picks the wait up where the dead one left it;
//   - "reported": `add` written for pid.
//   key id[128] -> value { u32 pid; u32 state; u64 traceId; char pidPath[256] }
import { existsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, MapType } from "../bpf/index.ts";
import { containerKey, LIMITS } from "../store/index.ts";

export const REPORTED_PIN = "notifier_reported";
const PATH_SIZE = 256;
const VALUE_SIZE = 16 + PATH_SIZE;

/** How the pid of a pending container is read from its path. */
export type PidSource = "pidfile" | "runc-state";
const STATES = ["reported", "pidfile", "runc-state"] as const;

export type Reported =
  | { state: "reported"; pid: number; /** exit-tracking id; 0n when the pid is not traced */ traceId: bigint }
  | { state: PidSource; path: string };

export class ReportedContainers {
  private constructor(private readonly map: BpfMap) {}

  /**
   * Opens the pinned map, creating it when absent. A map of another layout (an older notifier) is
   * replaced: what it knew is lost, so those containers are reported once more at worst.
   */
  static open(storeDir: string, maxEntries = 16384): ReportedContainers {
    const pin = join(storeDir, REPORTED_PIN);
    if (existsSync(pin)) {
      const map = BpfMap.fromPin(pin);
      if (map.valueSize === VALUE_SIZE && map.keySize === LIMITS.id) return new ReportedContainers(map);
      map.close();
      unlinkSync(pin);
    }
    const map = BpfMap.create({ type: MapType.HASH, keySize: LIMITS.id, valueSize: VALUE_SIZE, maxEntries, name: "ntf_reported" });
    map.pin(pin);
    return new ReportedContainers(map);
  }

  get(id: string): Reported | undefined {
    const v = this.map.lookup(containerKey(id));
    return v && decode(v);
  }

  set(id: string, r: Reported): void {
    const v = new Uint8Array(VALUE_SIZE);
    const dv = new DataView(v.buffer);
    dv.setUint32(4, STATES.indexOf(r.state), true);
    if (r.state === "reported") {
      dv.setUint32(0, r.pid, true);
      dv.setBigUint64(8, r.traceId, true);
    } else {
      const path = new TextEncoder().encode(r.path);
      // a longer path is not remembered: after a restart that container's pid wait is not resumed
      if (path.length >= PATH_SIZE) return;
      v.set(path, 16);
    }
    this.map.update(containerKey(id), v);
  }

  delete(id: string): void {
    this.map.delete(containerKey(id));
  }

  entries(): [string, Reported][] {
    return [...this.map.entries()].map(([k, v]) => [cString(k), decode(v)]);
  }

  close(): void {
    this.map.close();
  }
}

function decode(v: Uint8Array): Reported {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const state = STATES[dv.getUint32(4, true)] ?? "reported";
  if (state === "reported") return { state, pid: dv.getUint32(0, true), traceId: dv.getBigUint64(8, true) };
  return { state, path: cString(v.subarray(16, 16 + PATH_SIZE)) };
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}
