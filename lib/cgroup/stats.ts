// Typed reading of a group's statistics. Files of controllers that are not enabled are absent from
// the group directory, and their sections are absent from the result.
import { readdir, readText } from "../sys/file.ts";
import { cgroupDeleted, fsCode, CgroupError } from "./errors.ts";
import { MAX, type Limit } from "./types.ts";
import { prune } from "./util.ts";

export type FlatKeyed = Record<string, number>;

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in µs. */
  total: number;
}
export interface Pressure {
  some: PressureLine;
  /** Absent in cpu.pressure on kernels before 5.13. */
  full?: PressureLine;
}

export interface IoStatEntry {
  major: number;
  minor: number;
  rbytes: number;
  wbytes: number;
  rios: number;
  wios: number;
  dbytes: number;
  dios: number;
}

export interface RdmaStatEntry {
  device: string;
  hcaHandles: Limit;
  hcaObjects: Limit;
}

export interface HugetlbStat {
  pageSize: string;
  current: number;
  max: Limit;
  /** hugetlb.<size>.events "max": allocations that failed on the limit. */
  failcnt?: number;
}

export interface CgroupStats {
  /** cpu.stat: usage_usec, user_usec, system_usec (always), nr_periods, nr_throttled, throttled_usec… */
  cpu?: FlatKeyed;
  memory?: {
    current?: number;
    peak?: number;
    swapCurrent?: number;
    swapPeak?: number;
    max?: Limit;
    stat?: FlatKeyed;
    /** memory.events: low, high, max, oom, oom_kill, oom_group_kill. */
    events?: FlatKeyed;
  };
  pids?: { current?: number; max?: Limit; peak?: number };
  io?: IoStatEntry[];
  rdma?: { current: RdmaStatEntry[]; max: RdmaStatEntry[] };
  hugetlb?: HugetlbStat[];
  pressure?: { cpu?: Pressure; memory?: Pressure; io?: Pressure };
}

/**
 * "max" or a number. Some limits (hugetlb.*.max) print the kernel's internal ceiling
 * (PAGE_COUNTER_MAX pages, ~2^63 bytes) instead of "max"; that is unlimited too, and beyond what a
 * double holds exactly, so it reads as MAX.
 */
export function parseLimit(s: string): Limit {
  const t = s.trim();
  if (t === MAX) return MAX;
  const n = Number(t);
  return n > Number.MAX_SAFE_INTEGER ? MAX : n;
}

/** "key value" lines (cpu.stat, memory.stat, memory.events). */
export function parseFlatKeyed(text: string): FlatKeyed {
  const out: FlatKeyed = {};
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp > 0) out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

/** "name k=v k=v" lines (io.stat, rdma.*, *.pressure), as [name, {k: v}]. */
export function parseNestedKeyed(text: string): [string, Record<string, string>][] {
  const out: [string, Record<string, string>][] = [];
  for (const line of text.split("\n")) {
    const words = line.split(" ").filter(Boolean);
    if (!words.length) continue;
    const fields: Record<string, string> = {};
    for (const w of words.slice(1)) {
      const eq = w.indexOf("=");
      if (eq > 0) fields[w.slice(0, eq)] = w.slice(eq + 1);
    }
    out.push([words[0]!, fields]);
  }
  return out;
}

export function parsePressure(text: string): Pressure {
  const lines = new Map(
    parseNestedKeyed(text).map(([name, f]) => [
      name,
      { avg10: Number(f.avg10), avg60: Number(f.avg60), avg300: Number(f.avg300), total: Number(f.total) },
    ]),
  );
  const some = lines.get("some");
  if (!some) throw new CgroupError("io", `malformed pressure file: ${JSON.stringify(text.slice(0, 80))}`);
  const full = lines.get("full");
  return full ? { some, full } : { some };
}

export function parseIoStat(text: string): IoStatEntry[] {
  return parseNestedKeyed(text).map(([dev, f]) => {
    const [major, minor] = dev.split(":").map(Number) as [number, number];
    const n = (k: string) => Number(f[k] ?? 0);
    return { major, minor, rbytes: n("rbytes"), wbytes: n("wbytes"), rios: n("rios"), wios: n("wios"), dbytes: n("dbytes"), dios: n("dios") };
  });
}

