export {
  Access, DeviceRuleError, DeviceRuleSchema, MAX_DEVICE_NUMBER, WILDCARD, formatAccess, formatRule, normalizeRule,
  normalizeRules, parseAccess, parseDeviceSpec, ruleFromSpec, toOciRule,
  type DeviceRule, type DeviceSpec, type DeviceType, type NormalRule,
} from "./rule.ts";
export { RUNC_ALLOWED_DEVICES } from "./defaults.ts";
export { Emulator, emulatorFromReduced, type Exception, type ReducedRules } from "./emulator.ts";
export {
  DEVICES_ANNOTATION, DevicePolicySchema, EMPTY_POLICY, containerDeviceRules, parseDeviceRequests,
  type DeviceConfigSource, type DevicePolicy,
} from "./sources.ts";
export {
  DEVICE_PROGRAM_NAME, attachDeviceFilter, attachedDeviceProgramIds, changeDeviceRule, compileDeviceFilter,
  describeProgram, detachDeviceFilters, emulatorFromFilter, haveProgReplace, loadDeviceFilter, readDeviceFilters,
  type AttachResult, type AttachedFilter, type CompiledFilter,
} from "./filter.ts";
