// What systemd needs to hear to make a cgroup: unit names, slice paths, and Resources as transient
// unit properties (the D-Bus names and signatures of org.freedesktop.systemd1, systemd 252). Pure
// functions, like the controllers: settings in, properties out. What has no property (rdma, hugetlb,
// unified files, memory.oom.group, per-device bfq weights) comes back as `rest`, for the cgroupfs
// manager to write under the delegated unit.
import type { DeviceRule } from "../devices/rule.ts";
import { CgroupError } from "./errors.ts";
import { MAX, type IoLimitType, type Limit, type Resources } from "./types.ts";

/** One property of StartTransientUnit's a(sv): name, D-Bus signature of the value, value. */
export interface UnitProperty {
  name: string;
  signature: string;
  value: unknown;
}

/** systemd's "infinity" for a uint64 limit. */
export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
/** cpu.max's period when the resources name none (the kernel's default, and systemd's). */
const DEFAULT_PERIOD_USEC = 100_000;

const UNIT_NAME_MAX = 255;
// "-" stays: it separates a slice's ancestors, but a scope's name has no hierarchy
const UNIT_CHAR = /[A-Za-z0-9:_.-]/;

/**
 * A string as one unit-name component, escaped as systemd-escape does except that "-" is kept: a
 * leading "." and every byte outside [A-Za-z0-9:_.-] ("/" included) become \xNN. Container ids
 * are hostile input: the result can never name another unit type or a path.
 */
