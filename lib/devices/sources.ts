// Where a container's device rules come from. Two lists, decided apart:
// - the host's denies (hookshim's config, trusted): absolute. They are checked before anything
//   else and no rule of the container, of the runtime or of a request can reach them;
// - the container's v1 list, in the order it applies: its linux.resources.devices, one allow per
//   device node it has created (linux.devices), the runtime's default devices (runc specconv
//   AllowedDevices), the host's allows, then the devices it asks for through the
//   io.hookshim.devices annotation, each of which the policy must permit.
// An access is allowed when both lists allow it. This is the one place that says which rules a
// container gets: the hook attaches them and `devices check --config` decides with them.
import * as z from "zod/mini";
import { RUNC_ALLOWED_DEVICES } from "./defaults.ts";
import {
  Access, DeviceRuleError, MAX_DEVICE_NUMBER, WILDCARD, formatRule, normalizeRule, normalizeRules,
  parseDeviceSpec, type DeviceRule, type NormalRule,
} from "./rule.ts";

export const DEVICES_ANNOTATION = "io.hookshim.devices";

// A rule in hookshim's own config: nothing that changes what is allowed may be left to a default.
// type and access are always written out; a b or c rule names major and minor (null: any).
const deviceNumber = z.nullable(z.int().check(z.gte(0), z.lte(MAX_DEVICE_NUMBER)));

/** A host policy rule or a permitted entry: strict, every field spelt out. */
export const PolicyRuleSchema = z
  .strictObject({
    allow: z.boolean(),
    type: z.enum(["a", "b", "c"]),
    major: z.optional(deviceNumber),
    minor: z.optional(deviceNumber),
    access: z.string().check(z.regex(/^[rwm]+$/, "access is one or more of r, w and m")),
  })
  .check(z.superRefine((r, ctx) => {
    if (r.type === "a") {
      // "a" is every device and every access, whatever the rule says: say so, or say nothing
      for (const f of ["major", "minor"] as const)
        if (r[f] !== undefined && r[f] !== null)
          ctx.addIssue({ code: "custom", path: [f], input: r[f], message: `a type "a" rule covers every device: leave ${f} out` });
      if (r.access !== undefined && (normalizeRule({ ...r, type: "c" }).access & Access.ALL) !== Access.ALL)
        ctx.addIssue({ code: "custom", path: ["access"], input: r.access, message: `a type "a" rule covers every access: use "rwm"` });
      return;
    }
    for (const f of ["major", "minor"] as const)
      if (r[f] === undefined)
        ctx.addIssue({ code: "custom", path: [f], input: undefined, message: `required for a type "${r.type}" rule (a number, or null for any)` });
  }));

/** Two rules that touch a common device (wildcards included). */
function sameDevices(outer: NormalRule, inner: NormalRule): boolean {
  if (outer.type === "a") return true;
  return (
    outer.type === inner.type &&
    (outer.major === WILDCARD || outer.major === inner.major) &&
    (outer.minor === WILDCARD || outer.minor === inner.minor)
  );
}

export const DevicePolicySchema = z
  .strictObject({
    /** host denies are absolute; host allows are added to every container's list */
    rules: z.array(PolicyRuleSchema),
    requests: z.strictObject({
      /** whether containers may ask for devices through the annotation at all */
      allowed: z.boolean(),
      /** what they may ask for: a request must fall inside one of these (type, numbers, access) */
      permitted: z.array(
        PolicyRuleSchema.check(z.refine((r) => r.allow, { path: ["allow"], message: "a permitted entry is an allow rule (true)" })),
      ),
    }),
  })
  .check(z.superRefine((p, ctx) => {
    // An allow a host deny covers has no effect (a host deny always wins): refuse it rather than
    // let the file say something the filter will not do.
    let rules: NormalRule[];
    try {
      rules = p.rules.map((r) => normalizeRule(r));
    } catch {
      return; // the rule's own issue says what is wrong
    }
    rules.forEach((a, i) => {
      if (!a.allow) return;
      const j = rules.findIndex((d) => !d.allow && sameDevices(d, a) && (d.type === "a" || (a.access & ~d.access) === 0));
      if (j >= 0)
        ctx.addIssue({
          code: "custom", path: ["rules", i], input: p.rules[i],
          message: `allow ${formatRule(a)} has no effect: rules[${j}] (deny ${formatRule(rules[j]!)}) covers it and a host deny always wins`,
        });
    });
  }));
export type DevicePolicy = z.infer<typeof DevicePolicySchema>;

export const EMPTY_POLICY: DevicePolicy = { rules: [], requests: { allowed: false, permitted: [] } };

/** The fields of an OCI config the container's device rules come from (unvalidated input). */
export interface DeviceConfigSource {
  linux?: {
    resources?: { devices?: unknown };
    devices?: unknown;
  };
  annotations?: Record<string, string>;
}

