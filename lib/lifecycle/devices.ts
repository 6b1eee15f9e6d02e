// The device filter a hook attaches. It replaces whatever device program the cgroup has, so it must
// keep what the runtime itself would allow (runc specconv: the config's rules, then one allow per
// created device node, then runc's default devices) before lib/devices appends the host policy and
// the annotation requests.
import {
  RUNC_ALLOWED_DEVICES, compileDeviceFilter, containerDeviceRules, Emulator, type CompiledFilter, type DeviceConfigSource, type DevicePolicy, type DeviceRule,
} from "../devices/index.ts";

/** The fields of an OCI config the runtime's device rules come from. */
export interface RuntimeDeviceSource extends DeviceConfigSource {
  linux?: {
    resources?: { devices?: unknown };
    devices?: { type?: unknown; major?: unknown; minor?: unknown }[];
  };
}

/** A created device node's rule, as runc adds it ("u" is an unbuffered character device; fifos need none). */
function nodeRule(d: { type?: unknown; major?: unknown; minor?: unknown }): DeviceRule | undefined {
  const type = d.type === "u" ? "c" : d.type;
  if ((type !== "c" && type !== "b") || typeof d.major !== "number" || typeof d.minor !== "number") return undefined;
  return { allow: true, type, major: d.major, minor: d.minor, access: "rwm" };
}

/** The config with its device rules widened to what the runtime enforces. */
export function runtimeDeviceSource(config: RuntimeDeviceSource): DeviceConfigSource {
  const own = config.linux?.resources?.devices ?? [];
  const nodes = (config.linux?.devices ?? []).map(nodeRule).filter((r): r is DeviceRule => r !== undefined);
  return {
    // a malformed list is passed on as it is, for lib/devices to name the problem
    linux: { resources: { devices: Array.isArray(own) ? [...own, ...nodes, ...RUNC_ALLOWED_DEVICES] : own } },
    annotations: config.annotations,
  };
}

/** Compiles the container's filter; DeviceRuleError names the rule (or annotation entry) at fault. */
export function containerDeviceFilter(config: RuntimeDeviceSource, policy: DevicePolicy): CompiledFilter {
  return compileDeviceFilter(new Emulator().applyAll(containerDeviceRules(runtimeDeviceSource(config), policy)));
}
