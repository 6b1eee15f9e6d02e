// The parts of the runtime-spec configuration a hook reads (config-linux.md): devices and the
// resources of linux.resources, as zod schemas. Kept apart from spec.ts so that a hook builds only
// these schemas (hook-config.ts), not the whole configuration's; spec.ts composes them into the
// full schema that `validate` and every rewrite of config.json use.
import { z } from "zod";
import { absolutePath, charsOf, int64, stringMap, uint16, uint32, uint64 } from "./primitives.ts";
import { describeValue } from "./issues.ts";

// runtime-spec 1.2 config-linux.md: "The value has the format <size><unit-prefix>B (64KB, 2MB, 1GB)"
const HUGEPAGE_SIZE = /^[1-9][0-9]*[KMG]B$/;
const hugepageSize = z
  .string()
  .refine((s) => HUGEPAGE_SIZE.test(s), { error: (iss) => `${describeValue(iss.input)} is not a page size like 2MB or 1GB (<size><K|M|G>B)` });

export const LinuxDeviceSchema = z
  .looseObject({
    type: z.enum(["c", "b", "u", "p"]),
    path: absolutePath,
    major: int64.optional(),
    minor: int64.optional(),
    fileMode: uint32.optional(),
    uid: uint32.optional(),
    gid: uint32.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.type === "p") return;
    for (const f of ["major", "minor"] as const)
      if (d[f] === undefined) ctx.addIssue({ code: "custom", path: [f], input: undefined, message: `required for a type "${d.type}" device` });
  });

/** A device cgroup rule: absent or null major/minor means any. */
export const LinuxDeviceCgroupSchema = z.looseObject({
  allow: z.boolean(),
  type: z.enum(["a", "b", "c"]).optional(),
  major: int64.nullable().optional(),
  minor: int64.nullable().optional(),
  access: charsOf("rwm").optional(),
});

export const LinuxMemorySchema = z.looseObject({
  limit: int64.optional(),
  reservation: int64.optional(),
  swap: int64.optional(),
  kernel: int64.optional(),
  kernelTCP: int64.optional(),
  swappiness: uint64.optional(),
  disableOOMKiller: z.boolean().optional(),
  useHierarchy: z.boolean().optional(),
  checkBeforeUpdate: z.boolean().optional(),
});

export const LinuxCPUSchema = z.looseObject({
  shares: uint64.optional(),
  quota: int64.optional(),
  burst: uint64.optional(),
  period: uint64.optional(),
  realtimeRuntime: int64.optional(),
  realtimePeriod: uint64.optional(),
  cpus: z.string().optional(),
  mems: z.string().optional(),
  idle: int64.optional(),
});

const WeightDeviceSchema = z.looseObject({ major: int64, minor: int64, weight: uint16.optional(), leafWeight: uint16.optional() });
const ThrottleDeviceSchema = z.looseObject({ major: int64, minor: int64, rate: uint64 });

export const LinuxBlockIOSchema = z.looseObject({
  weight: uint16.optional(),
  leafWeight: uint16.optional(),
  weightDevice: z.array(WeightDeviceSchema).optional(),
  throttleReadBpsDevice: z.array(ThrottleDeviceSchema).optional(),
  throttleWriteBpsDevice: z.array(ThrottleDeviceSchema).optional(),
  throttleReadIOPSDevice: z.array(ThrottleDeviceSchema).optional(),
  throttleWriteIOPSDevice: z.array(ThrottleDeviceSchema).optional(),
});

export const LinuxResourcesSchema = z.looseObject({
  devices: z.array(LinuxDeviceCgroupSchema).optional(),
  memory: LinuxMemorySchema.optional(),
  cpu: LinuxCPUSchema.optional(),
  pids: z.looseObject({ limit: int64 }).optional(),
  blockIO: LinuxBlockIOSchema.optional(),
  hugepageLimits: z.array(z.looseObject({ pageSize: hugepageSize, limit: uint64 })).optional(),
  network: z
    .looseObject({
      classID: uint32.optional(),
      priorities: z.array(z.looseObject({ name: z.string(), priority: uint32 })).optional(),
    })
    .optional(),
  rdma: z.record(z.string(), z.looseObject({ hcaHandles: uint32.optional(), hcaObjects: uint32.optional() })).optional(),
  unified: stringMap.optional(),
});

export type LinuxDevice = z.infer<typeof LinuxDeviceSchema>;
export type LinuxResources = z.infer<typeof LinuxResourcesSchema>;
export type LinuxDeviceCgroup = z.infer<typeof LinuxDeviceCgroupSchema>;
export type LinuxMemory = z.infer<typeof LinuxMemorySchema>;
export type LinuxCPU = z.infer<typeof LinuxCPUSchema>;
