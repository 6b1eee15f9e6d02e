export {
  DeviceRuleError, MAX_DEVICE_NUMBER, WILDCARD, formatAccess, formatRule, normalizeRule,
  normalizeRules, parseAccess, parseDeviceSpec, ruleFromSpec, toOciRule,
  type DeviceRule, type DeviceSpec, type DeviceType, type NormalRule,
} from "./rule.ts";
export { DevcgAccess } from "../bpf/constants.ts";
export { RUNC_ALLOWED_DEVICES } from "./defaults.ts";
export { ContainerDevices, Emulator, emulatorFromReduced } from "./emulator.ts";
export type { Exception, ReducedRules } from "../../bpf/devicefilter.ts";
export {
  DEVICES_ANNOTATION, DevicePolicySchema, EMPTY_POLICY, PolicyRuleSchema, containerRuleSets, hostDenyRules,
  parseDeviceRequests, type ContainerRuleSets, type DeviceConfigSource, type DevicePolicy,
} from "./sources.ts";
export {
  DEVICE_PROGRAM_NAME, HOST_PROGRAM_NAME, compileContainerFilter, compileDeviceFilter, decisionsOf, emulatorFromFilter,
  hostDenyBlocks, hostDenyMatches, type CompiledFilter, type ContainerFilter,
} from "./compile.ts";
export {
  attachContainerFilter, attachDeviceFilter, attachedDeviceProgramIds, changeDeviceRule, describeProgram, detachDeviceFilters,
  haveProgReplace, loadDeviceFilter, readDeviceFilters, type AttachResult, type AttachedFilter, type HostDenies,
} from "./filter.ts";
