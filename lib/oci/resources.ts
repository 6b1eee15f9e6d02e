// The parts of the runtime-spec configuration a hook reads (config-linux.md): devices and the
// resources of linux.resources, as zod schemas. Kept apart from spec.ts so that a hook builds only
// these schemas (hook-config.ts), not the whole configuration's; spec.ts composes them into the
// full schema that `validate` and every rewrite of config.json use.
import * as z from "zod/mini";
import { absolutePath, deferred, int64, isAbsolutePath, isInt64Number, isPlainObject, isUint32Number, listOf, stringMap, uint16, uint32, uint64 } from "./primitives.ts";
import { describeValue } from "./issues.ts";
import { LinuxDeviceCgroupSchema, isPlainDeviceRule } from "./device-cgroup.ts";
export { LinuxDeviceCgroupSchema, isPlainDeviceRule, type LinuxDeviceCgroup } from "./device-cgroup.ts";

const isUint32OrAbsent = (v: unknown) => v === undefined || isUint32Number(v);

// runtime-spec 1.2 config-linux.md: "The value has the format <size><unit-prefix>B (64KB, 2MB, 1GB)"
const HUGEPAGE_SIZE = /^[1-9][0-9]*[KMG]B$/;
const hugepageSize = () => z
  .string()
  .check(z.refine((s) => HUGEPAGE_SIZE.test(s), { error: (iss) => `${describeValue(iss.input)} is not a page size like 2MB or 1GB (<size><K|M|G>B)` }));

export const LinuxDeviceSchema = z
  .looseObject({
    type: z.enum(["c", "b", "u", "p"]),
    path: absolutePath,
    major: z.optional(int64),
    minor: z.optional(int64),
    fileMode: z.optional(uint32),
    uid: z.optional(uint32),
    gid: z.optional(uint32),
  })
  .check(z.superRefine((d, ctx) => {
    if (d.type === "p") return;
    for (const f of ["major", "minor"] as const)
      if (d[f] === undefined) ctx.addIssue({ code: "custom", path: [f], input: undefined, message: `required for a type "${d.type}" device` });
  }));

/**
 * A device LinuxDeviceSchema accepts, told in plain code: a privileged container's linux.devices
 * lists every device of the host, which zod would check at some 10 µs a device in a hook. It
 * accepts nothing the schema refuses (test/unit/oci-hook-config.test.ts checks that); anything else goes
 * through the schema, for the message that names the field.
 */
export function isPlainLinuxDevice(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  const numbered = v.type === "c" || v.type === "b" || v.type === "u";
  return (
    (numbered || v.type === "p") &&
    isAbsolutePath(v.path) &&
    (numbered ? isInt64Number(v.major) && isInt64Number(v.minor) : (v.major === undefined || isInt64Number(v.major)) && (v.minor === undefined || isInt64Number(v.minor))) &&
    isUint32OrAbsent(v.fileMode) &&
    isUint32OrAbsent(v.uid) &&
    isUint32OrAbsent(v.gid)
  );
}

/** linux.devices: the device nodes to create. */
export const LinuxDeviceListSchema = listOf(z.array(LinuxDeviceSchema), isPlainLinuxDevice);

// Each section below linux.resources is built the first time a config has it (deferred): a hook
// builds only what the container's config uses, where all of it is some seventy schemas.
const linuxMemory = () => z.looseObject({
  limit: z.optional(int64),
  reservation: z.optional(int64),
  swap: z.optional(int64),
  kernel: z.optional(int64),
  kernelTCP: z.optional(int64),
  swappiness: z.optional(uint64),
  disableOOMKiller: z.optional(z.boolean()),
  useHierarchy: z.optional(z.boolean()),
  checkBeforeUpdate: z.optional(z.boolean()),
});

const linuxCPU = () => z.looseObject({
  shares: z.optional(uint64),
  quota: z.optional(int64),
  burst: z.optional(uint64),
  period: z.optional(uint64),
  realtimeRuntime: z.optional(int64),
  realtimePeriod: z.optional(uint64),
  cpus: z.optional(z.string()),
  mems: z.optional(z.string()),
  idle: z.optional(int64),
});

const linuxBlockIO = () => {
  const weightDevice = z.looseObject({ major: int64, minor: int64, weight: z.optional(uint16), leafWeight: z.optional(uint16) });
  const throttleDevices = z.optional(z.array(z.looseObject({ major: int64, minor: int64, rate: uint64 })));
  return z.looseObject({
    weight: z.optional(uint16),
    leafWeight: z.optional(uint16),
    weightDevice: z.optional(z.array(weightDevice)),
    throttleReadBpsDevice: throttleDevices,
    throttleWriteBpsDevice: throttleDevices,
    throttleReadIOPSDevice: throttleDevices,
    throttleWriteIOPSDevice: throttleDevices,
  });
};

export const LinuxResourcesSchema = z.looseObject({
  devices: z.optional(listOf(z.array(LinuxDeviceCgroupSchema), isPlainDeviceRule)),
  memory: z.optional(deferred(linuxMemory)),
  cpu: z.optional(deferred(linuxCPU)),
  pids: z.optional(deferred(() => z.looseObject({ limit: int64 }))),
  blockIO: z.optional(deferred(linuxBlockIO)),
  hugepageLimits: z.optional(deferred(() => z.array(z.looseObject({ pageSize: hugepageSize(), limit: uint64 })))),
  network: z.optional(
    deferred(() =>
      z.looseObject({
        classID: z.optional(uint32),
        priorities: z.optional(z.array(z.looseObject({ name: z.string(), priority: uint32 }))),
      }),
    ),
  ),
  rdma: z.optional(deferred(() => z.record(z.string(), z.looseObject({ hcaHandles: z.optional(uint32), hcaObjects: z.optional(uint32) })))),
  unified: z.optional(stringMap),
});

export type LinuxDevice = z.infer<typeof LinuxDeviceSchema>;
export type LinuxResources = z.infer<typeof LinuxResourcesSchema>;
export type LinuxMemory = z.output<ReturnType<typeof linuxMemory>>;
export type LinuxCPU = z.output<ReturnType<typeof linuxCPU>>;
