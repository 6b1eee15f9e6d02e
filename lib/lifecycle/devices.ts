// The device programs a hook attaches: the host policy's denies and the container's own list
// (lib/devices containerRuleSets says which rules: the config's, its device nodes, the runtime's
// defaults, the host's allows, permitted requests). The host's program never depends on the
// container's input: when that input cannot be compiled, the host program is still attached.
import {
  ContainerDevices, DEVICE_PROGRAM_NAME, HOST_PROGRAM_NAME, attachContainerFilters, compileContainerFilters, containerRuleSets,
  hostDenyRules, readDeviceFilters, type AttachResult, type ContainerFilters, type DeviceConfigSource, type DevicePolicy,
} from "../devices/index.ts";
import { containerCgroup } from "./cgroup.ts";

/** The container's decisions, as `devices check --config` and the hook's programs make them; DeviceRuleError names the rule at fault. */
export function containerDevices(config: DeviceConfigSource, policy: DevicePolicy): ContainerDevices {
  const sets = containerRuleSets(config, policy);
  return ContainerDevices.fromRules(sets.host, sets.container);
}

/** Compiles the container's programs; DeviceRuleError names the rule (or annotation entry) at fault. */
export function containerDeviceFilter(config: DeviceConfigSource, policy: DevicePolicy): ContainerFilters {
  return compileContainerFilters(containerDevices(config, policy));
}

/** The host policy alone: its denies over allow-all (the container's own rules stay the runtime's). */
export function hostPolicyFilter(policy: DevicePolicy): ContainerFilters {
  return compileContainerFilters(ContainerDevices.fromRules(hostDenyRules(policy)));
}

/**
 * After a prestart that failed (fail mode open lets the container start): the host policy on the
 * container's cgroup all the same, beside the runtime's program (replacing only an earlier host
 * program). Returns what was attached; undefined when the policy denies nothing or when the
 * prestart had attached both of hookshim's programs before it failed. Throws when it cannot be
 * attached.
 */
export function enforceHostPolicy(pid: number, id: string, cgroupParent: string, policy: DevicePolicy): AttachResult | undefined {
  const filters = hostPolicyFilter(policy);
  if (!filters.host) return undefined;
  const dir = containerCgroup(pid, id, cgroupParent).manager.path;
  const names = readDeviceFilters(dir).map((f) => f.name);
  if (names.includes(HOST_PROGRAM_NAME) && names.includes(DEVICE_PROGRAM_NAME)) return undefined;
  return attachContainerFilters(dir, filters);
}
