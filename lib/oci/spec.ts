// The OCI runtime-spec v1.2 configuration (config.md, config-linux.md) as zod schemas, hand-kept.
// Every object is loose: fields this file does not know (other platforms, newer spec versions,
// runtime extensions) pass validation and are written back untouched.
import * as z from "zod/mini";
import {
  AnnotationsSchema,
  absolutePath,
  deferred,
  int32,
  int64,
  intRange,
  listOf,
  nonEmptyString,
  semver,
  stringList,
  syscallNames,
  stringMap,
  uint32,
  uint64,
} from "./primitives.ts";

export { AnnotationsSchema } from "./primitives.ts";
import { HooksSchema } from "./hooks-schema.ts";
import { MountSelectionFields, ProcessArgsSchema, isPlainSelectionMount } from "./inject-config.ts";
export * from "./hooks-schema.ts";
import { LinuxDeviceListSchema, LinuxResourcesSchema } from "./resources.ts";
export * from "./resources.ts";

// ---- hooks: lib/oci/hooks-schema.ts (the shim's create reads them without the rest) ----------------

// ---- process -----------------------------------------------------------------------------------

export const UserSchema = z.looseObject({
  uid: uint32,
  gid: uint32,
  umask: z.optional(uint32),
  additionalGids: z.optional(z.array(uint32)),
});

// The sections most configs leave out, and the big ones some do, are deferred (primitives.ts): built
// the first time a config has them, so a rewrite builds the schemas of what the file holds.
const capabilities = () => z.looseObject({
  bounding: z.optional(stringList),
  effective: z.optional(stringList),
  inheritable: z.optional(stringList),
  permitted: z.optional(stringList),
  ambient: z.optional(stringList),
});

const RLIMITS = [
  "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK",
  "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
] as const;

const rlimits = () => z.array(z.looseObject({ type: z.enum(RLIMITS), soft: uint64, hard: uint64 }));

const scheduler = () => z.looseObject({
  policy: z.enum(["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"]),
  nice: z.optional(int32),
  priority: z.optional(int32),
  flags: z.optional(
    z.array(
      z.enum([
        "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
        "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX",
      ]),
    ),
  ),
  runtime: z.optional(uint64),
  deadline: z.optional(uint64),
  period: z.optional(uint64),
});

const ioPriority = () => z.looseObject({
  class: z.enum(["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"]),
  priority: intRange(0, 7),
});

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const cpuList = () => z.string().check(z.refine((s) => CPU_LIST.test(s), { error: (iss) => `${JSON.stringify(iss.input)} is not a CPU list like 0-3,7` }));

export const ProcessSchema = z.looseObject({
  terminal: z.optional(z.boolean()),
  consoleSize: z.optional(deferred(() => z.looseObject({ height: uint32, width: uint32 }))),
  user: UserSchema,
  /** non-Windows: "at least one entry is REQUIRED" */
  args: z.optional(ProcessArgsSchema),
  commandLine: z.optional(z.string()),
  env: z.optional(stringList),
  cwd: absolutePath,
  capabilities: z.optional(deferred(capabilities)),
  rlimits: z.optional(deferred(rlimits)),
  noNewPrivileges: z.optional(z.boolean()),
  apparmorProfile: z.optional(z.string()),
  // the kernel's range for /proc/PID/oom_score_adj: anything else fails at container start
  oomScoreAdj: z.optional(intRange(-1000, 1000)),
  scheduler: z.optional(deferred(scheduler)),
  selinuxLabel: z.optional(z.string()),
  ioPriority: z.optional(deferred(ioPriority)),
  execCPUAffinity: z.optional(deferred(() => z.looseObject({ initial: z.optional(cpuList()), final: z.optional(cpuList()) }))),
});

// ---- root, mounts ------------------------------------------------------------------------------

export const RootSchema = z.looseObject({ path: nonEmptyString, readonly: z.optional(z.boolean()) });

export const IDMappingSchema = z.looseObject({ containerID: uint32, hostID: uint32, size: uint32 });

export const MountSchema = z.looseObject({
  // the spec only says SHOULD be absolute (relative destinations are deprecated, not invalid)
  destination: nonEmptyString,
  source: z.optional(z.string()),
  ...MountSelectionFields,
  uidMappings: z.optional(z.array(IDMappingSchema)),
  gidMappings: z.optional(z.array(IDMappingSchema)),
});

/**
 * A mount MountSchema accepts, told in plain code (a config may hold a thousand mounts, and the shim
 * validates the whole file before each rewrite): one without id mappings, which go to the schema.
 * It accepts nothing the schema refuses (test/unit/oci.test.ts checks that).
 */