/** The rules a container gets, split where the kernel decides them apart. */
export interface ContainerRuleSets {
  /** the host's denies, each labelled policy.rules[i]: checked first, whatever the container's rules say */
  host: NormalRule[];
  /** the container's v1 list, each rule labelled with where it came from */
  container: NormalRule[];
}

/** `c 10:229 rwm, b 8:* r`: allow rules, one per comma-separated entry; access defaults to rwm. */
export function parseDeviceRequests(value: string): NormalRule[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((entry) => {
      let spec;
      try {
        spec = parseDeviceSpec(entry);
      } catch (e) {
        throw new DeviceRuleError(`annotation ${DEVICES_ANNOTATION} entry "${entry}": ${(e as Error).message}`);
      }
      if (spec.type === "a") throw new DeviceRuleError(`annotation ${DEVICES_ANNOTATION} entry "${entry}": requests name b or c devices`);
      return { allow: true, type: spec.type, major: spec.major, minor: spec.minor, access: spec.access ?? Access.ALL };
    });
}

function permits(p: NormalRule, r: NormalRule): boolean {
  return (
    p.allow &&
    (p.type === "a" || p.type === r.type) &&
    (p.type === "a" || p.major === WILDCARD || p.major === r.major) &&
    (p.type === "a" || p.minor === WILDCARD || p.minor === r.minor) &&
    (p.type === "a" || (r.access & ~p.access) === 0)
  );
}

/** A created device node's rule, as runc adds it ("u" is an unbuffered character device; fifos need none). */
function nodeRule(d: unknown): NormalRule | undefined {
  if (!d || typeof d !== "object") return undefined;
  const { type: t, major, minor } = d as { type?: unknown; major?: unknown; minor?: unknown };
  const type = t === "u" ? "c" : t;
  if ((type !== "c" && type !== "b") || typeof major !== "number" || typeof minor !== "number") return undefined;
  // a node the rule cannot name exactly gets no rule rather than a wildcard one
  if (!Number.isInteger(major) || !Number.isInteger(minor) || major < 0 || minor < 0 || major > MAX_DEVICE_NUMBER || minor > MAX_DEVICE_NUMBER)
    return undefined;
  return { allow: true, type, major, minor, access: Access.ALL };
}

const label = (what: string) => (r: NormalRule, i: number): NormalRule => ({ ...r, source: `${what}[${i}]` });

/** The host's absolute denies, labelled policy.rules[i] (the policy is validated with the config). */
export function hostDenyRules(policy: DevicePolicy): NormalRule[] {
  return normalizeRules(policy.rules, "policy.rules").map(label("policy.rules")).filter((r) => !r.allow);
}

/**
 * Both rule lists for one container. Throws DeviceRuleError naming the source and index of a
 * malformed rule, or the annotation entry the policy does not permit; the host list never depends
 * on the container's input, so a caller can still enforce it (hostDenyRules) when this throws.
 */
export function containerRuleSets(config: DeviceConfigSource, policy: DevicePolicy = EMPTY_POLICY): ContainerRuleSets {
  const own = normalizeRules(config.linux?.resources?.devices ?? [], "linux.resources.devices");
  const devices = config.linux?.devices;
  const nodes = (Array.isArray(devices) ? devices : []).flatMap((d, i): NormalRule[] => {
    const r = nodeRule(d);
    return r ? [{ ...r, source: `linux.devices[${i}]` }] : [];
  });
  const runtime = RUNC_ALLOWED_DEVICES.map((r: DeviceRule) => normalizeRule(r)).map(label("runtime default devices"));
  const host = normalizeRules(policy.rules, "policy.rules").map(label("policy.rules"));
  const requested = config.annotations?.[DEVICES_ANNOTATION];
  let requests: NormalRule[] = [];
  if (requested !== undefined && requested.trim() !== "") {
    requests = parseDeviceRequests(requested);
    if (!policy.requests.allowed)
      throw new DeviceRuleError(`annotation ${DEVICES_ANNOTATION}: the host policy does not allow device requests`);
    const permitted = normalizeRules(policy.requests.permitted, "policy.requests.permitted");
    for (const r of requests)
      if (!permitted.some((p) => permits(p, r)))
        throw new DeviceRuleError(`annotation ${DEVICES_ANNOTATION} entry "${formatRule(r)}": not permitted by the host policy`);
  }
  return {
    host: host.filter((r) => !r.allow),
    container: [
      ...own.map(label("linux.resources.devices")),
      ...nodes,
      ...runtime,
      ...host.filter((r) => r.allow),
      ...requests.map((r) => ({ ...r, source: `annotation ${DEVICES_ANNOTATION} entry "${formatRule(r)}"` })),
    ],
  };
}
