// Upgrading a store in place from an older record layout, so that installing a new hookshim on a
// host with running containers keeps their records, their exit tracking and every container start
// working. Without it the first hook after the upgrade would meet StoreVersionError and fail closed.
//
// Each step converts one map whose shape is the old one: it creates the new map with the old one's
// capacity, copies every entry converted, pins it under a temporary name and renames it over the old
// pin (bpffs renames are atomic). Maps already in the new shape are left alone, and the meta map's
// version is raised last, so a migration cut short (a crash, a full map) is finished by the next
// writer. The exit program keeps the old maps until ensureExitProgram sees they are not the store's
// any more and loads it again on the new ones (lib/store/exittrack.ts).
//
// Only writers (openStore) migrate, under the store's lock; readers (ps, events) keep refusing a
// store in an older layout, so a reader never changes what it reads.
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, type MapSpec } from "../bpf/index.ts";
import { isErrno } from "../sys/index.ts";
import { TASK_INFO } from "../../bpf/exitsnoop.ts";
import { Meta, META } from "./eventlog.ts";
import { CONTAINER_RECORD_SIZE, LAYOUT_VERSION, TRACING_VALUE } from "./layout.ts";
import { PIN } from "./paths.ts";
import { liveStartTicks } from "./process.ts";
import { StoreDamagedError } from "./errors.ts";

/** Layout 1's sizes, as it was released: the container record lacked pidStartTicks at offset 72. */
export const V1 = { containerRecordSize: 760, pidStartTicksAt: 72, tracingValueSize: TASK_INFO.size } as const;

/** A pin being written by a migration; one left by a migration cut short is removed before the next. */
const MIGRATING_SUFFIX = "_migrating"; // bpffs refuses names with a dot

export interface MigrationResult {
  from: number;
  to: number;
  /** entries copied, per pin name */
  copied: Record<string, number>;
}

/** One map's conversion from the previous layout: which pin, how to recognise it, how to convert a value. */
interface MapStep {
  pin: string;
  oldValueSize: number;
  newValueSize: number;
  convert(key: Uint8Array, value: Uint8Array): Uint8Array;
}

const V1_TO_V2: MapStep[] = [
  {
    pin: PIN.containers,
    oldValueSize: V1.containerRecordSize,
    newValueSize: CONTAINER_RECORD_SIZE,
    // pidStartTicks 0 means unknown: lib/store/containers.ts fills it in from /proc while the pid lives.
    convert: (_key, v) => {
      const out = new Uint8Array(CONTAINER_RECORD_SIZE);
      out.set(v.subarray(0, V1.pidStartTicksAt), 0);
      out.set(v.subarray(V1.pidStartTicksAt), V1.pidStartTicksAt + 8);
      return out;
    },
  },
  {
    pin: PIN.tracing,
    oldValueSize: V1.tracingValueSize,
    newValueSize: TRACING_VALUE.size,
    // The traced process's start time: read now while it lives (its exit would have removed the
    // entry), 0 otherwise, which the next gc treats as stale.
    convert: (key, v) => {
      const out = new Uint8Array(TRACING_VALUE.size);
      out.set(v, 0);
      const pid = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0, true);
      new DataView(out.buffer).setBigUint64(TRACING_VALUE.startTicks, liveStartTicks(pid) ?? 0n, true);
      return out;
    },
  },
];

/** The steps from each older version to the next; a version without one cannot be upgraded. */
const STEPS: Record<number, MapStep[]> = { 1: V1_TO_V2 };

/** Whether a store in layout `version` can be upgraded to this hookshim's. */
export function canMigrate(version: number): boolean {
  for (let v = version; v < LAYOUT_VERSION; v++) if (!STEPS[v]) return false;
  return version < LAYOUT_VERSION;
}

/**
 * Upgrades the store in `dir` from layout `from` to LAYOUT_VERSION. The caller holds the store's
 * lock and has checked canMigrate(from). `specs` gives each pin's type, key size and flags.
 */
export function migrateStore(store: string, dir: string, meta: BpfMap, from: number, specs: Record<string, MapSpec>): MigrationResult {
  const copied: Record<string, number> = {};
  for (let v = from; v < LAYOUT_VERSION; v++) {
    for (const step of STEPS[v]!) copied[step.pin] = (copied[step.pin] ?? 0) + migrateMap(store, dir, step, specs[step.pin]!);
    new Meta(meta).set(META.version, BigInt(v + 1));
  }
  return { from, to: LAYOUT_VERSION, copied };
}

function migrateMap(store: string, dir: string, step: MapStep, spec: MapSpec): number {
  const path = join(dir, step.pin);
  const temp = path + MIGRATING_SUFFIX;
  rmSync(temp, { force: true });
  let old: BpfMap;
  try {
    old = BpfMap.fromPin(path);
  } catch (e) {
    if (isErrno(e, "ENOENT")) throw new StoreDamagedError(store, `is incomplete: ${path} is missing`);
    throw e;
  }
  try {
    if (old.valueSize === step.newValueSize) return 0; // converted by a migration cut short after its rename
    if (old.valueSize !== step.oldValueSize || old.keySize !== spec.keySize || old.type !== spec.type)
      throw new StoreDamagedError(store, `map ${step.pin} holds ${old.keySize}-byte keys and ${old.valueSize}-byte values, which no layout has`);
    const next = BpfMap.create({ ...spec, valueSize: step.newValueSize, maxEntries: old.maxEntries });
    try {
      let n = 0;
      for (const [key, value] of old.entries()) {
        next.update(key, step.convert(key, value));
        n++;
      }
      next.pin(temp);
      renameSync(temp, path);
      return n;
    } finally {
      next.close();
    }
  } finally {
    old.close();
  }
}
