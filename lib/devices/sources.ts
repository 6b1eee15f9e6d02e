// Where a container's device rules come from, in the order they apply: the container's own
// linux.resources.devices, then the host policy (so a host deny wins), then devices the container
// asks for through the io.hookshim.devices annotation, each of which the policy must permit.
import { z } from "zod";
import {
  DeviceRuleError, DeviceRuleSchema, WILDCARD, formatRule, normalizeRules, parseDeviceSpec, type NormalRule,
} from "./rule.ts";

export const DEVICES_ANNOTATION = "io.hookshim.devices";

export const DevicePolicySchema = z.object({
  /** appended after the container's rules */
  rules: z.array(DeviceRuleSchema),
  requests: z.object({
    /** whether containers may ask for devices through the annotation at all */
    allowed: z.boolean(),
    /** what they may ask for: a request must fall inside one of these (type, numbers, access) */
    permitted: z.array(DeviceRuleSchema),
  }),
});
export type DevicePolicy = z.infer<typeof DevicePolicySchema>;

export const EMPTY_POLICY: DevicePolicy = { rules: [], requests: { allowed: false, permitted: [] } };

/** The fields of an OCI config this module reads. */
export interface DeviceConfigSource {
  linux?: { resources?: { devices?: unknown } };
  annotations?: Record<string, string>;
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
      return { allow: true, type: spec.type, major: spec.major, minor: spec.minor, access: spec.access ?? 7 };
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

/**
 * The full ordered rule list for one container, each rule labelled with where it came from (so an
 * emulator error names it). Throws DeviceRuleError naming the source and index of a malformed rule,
 * or the annotation entry the policy does not permit.
 */
export function containerDeviceRules(config: DeviceConfigSource, policy: DevicePolicy = EMPTY_POLICY): NormalRule[] {
  const own = normalizeRules(config.linux?.resources?.devices ?? [], "linux.resources.devices");
  const host = normalizeRules(policy.rules, "policy.rules");
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
  const label = (what: string) => (r: NormalRule, i: number): NormalRule => ({ ...r, source: `${what}[${i}]` });
  return [
    ...own.map(label("linux.resources.devices")),
    ...host.map(label("policy.rules")),
    ...requests.map((r) => ({ ...r, source: `annotation ${DEVICES_ANNOTATION} entry "${formatRule(r)}"` })),
  ];
}