export function isPlainMount(v: unknown): boolean {
  if (!isPlainSelectionMount(v)) return false;
  const m = v as Record<string, unknown>;
  return typeof m.destination === "string" && m.destination !== "" && (m.source === undefined || typeof m.source === "string") && m.uidMappings === undefined && m.gidMappings === undefined;
}

// ---- linux -------------------------------------------------------------------------------------

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export const NamespaceSchema = z.looseObject({ type: z.enum(NAMESPACE_TYPES), path: z.optional(absolutePath) });

const namespaceList = z.array(NamespaceSchema).check(z.superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((ns, i) => {
    if (seen.has(ns.type)) ctx.addIssue({ code: "custom", path: [i, "type"], input: ns.type, message: `namespace "${ns.type}" is given more than once` });
    seen.add(ns.type);
  });
}));

const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;

// the spec's list plus the later libseccomp architectures runtimes already accept
const SECCOMP_ARCHES = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
] as const;

const seccompSyscall = () => z.looseObject({
  names: syscallNames,
  action: z.enum(SECCOMP_ACTIONS),
  errnoRet: z.optional(uint32),
  args: z.optional(
    z.array(
      z.looseObject({
        index: uint32,
        value: uint64,
        valueTwo: z.optional(uint64),
        op: z.enum(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]),
      }),
    ),
  ),
});

const seccomp = () => z.looseObject({
  defaultAction: z.enum(SECCOMP_ACTIONS),
  defaultErrnoRet: z.optional(uint32),
  architectures: z.optional(z.array(z.enum(SECCOMP_ARCHES))),
  flags: z.optional(
    z.array(z.enum(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])),
  ),
  listenerPath: z.optional(absolutePath),
  listenerMetadata: z.optional(z.string()),
  syscalls: z.optional(z.array(seccompSyscall())),
});

const intelRdt = () => z.looseObject({
  closID: z.optional(z.string()),
  l3CacheSchema: z.optional(z.string()),
  memBwSchema: z.optional(z.string()),
  schemata: z.optional(stringList),
  enableMonitoring: z.optional(z.boolean()),
  enableCMT: z.optional(z.boolean()),
  enableMBM: z.optional(z.boolean()),
});

export const LinuxSchema = z.looseObject({
  namespaces: z.optional(namespaceList),
  uidMappings: z.optional(z.array(IDMappingSchema)),
  gidMappings: z.optional(z.array(IDMappingSchema)),
  timeOffsets: z.optional(deferred(() => z.partialRecord(z.enum(["boottime", "monotonic"]), z.looseObject({ secs: z.optional(int64), nanosecs: z.optional(uint32) })))),
  devices: z.optional(LinuxDeviceListSchema),
  // runtime-spec 1.2: host interface name -> { name: its name inside the container (OPTIONAL) }
  netDevices: z.optional(deferred(() => z.record(z.string(), z.looseObject({ name: z.optional(z.string()) })))),
  cgroupsPath: z.optional(z.string()),
  resources: z.optional(LinuxResourcesSchema),
  intelRdt: z.optional(deferred(intelRdt)),
  sysctl: z.optional(stringMap),
  seccomp: z.optional(deferred(seccomp)),
  // runc also takes the recursive forms; the spec lists the first four
  rootfsPropagation: z.optional(z.enum(["shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"])),
  maskedPaths: z.optional(z.array(absolutePath)),
  readonlyPaths: z.optional(z.array(absolutePath)),
  mountLabel: z.optional(z.string()),
  personality: z.optional(deferred(() => z.looseObject({ domain: z.enum(["LINUX", "LINUX32"]), flags: z.optional(stringList) }))),
});

// ---- the whole config --------------------------------------------------------------------------

export const SpecSchema = z.looseObject({
  ociVersion: semver,
  process: z.optional(ProcessSchema),
  /** required on every platform but Windows */
  root: RootSchema,
  hostname: z.optional(z.string()),
  domainname: z.optional(z.string()),
  mounts: z.optional(listOf(z.array(MountSchema), isPlainMount)),
  hooks: z.optional(HooksSchema),
  annotations: z.optional(AnnotationsSchema),
  linux: z.optional(LinuxSchema),
});

export type Spec = z.infer<typeof SpecSchema>;
export type Process = z.infer<typeof ProcessSchema>;
export type User = z.infer<typeof UserSchema>;
export type Root = z.infer<typeof RootSchema>;
export type Mount = z.infer<typeof MountSchema>;
export type Linux = z.infer<typeof LinuxSchema>;
export type LinuxNamespace = z.infer<typeof NamespaceSchema>;
export type LinuxIDMapping = z.infer<typeof IDMappingSchema>;
export type LinuxSeccomp = z.output<ReturnType<typeof seccomp>>;