export function parseRdma(text: string): RdmaStatEntry[] {
  return parseNestedKeyed(text).map(([device, f]) => ({
    device,
    hcaHandles: parseLimit(f.hca_handle ?? "0"),
    hcaObjects: parseLimit(f.hca_object ?? "0"),
  }));
}

const HUGETLB_CURRENT = /^hugetlb\.([0-9]+[KMG]B)\.current$/;

/** Read every statistic this group exposes. */
export function readStats(dir: string): CgroupStats {
  let names: Set<string>;
  try {
    names = new Set(readdir(dir).map((d) => d.name));
  } catch (e) {
    if (fsCode(e) === "ENOENT") throw cgroupDeleted(dir);
    throw new CgroupError("io", `reading ${dir}: ${(e as Error).message}`, { cause: e });
  }
  // A file listed by readdir can vanish with an rmdir in between; treat that as absent.
  const read = (file: string): string | undefined => {
    if (!names.has(file)) return undefined;
    try {
      return readText(`${dir}/${file}`);
    } catch (e) {
      if (fsCode(e) === "ENOENT" || fsCode(e) === "ENODEV") return undefined;
      // Some files exist but refuse reads on kernels without the feature (e.g. PSI with psi=0).
      if (fsCode(e) === "EOPNOTSUPP") return undefined;
      throw new CgroupError("io", `reading ${dir}/${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  const num = (file: string) => {
    const t = read(file);
    return t === undefined ? undefined : Number(t.trim());
  };
  const limit = (file: string) => {
    const t = read(file);
    return t === undefined ? undefined : parseLimit(t);
  };
  const flat = (file: string) => {
    const t = read(file);
    return t === undefined ? undefined : parseFlatKeyed(t);
  };

  const stats: CgroupStats = {};
  const cpu = flat("cpu.stat");
  if (cpu) stats.cpu = cpu;

  if (names.has("memory.current")) {
    stats.memory = prune({
      current: num("memory.current"),
      peak: num("memory.peak"),
      swapCurrent: num("memory.swap.current"),
      swapPeak: num("memory.swap.peak"),
      max: limit("memory.max"),
      stat: flat("memory.stat"),
      events: flat("memory.events"),
    });
  }

  if (names.has("pids.current"))
    stats.pids = prune({ current: num("pids.current"), max: limit("pids.max"), peak: num("pids.peak") });

  const io = read("io.stat");
  if (io !== undefined) stats.io = parseIoStat(io);

  const rdmaCurrent = read("rdma.current");
  if (rdmaCurrent !== undefined) stats.rdma = { current: parseRdma(rdmaCurrent), max: parseRdma(read("rdma.max") ?? "") };

  const hugetlb: HugetlbStat[] = [];
  for (const name of names) {
    const m = HUGETLB_CURRENT.exec(name);
    if (!m) continue;
    const size = m[1]!;
    const current = num(name);
    if (current === undefined) continue;
    const failcnt = flat(`hugetlb.${size}.events`)?.max;
    hugetlb.push(prune({ pageSize: size, current, max: limit(`hugetlb.${size}.max`) ?? MAX, failcnt }));
  }
  if (hugetlb.length) stats.hugetlb = hugetlb.sort((a, b) => pageBytes(a.pageSize) - pageBytes(b.pageSize));

  const pressure: NonNullable<CgroupStats["pressure"]> = {};
  for (const r of ["cpu", "memory", "io"] as const) {
    const t = read(`${r}.pressure`);
    if (t) pressure[r] = parsePressure(t);
  }
  if (Object.keys(pressure).length) stats.pressure = pressure;
  return stats;
}

function pageBytes(size: string): number {
  const n = parseInt(size, 10);
  return n * ({ K: 1 << 10, M: 1 << 20, G: 1 << 30 }[size.at(-2) as "K" | "M" | "G"] ?? 1);
}
