// Device cgroup rules: the OCI LinuxDeviceCgroup shape, its normalised form, and the one parser for
// the `c 1:3 rwm` text form (devices.list syntax) shared by the CLI and the annotation.
import * as z from "zod/mini";
import { issueMessage } from "../oci/issues.ts";

/** BPF_DEVCG_ACC_*: the access bits as the kernel hands them to a cgroup device program. */
export const Access = { MKNOD: 1, READ: 2, WRITE: 4, ALL: 7 } as const;

export type DeviceType = "a" | "b" | "c";

/** OCI runtime-spec LinuxDeviceCgroup: absent or null major/minor is a wildcard, absent type is "a". */
export interface DeviceRule {
  allow: boolean;
  type?: DeviceType;
  major?: number | null;
  minor?: number | null;
  access?: string;
}

/** The highest device number a rule may name: ~0 is the kernel's wildcard. */
export const MAX_DEVICE_NUMBER = 0xfffffffe;
export const WILDCARD = -1;

export const DeviceRuleSchema = z.object({
  allow: z.boolean(),
  type: z.optional(z.enum(["a", "b", "c"])),
  major: z.optional(z.nullable(z.int().check(z.gte(-1), z.lte(MAX_DEVICE_NUMBER)))),
  minor: z.optional(z.nullable(z.int().check(z.gte(-1), z.lte(MAX_DEVICE_NUMBER)))),
  access: z.optional(z.string().check(z.regex(/^[rwm]*$/, "access may only hold r, w and m"))),
});

/** A rule with every field resolved: -1 is a wildcard, access is Access bits. */
export interface NormalRule {
  allow: boolean;
  type: DeviceType;
  major: number;
  minor: number;
  access: number;
  /** where the rule came from, for errors ("policy.rules[2]"); else its index names it */
  source?: string;
}

export class DeviceRuleError extends Error {
  constructor(
    message: string,
    /** position of the offending rule in the list it came from */
    readonly index?: number,
  ) {
    super(message);
    this.name = "DeviceRuleError";
  }
}

export function parseAccess(s: string): number {
  let bits = 0;
  for (const ch of s) {
    if (ch === "r") bits |= Access.READ;
    else if (ch === "w") bits |= Access.WRITE;
    else if (ch === "m") bits |= Access.MKNOD;
    else throw new DeviceRuleError(`access "${s}": unknown access "${ch}" (r, w, m)`);
  }
  return bits;
}

export function formatAccess(bits: number): string {
  return (bits & Access.READ ? "r" : "") + (bits & Access.WRITE ? "w" : "") + (bits & Access.MKNOD ? "m" : "");
}

/** Validate one OCI rule (from untrusted JSON) and resolve its defaults. */
export function normalizeRule(raw: unknown): NormalRule {
  // jitless: the JIT compiles the schema on its first parse, which costs a hook (a few rules per
  // process) more than all its parses together.
  // hookshim's messages: zod/mini carries no message text of its own
  const r = DeviceRuleSchema.safeParse(raw, { error: issueMessage, jitless: true });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? `${issue.path.join(".")}: ` : "";
    throw new DeviceRuleError(`${field}${issue.message}`);
  }
  const { allow, type = "a", major, minor, access = "" } = r.data;
  // As runc and the v1 controller do, an absent access is no access: such a b/c rule changes nothing.
  return { allow, type, major: major ?? WILDCARD, minor: minor ?? WILDCARD, access: parseAccess(access) };
}

/** Normalise a rule list; an error names the index of the first bad rule. */
export function normalizeRules(raw: unknown, what = "rules"): NormalRule[] {
  if (!Array.isArray(raw)) throw new DeviceRuleError(`${what}: expected an array of device rules`);
  return raw.map((r, i) => {
    try {
      return normalizeRule(r);
    } catch (e) {
      throw new DeviceRuleError(`${what}[${i}]: ${(e as Error).message}`, i);
    }
  });
}

export function toOciRule(r: NormalRule): DeviceRule {
  const out: DeviceRule = { allow: r.allow, type: r.type };
  if (r.type !== "a") {
    out.major = r.major === WILDCARD ? null : r.major;
    out.minor = r.minor === WILDCARD ? null : r.minor;
  }
  out.access = formatAccess(r.type === "a" ? Access.ALL : r.access);
  return out;
}

function num(n: number): string {
  return n === WILDCARD ? "*" : String(n);
}

/** devices.list form: `c 1:3 rwm`, `a *:* rwm`. */
export function formatRule(r: Pick<NormalRule, "type" | "major" | "minor" | "access">): string {
  if (r.type === "a") return "a *:* rwm";
  return `${r.type} ${num(r.major)}:${num(r.minor)} ${formatAccess(r.access)}`;
}

export interface DeviceSpec {
  type: DeviceType;
  major: number;
  minor: number;
  /** undefined when the text has no access field */
  access?: number;
}

const SPEC = /^\s*([abc])(?:\s+(\d+|\*):(\d+|\*))?(?:\s+([rwm]+))?\s*$/;

/**
 * Parse `TYPE MAJOR:MINOR [ACCESS]` (`c 10:229 rwm`, `b 8:* r`, `c *:* m`, `a`): the devices.list
 * syntax. `a` may stand alone; b and c need MAJOR:MINOR.
 */
export function parseDeviceSpec(text: string): DeviceSpec {
  const m = SPEC.exec(text);
  if (!m) throw new DeviceRuleError(`"${text}" is not TYPE MAJOR:MINOR [ACCESS] (e.g. "c 1:3 rw", "b 8:* r")`);
  const type = m[1] as DeviceType;
  if (type !== "a" && m[2] === undefined) throw new DeviceRuleError(`"${text}": a ${type} device needs MAJOR:MINOR`);
  const part = (s: string | undefined, what: string) => {
    if (s === undefined || s === "*") return WILDCARD;
    const n = Number(s);
    if (n > MAX_DEVICE_NUMBER) throw new DeviceRuleError(`"${text}": ${what} ${s} is too large`);
    return n;
  };
  return {
    type,
    major: part(m[2], "major"),
    minor: part(m[3], "minor"),
    access: m[4] === undefined ? undefined : parseAccess(m[4]),
  };
}

/** A rule from its text form; the access defaults to rwm when the text leaves it out. */
export function ruleFromSpec(text: string, allow: boolean): NormalRule {
  const s = parseDeviceSpec(text);
  return { allow, type: s.type, major: s.major, minor: s.minor, access: s.access ?? Access.ALL };
}
