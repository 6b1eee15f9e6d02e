// Opening a store: mounting bpffs where needed, creating <bpffs>/<store>/ and its pinned maps, and
// loading the exit program once. A store directory that exists already is used only when it is one
// hookshim would have made (StoreDirError otherwise): someone who could prepare it could otherwise
// hand every hook maps of their choosing.
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { BpfMap, MapFlag, MapType, ensureBpffs, isBpffs, type MapSpec } from "../bpf/index.ts";
import { isErrno } from "../sys/index.ts";
import { EXITED_KEY_SIZE, EXIT_STATUS, TRACING_KEY_SIZE } from "../../bpf/exitsnoop.ts";
import { DirLock } from "./lock.ts";
import { PIN, DEFAULT_STORE, bpffsRoot, storeDir } from "./paths.ts";
import { Meta, META, META_SLOTS } from "./eventlog.ts";
import { ensureExitProgram, type ExitProgramState } from "./exittrack.ts";
import { CONTAINER_KEY_SIZE, CONTAINER_RECORD_SIZE, EVENT_RECORD_SIZE, LAYOUT_VERSION, TRACING_VALUE, checkLayoutVersion } from "./layout.ts";
import { Store, type MapRole, type StoreMaps } from "./store.ts";
import { canMigrate, migrateStore } from "./migrate.ts";
import { StoreDamagedError, StoreDirError, StoreMissingError } from "./errors.ts";

export interface StoreOptions {
  /** bpffs mount point; default $HOOKSHIM_BPFFS, else /sys/fs/bpf */
  bpffs?: string;
  /** capacities, fixed when the store is created (an existing store keeps its own) */
  maxContainers?: number;
  maxEvents?: number;
  /** traced processes; also bounds exit statuses not yet collected */
  maxTracing?: number;
}

export const DEFAULT_CAPACITY = { maxContainers: 4096, maxEvents: 16384, maxTracing: 4096 } as const;

// meta first: its version decides whether the other maps may be read at all.
const ROLES: MapRole[] = ["meta", "containers", "events", "tracing", "exited", "cgroups"];

/** The maps of a store with these capacities (exported for probes that need a store's maps without a store). */
export function storeMapSpecs(o: StoreOptions): Record<MapRole, MapSpec> {
  const cap = { ...DEFAULT_CAPACITY, ...o };
  const objName = (role: string) => `hs_${role}`; // kernel object names are for bpftool; pins are the identity
  return {
    meta: { type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: META_SLOTS, name: objName("meta") },
    containers: {
      type: MapType.HASH, keySize: CONTAINER_KEY_SIZE, valueSize: CONTAINER_RECORD_SIZE,
      maxEntries: cap.maxContainers, flags: MapFlag.NO_PREALLOC, name: objName("containers"),
    },
    events: {
      type: MapType.HASH, keySize: 8, valueSize: EVENT_RECORD_SIZE,
      maxEntries: cap.maxEvents, flags: MapFlag.NO_PREALLOC, name: objName("events"),
    },
    tracing: {
      type: MapType.HASH, keySize: TRACING_KEY_SIZE, valueSize: TRACING_VALUE.size,
      maxEntries: cap.maxTracing, name: objName("tracing"),
    },
    exited: {
      type: MapType.HASH, keySize: EXITED_KEY_SIZE, valueSize: EXIT_STATUS.size,
      maxEntries: cap.maxTracing, name: objName("exited"),
    },
    // tracee's PopulateBpfMap target: cgroup ids of containers, for kernel-side filtering
    cgroups: {
      type: MapType.HASH, keySize: 8, valueSize: 4, maxEntries: cap.maxContainers, name: objName("cgroups"),
    },
  };
}

/** Mounts bpffs at `root` unless one is there; racing mounters serialize on the directory below it. */
function mountBpffs(root: string): void {
  if (isBpffs(root)) return;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const lock = new DirLock(root);
  try {
    lock.hold(() => ensureBpffs(root));
  } finally {
    lock.close();
  }
}

/**
 * Refuses a store directory hookshim would not have made: a symlink or non-directory, one not on
 * bpffs, one owned by another user, or one group or others may write (hookshim makes it 0700).
 */
export function checkStoreDir(store: string, dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new StoreDirError(store, dir, st.isSymbolicLink() ? "is a symbolic link" : "is not a directory");
  if (!isBpffs(dir)) throw new StoreDirError(store, dir, "is not on a bpffs");
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) throw new StoreDirError(store, dir, `is owned by uid ${st.uid}, not ${uid}`);
  if (st.mode & 0o022) throw new StoreDirError(store, dir, `has mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}: group or others may write it`);
}

