// The device program a hook attaches: the host policy's denies first, then the container's own list
// (lib/devices containerRuleSets says which rules: the config's, its device nodes, the runtime's
// defaults, the host's allows, permitted requests). The host's denies never depend on the
// container's input: when that input cannot be compiled, they are still attached, alone.
import {
  ContainerDevices, DEVICE_PROGRAM_NAME, attachContainerFilter, compileContainerFilter, containerRuleSets, hostDenyRules,
  readDeviceFilters, type AttachResult, type ContainerFilter, type DeviceConfigSource, type DevicePolicy,
} from "../devices/index.ts";
import { containerCgroup } from "./cgroup.ts";

/** The container's decisions, as `devices check --config` and the hook's program make them; DeviceRuleError names the rule at fault. */
export function containerDevices(config: DeviceConfigSource, policy: DevicePolicy): ContainerDevices {
  const sets = containerRuleSets(config, policy);
  return ContainerDevices.fromRules(sets.host, sets.container);
}

/** Compiles the container's program (hookshim_dev); DeviceRuleError names the rule (or annotation entry) at fault. */
export function containerDeviceFilter(config: DeviceConfigSource, policy: DevicePolicy): ContainerFilter {
  return compileContainerFilter(containerDevices(config, policy))!;
}

/** The host policy alone (hookshim_host): its denies over allow-all; undefined when it denies nothing. */
export function hostPolicyFilter(policy: DevicePolicy): ContainerFilter | undefined {
  return compileContainerFilter(ContainerDevices.fromRules(hostDenyRules(policy)));
}

const sameDenies = (a: readonly object[], b: readonly object[]) =>
  a.length === b.length && a.every((d, i) => JSON.stringify(d) === JSON.stringify(b[i]));

/**
 * After a prestart that failed (fail mode open lets the container start): the host policy on the
 * container's cgroup all the same, as a program of its own beside the runtime's (replacing only an
 * earlier host-only program). Returns what was attached; undefined when the policy denies nothing
 * or when the prestart had attached hookshim_dev, which starts with these denies, before it failed.
 * Throws when it cannot be attached.
 */
export function enforceHostPolicy(pid: number, id: string, cgroupParent: string, policy: DevicePolicy): AttachResult | undefined {
  const filter = hostPolicyFilter(policy);
  if (!filter) return undefined;
  const dir = containerCgroup(pid, id, cgroupParent).manager.path;
  const want = filter.compiled.hostDenies.map(({ type, major, minor, access }) => ({ type, major, minor, access }));
  const own = readDeviceFilters(dir).find((f) => f.name === DEVICE_PROGRAM_NAME && f.filter);
  if (own && sameDenies(own.filter!.hostDenies, want)) return undefined;
  return attachContainerFilter(dir, filter);
}