export function escapeUnitName(s: string): string {
  let out = "";
  const bytes = new TextEncoder().encode(s);
  for (let i = 0; i < bytes.length; i++) {
    const c = String.fromCharCode(bytes[i]!);
    if (bytes[i]! < 0x80 && UNIT_CHAR.test(c) && !(i === 0 && c === ".")) out += c;
    else out += `\\x${bytes[i]!.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** `prefix-<escaped id>.scope`, refused when longer than systemd allows. */
export function scopeName(prefix: string, id: string): string {
  const name = `${prefix}-${escapeUnitName(id)}.scope`;
  if (name.length > UNIT_NAME_MAX) throw new CgroupError("invalid-value", `unit name for container ${JSON.stringify(id.slice(0, 64))}... is longer than ${UNIT_NAME_MAX} characters`);
  return name;
}

const SLICE_NAME = /^[A-Za-z0-9:_.\\-]+\.slice$/;

/**
 * The cgroup path of a slice: "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice, "-.slice" the root
 * (systemd's unit_name_to_path for slices; containerd/cgroups ExpandSlice).
 */
export function expandSlice(slice: string): string {
  if (!SLICE_NAME.test(slice) || slice.includes("/")) throw new CgroupError("invalid-value", `${JSON.stringify(slice)} is not a slice name (NAME.slice)`);
  if (slice === "-.slice") return "/";
  const name = slice.slice(0, -".slice".length);
  if (name.startsWith("-") || name.endsWith("-") || name.includes("--")) throw new CgroupError("invalid-value", `${JSON.stringify(slice)} is not a valid slice name`);
  let path = "";
  let prefix = "";
  for (const part of name.split("-")) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** The cgroup path of a unit in a slice, relative to the cgroup2 mount. */
export function unitGroupPath(slice: string, unit: string): string {
  const parent = expandSlice(slice);
  return parent === "/" ? `/${unit}` : `${parent}/${unit}`;
}

function limit(v: Limit): bigint {
  return v === MAX ? UINT64_MAX : BigInt(v);
}

/** "0-3,6" as systemd's AllowedCPUs/AllowedMemoryNodes byte array: bit N of byte N/8 for CPU N. */
export function cpuMask(list: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new CgroupError("invalid-value", `cpu list ${JSON.stringify(list)}: ${JSON.stringify(part)} is not N or N-M`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 8191) throw new CgroupError("invalid-value", `cpu list ${JSON.stringify(list)}: range ${part} is out of order or too large`);
    for (let n = lo; n <= hi; n++) {
      while (bytes.length <= n >> 3) bytes.push(0);
      bytes[n >> 3]! |= 1 << (n & 7);
    }
  }
  return bytes;
}

/** io.bfq.weight (1..1000) as systemd's IOWeight (1..10000, io.weight's range), scaled linearly. */
export function bfqToIoWeight(w: number): number {
  return Math.round(1 + ((w - 1) * 9999) / 999);
}

const IO_PROPERTY: Record<IoLimitType, string> = {
  rbps: "IOReadBandwidthMax",
  wbps: "IOWriteBandwidthMax",
  riops: "IOReadIOPSMax",
  wiops: "IOWriteIOPSMax",
};

export interface UnitResources {
  properties: UnitProperty[];
  /** what no property expresses: the cgroupfs manager writes it under the unit */
  rest: Resources;
}

/** Resources as transient unit properties, plus what is left for the cgroupfs manager. */
export function unitResources(res: Resources): UnitResources {
  const p: UnitProperty[] = [];
  const t = (name: string, value: bigint | number) => p.push({ name, signature: "t", value: BigInt(value) });
  const rest: Resources = {};

  const cpu = res.cpu;
  if (cpu?.weight !== undefined) t("CPUWeight", cpu.weight);
  if (cpu?.max) {
    const period = cpu.max.period ?? DEFAULT_PERIOD_USEC;
    if (cpu.max.period !== undefined) t("CPUQuotaPeriodUSec", period);
    // systemd takes the quota per second of wall time; "max" is no quota
    t("CPUQuotaPerSecUSec", cpu.max.quota === MAX ? UINT64_MAX : (BigInt(cpu.max.quota) * 1_000_000n) / BigInt(period));
  }
  if (cpu?.cpus) p.push({ name: "AllowedCPUs", signature: "ay", value: Buffer.from(cpuMask(cpu.cpus)) });
  if (cpu?.mems) p.push({ name: "AllowedMemoryNodes", signature: "ay", value: Buffer.from(cpuMask(cpu.mems)) });

  const mem = res.memory;
  if (mem) {
    if (mem.min !== undefined) t("MemoryMin", limit(mem.min));
    if (mem.low !== undefined) t("MemoryLow", limit(mem.low));
    if (mem.high !== undefined) t("MemoryHigh", limit(mem.high));
    if (mem.max !== undefined) t("MemoryMax", limit(mem.max));
    if (mem.swapMax !== undefined) t("MemorySwapMax", limit(mem.swapMax));
    if (mem.oomGroup !== undefined) rest.memory = { oomGroup: mem.oomGroup };
  }
  if (res.pids) t("TasksMax", limit(res.pids.max));

  const io = res.io;
  if (io) {
    if (io.bfqWeight !== undefined) t("IOWeight", bfqToIoWeight(io.bfqWeight));
    if (io.bfqWeightDevice?.length) rest.io = { bfqWeightDevice: io.bfqWeightDevice };
    const byProperty = new Map<string, [string, bigint][]>();
    for (const e of io.max ?? []) {
      const name = IO_PROPERTY[e.type];
      const list = byProperty.get(name) ?? [];
      list.push([`/dev/block/${e.major}:${e.minor}`, limit(e.value)]);
      byProperty.set(name, list);
    }
    for (const [name, value] of byProperty) p.push({ name, signature: "a(st)", value });
  }
  if (res.rdma?.length) rest.rdma = res.rdma;
  if (res.hugetlb?.length) rest.hugetlb = res.hugetlb;
  if (res.unified && Object.keys(res.unified).length) rest.unified = res.unified;
  return { properties: p, rest };
}

/**
 * The rules as DevicePolicy/DeviceAllow, when they map: a deny-all followed by allows only (what
 * runc and podman write). An allow-all maps to DevicePolicy=auto with no list. Anything else (a
 * deny after an allow, a wildcard major) has no systemd form: undefined, and the device filter alone
 * enforces it. `majorName` finds a wildcard-minor major's name in /proc/devices ("char-pts").
 */
export function deviceProperties(rules: DeviceRule[], majorName: (type: "c" | "b", major: number) => string | undefined): UnitProperty[] | undefined {
  const isAll = (r: DeviceRule) => (r.type ?? "a") === "a" && r.major == null && r.minor == null;
  const rwm = (r: DeviceRule) => (r.access ?? "rwm").split("").filter((c) => "rwm".includes(c)).join("");
  if (!rules.length || rules[0]!.allow || !isAll(rules[0]!) || rwm(rules[0]!) !== "rwm") {
    if (rules.length === 1 && rules[0]!.allow && isAll(rules[0]!)) return [{ name: "DevicePolicy", signature: "s", value: "auto" }];
    return undefined;
  }
  const allow: [string, string][] = [];
  for (const r of rules.slice(1)) {
    if (!r.allow) return undefined;
    const type = r.type ?? "a";
    if (type !== "c" && type !== "b") return undefined;
    if (r.major == null || r.major < 0) {
      // "c *:* m" (mknod of any char device) has a systemd form: "char-*"
      if (r.minor == null || r.minor < 0) {
        allow.push([type === "c" ? "char-*" : "block-*", rwm(r)]);
        continue;
      }
      return undefined;
    }
    if (r.minor == null || r.minor < 0) {
      const name = majorName(type, r.major);
      if (!name) return undefined;
      allow.push([`${type === "c" ? "char" : "block"}-${name}`, rwm(r)]);
    } else allow.push([`/dev/${type === "c" ? "char" : "block"}/${r.major}:${r.minor}`, rwm(r)]);
  }
  return [
    { name: "DevicePolicy", signature: "s", value: "strict" },
    { name: "DeviceAllow", signature: "a(ss)", value: allow },
  ];
}

/** A major number's name in /proc/devices text, for the given type ("Character devices:" / "Block devices:"). */
export function majorNameIn(procDevices: string, type: "c" | "b", major: number): string | undefined {
  let section: "c" | "b" | undefined;
  for (const line of procDevices.split("\n")) {
    if (line.startsWith("Character")) section = "c";
    else if (line.startsWith("Block")) section = "b";
    else if (section === type) {
      const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
      if (m && Number(m[1]) === major) return m[2];
    }
  }
  return undefined;
}
