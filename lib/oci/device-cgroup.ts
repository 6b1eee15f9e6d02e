// A device cgroup rule of linux.resources.devices (config-linux.md), on its own: hookshim's own
// configuration declares its device policy with this schema, so loading the configuration (the shim on
// every create, every command) builds it without the rest of linux.resources (resources.ts, about a
// millisecond of zod schemas).
import * as z from "zod/mini";
import { charsOf, deferred, int64, isInt64Number, isPlainObject } from "./primitives.ts";

/**
 * A device cgroup rule: absent or null major/minor means any. Built on first use (deferred): a
 * rule the plain check below accepts never needs it, and every hook loads this module through its
 * configuration's device policy (devices/rule.ts).
 */
export const LinuxDeviceCgroupSchema = deferred(() =>
  z.looseObject({
    allow: z.boolean(),
    type: z.optional(z.enum(["a", "b", "c"])),
    major: z.optional(z.nullable(int64)),
    minor: z.optional(z.nullable(int64)),
    access: z.optional(charsOf("rwm")),
  }),
);

const isInt64OrNull = (v: unknown) => v === undefined || v === null || isInt64Number(v);
const ACCESS = /^[rwm]*$/;

/**
 * A device cgroup rule LinuxDeviceCgroupSchema accepts, told in plain code: the common valid case of a
 * list that may hold a thousand rules, which zod would check at some 10 µs a rule in a hook. It
 * accepts nothing the schema refuses (test/unit/devices.test.ts checks that on generated rules);
 * whatever it does not accept goes through the schema, for the message that names the field.
 */
export function isPlainDeviceRule(v: unknown): v is LinuxDeviceCgroup {
  return (
    isPlainObject(v) &&
    typeof v.allow === "boolean" &&
    (v.type === undefined || v.type === "a" || v.type === "b" || v.type === "c") &&
    isInt64OrNull(v.major) &&
    isInt64OrNull(v.minor) &&
    (v.access === undefined || (typeof v.access === "string" && ACCESS.test(v.access)))
  );
}

export type LinuxDeviceCgroup = z.infer<typeof LinuxDeviceCgroupSchema>;
