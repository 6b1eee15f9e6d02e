// Device cgroup rules: the OCI LinuxDeviceCgroup shape, its normalised form, and the one parser for
// the `c 1:3 rwm` text form (devices.list syntax) shared by the CLI and the annotation.
import { DevcgAccess } from "../bpf/constants.ts";
import { formatIssuePath, issueMessage } from "../oci/issues.ts";
import { LinuxDeviceCgroupSchema, isPlainDeviceRule, type LinuxDeviceCgroup } from "../oci/device-cgroup.ts";

export type DeviceType = "a" | "b" | "c";

/**
 * An OCI LinuxDeviceCgroup (lib/oci/resources.ts declares it) as hookshim writes one: absent or null
 * major/minor is a wildcard, absent type is "a"; the numbers are device numbers, never bigints.
 */
export type DeviceRule = Pick<LinuxDeviceCgroup, "allow" | "type" | "access"> & { major?: number | null; minor?: number | null };

/** The highest device number a rule may name: ~0 is the kernel's wildcard. */
export const MAX_DEVICE_NUMBER = 0xfffffffe;
export const WILDCARD = -1;

/** A rule with every field resolved: -1 is a wildcard, access is DevcgAccess bits. */
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
    if (ch === "r") bits |= DevcgAccess.READ;
    else if (ch === "w") bits |= DevcgAccess.WRITE;
    else if (ch === "m") bits |= DevcgAccess.MKNOD;
    else throw new DeviceRuleError(`access "${s}": unknown access "${ch}" (r, w, m)`);
  }
  return bits;
}

export function formatAccess(bits: number): string {
  return (bits & DevcgAccess.READ ? "r" : "") + (bits & DevcgAccess.WRITE ? "w" : "") + (bits & DevcgAccess.MKNOD ? "m" : "");
}

/** A major or minor a device program can carry: -1 or null (any) up to MAX_DEVICE_NUMBER. */
function deviceNumber(v: number | bigint | null | undefined, field: "major" | "minor"): number {
  if (v === undefined || v === null) return WILDCARD;
  if (typeof v === "bigint" || v < WILDCARD || v > MAX_DEVICE_NUMBER)
    throw new DeviceRuleError(`${field}: ${v} is not a device number (-1 or null for any, 0..${MAX_DEVICE_NUMBER})`);
  return v;
}

/**
 * Validate one OCI rule (from untrusted JSON) with the runtime-spec's schema, the one `validate`
 * and the hooks use, and resolve its defaults. Errors name the field.
 */
export function normalizeRule(raw: unknown): NormalRule {
  const { allow, type = "a", major, minor, access = "" } = isPlainDeviceRule(raw) ? raw : parsedRule(raw);
  // As runc and the v1 controller do, an absent access is no access: such a b/c rule changes nothing.
  return { allow, type, major: deviceNumber(major, "major"), minor: deviceNumber(minor, "minor"), access: parseAccess(access) };
}

function parsedRule(raw: unknown): LinuxDeviceCgroup {
  const r = LinuxDeviceCgroupSchema.safeParse(raw, { error: issueMessage });
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new DeviceRuleError(issue.path.length ? `${formatIssuePath(issue.path)}: ${issue.message}` : issue.message);
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
  out.access = formatAccess(r.type === "a" ? DevcgAccess.ALL : r.access);
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
  return { allow, type: s.type, major: s.major, minor: s.minor, access: s.access ?? DevcgAccess.ALL };
}