function openMaps(store: string, dir: string, opts: StoreOptions, create: boolean): StoreMaps {
  const specs = storeMapSpecs(opts);
  const opened: Partial<StoreMaps> = {};
  try {
    for (const role of ROLES) {
      const spec = specs[role];
      const path = join(dir, PIN[role]);
      let map: BpfMap;
      try {
        map = BpfMap.fromPin(path);
      } catch (e) {
        if (!isErrno(e, "ENOENT")) throw e;
        if (!create) throw new StoreDamagedError(store, `is incomplete: ${path} is missing`);
        map = BpfMap.create(spec);
        if (role === "meta") new Meta(map).set(META.version, BigInt(LAYOUT_VERSION)); // before anyone can see it
        map.pin(path);
      }
      opened[role] = map;
      if (role === "meta") {
        const meta = new Meta(map);
        const shapeOk = map.type === spec.type && map.keySize === spec.keySize && map.valueSize === spec.valueSize;
        const found = shapeOk ? Number(meta.get(META.version)) : 0;
        if (create && shapeOk && canMigrate(found)) {
          // A writer upgrades an older store in place (lib/store/migrate.ts); the maps opened after
          // this one are the converted ones.
          const byPin = Object.fromEntries(ROLES.map((r) => [PIN[r], specs[r]]));
          migrateStore(store, dir, map, found, byPin);
        }
        const now = shapeOk ? Number(meta.get(META.version)) : 0;
        checkLayoutVersion(store, now, shapeOk ? "" : "meta map has another shape", shapeOk && canMigrate(now));
      } else if (map.type !== spec.type || map.keySize !== spec.keySize || map.valueSize !== spec.valueSize) {
        throw new StoreDamagedError(
          store,
          `map ${PIN[role]} holds ${map.keySize}-byte keys and ${map.valueSize}-byte values, expected ${spec.keySize} and ${spec.valueSize}`,
        );
      }
    }
    return opened as StoreMaps;
  } catch (e) {
    for (const m of Object.values(opened)) m.close();
    throw e;
  }
}

/**
 * Makes sure the store exists and its exit program runs: mounts bpffs where missing, creates
 * <bpffs>/<store>/ (0700) and the maps, loads and pins the exit program once.
 */
export function ensureRunning(store: string = DEFAULT_STORE, opts: StoreOptions = {}): ExitProgramState & { dir: string } {
  const { opened, exit } = start(store, opts);
  opened.close();
  return { ...exit, dir: opened.dir };
}

/** Opens (creating and starting where needed) a store for writing and reading. */
export function openStore(store: string = DEFAULT_STORE, opts: StoreOptions = {}): Store {
  return start(store, opts).opened;
}

function start(store: string, opts: StoreOptions): { opened: Store; exit: ExitProgramState } {
  const root = opts.bpffs ?? bpffsRoot();
  mountBpffs(root);
  const dir = storeDir(store, root);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    checkStoreDir(store, dir);
  }
  const lock = new DirLock(dir);
  try {
    return lock.hold(() => {
      const maps = openMaps(store, dir, opts, true);
      try {
        const exit = ensureExitProgram(dir, maps);
        return { opened: new Store(store, dir, maps, lock), exit };
      } catch (e) {
        for (const map of Object.values(maps)) map.close();
        throw e;
      }
    });
  } catch (e) {
    lock.close();
    throw e;
  }
}

/** Opens an existing store without creating or loading anything (readers: ps, events). */
export function openExistingStore(store: string = DEFAULT_STORE, opts: Pick<StoreOptions, "bpffs"> = {}): Store {
  const dir = storeDir(store, opts.bpffs ?? bpffsRoot());
  if (!existsSync(dir)) throw new StoreMissingError(store, dir);
  checkStoreDir(store, dir);
  const lock = new DirLock(dir);
  try {
    return new Store(store, dir, openMaps(store, dir, {}, false), lock);
  } catch (e) {
    lock.close();
    throw e;
  }
}

/** Unpins everything in the store (maps, the exit program's link) and removes its directory. */
export function resetStore(store: string = DEFAULT_STORE, opts: Pick<StoreOptions, "bpffs"> = {}): boolean {
  const dir = storeDir(store, opts.bpffs ?? bpffsRoot());
  if (!existsSync(dir)) return false;
  if (!isBpffs(dir)) throw new StoreDirError(store, dir, "is not on a bpffs");
  const lock = new DirLock(dir);
  try {
    lock.hold(() => {
      for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    });
  } finally {
    lock.close();
  }
  rmdirSync(dir);
  return true;
}
