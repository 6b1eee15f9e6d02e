// Filter maps a gadget's kernel program consults: BPF hash maps used as sets, key u64 -> value u32 1
// (tracee's PopulateBpfMap layout). Two sets are kept from the registry: container cgroup ids (what
// bpf_get_current_cgroup_id() returns) and container mount-namespace inodes (for programs that run
// where the cgroup is not the container's, e.g. after a process was moved out, or on cgroup v1).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, MapType } from "../bpf/index.ts";
import type { CgroupInfo, Registry } from "../containers/index.ts";

export const FILTER_KEY_SIZE = 8;
export const FILTER_VALUE_SIZE = 4;

/** A set map: u64 keys, u32 values, `maxEntries` elements. */
export function createFilterMap(name: string, maxEntries = 16384): BpfMap {
  return BpfMap.create({ type: MapType.HASH, keySize: FILTER_KEY_SIZE, valueSize: FILTER_VALUE_SIZE, maxEntries, name });
}

const keyOf = (id: bigint) => {
  const k = new Uint8Array(FILTER_KEY_SIZE);
  new DataView(k.buffer).setBigUint64(0, id, true);
  return k;
};
const idOf = (k: Uint8Array) => new DataView(k.buffer, k.byteOffset, k.byteLength).getBigUint64(0, true);

/** Drop every key of `map` not in `keep`. Returns how many were dropped. */
function pruneSet(map: BpfMap, keep: Set<bigint>): number {
  let dropped = 0;
  for (const k of [...map.keys()]) if (!keep.has(idOf(k)) && map.delete(k)) dropped++;
  return dropped;
}

/** Make `map` hold exactly `ids`. */
export function syncSetMap(map: BpfMap, ids: Iterable<bigint>): { size: number; dropped: number } {
  const keep = new Set(ids);
  const one = new Uint8Array(FILTER_VALUE_SIZE);
  one[0] = 1;
  for (const id of keep) map.update(keyOf(id), one);
  return { size: keep.size, dropped: pruneSet(map, keep) };
}

/** The ids in a set map. */
export function setMapIds(map: BpfMap): bigint[] {
  return [...map.keys()].map(idOf);
}

/**
 * Make `map` hold the cgroup ids of the registry's live containers that `accept` takes (nested
 * cgroups included), written by the registry's populateBpfMap; stale ids are dropped.
 */
export function syncCgroupFilter(map: BpfMap, registry: Registry, accept?: (info: CgroupInfo) => boolean): { size: number; dropped: number } {
  const keep = new Set<bigint>();
  const size = registry.populateBpfMap(
    {
      update(key, value) {
        map.update(key, value);
        keep.add(idOf(key));
      },
    },
    accept,
  );
  return { size, dropped: pruneSet(map, keep) };
}

/** Pids in a cgroup directory and every cgroup below it. */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      for (const line of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")) if (line) pids.push(Number(line));
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return; // removed meanwhile
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dir);
  return pids;
}

/** Inode of /proc/PID/ns/mnt, undefined when the process is gone. */
export function mntnsInode(pid: number): bigint | undefined {
  try {
    return statSync(`/proc/${pid}/ns/mnt`, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

/**
 * The mount namespaces of the registry's live containers that `accept` takes, from /proc/PID/ns/mnt
 * of the processes in their cgroups: inode -> container id. The host's (pid 1's, and ours: pid 1's
 * may be unreadable in a sandbox) is never one: a process that shares it is no more contained than
 * the host, and would let every host task through the filter.
 */
export function containerMntns(registry: Registry, accept?: (info: CgroupInfo) => boolean): Map<bigint, string> {
  const out = new Map<bigint, string>();
  const host = new Set([mntnsInode(1), mntnsInode(process.pid)]);
  for (const info of registry.containers()) {
    if (accept && !accept(info)) continue;
    for (const pid of cgroupPids(join(registry.mountpoint, info.path))) {
      const ino = mntnsInode(pid);
      if (ino !== undefined && !host.has(ino) && !out.has(ino)) out.set(ino, info.containerId);
    }
  }
  return out;
}

/** Make `map` hold the mount namespaces of the registry's containers (see containerMntns). */
export function syncMntnsFilter(map: BpfMap, registry: Registry, accept?: (info: CgroupInfo) => boolean): { size: number; dropped: number } {
  return syncSetMap(map, containerMntns(registry, accept).keys());
}
