export {
  containerFromCgroupPath,
  containerFromProcCgroup,
  getContainerIdFromTaskDir,
  type ContainerRuntime,
  type CgroupPathMatch,
} from "./cgroup-path.ts";
export {
  metadataFromAnnotations,
  readBundleMetadata,
  bundleFromStateFile,
  findBundle,
  defaultBundleSearch,
  type ContainerMetadata,
  type BundleSearch,
} from "./bundle.ts";
export { RUNTIME_STATE, STATE_RUNTIMES, runtimeStateFile, stateLayoutOf, type StateRuntime } from "./runtime-state.ts";
export {
  Registry,
  defaultHierarchy,
  DEFAULT_GRACE_MS,
  type CgroupInfo,
  type CgroupFilterMap,
  type RegistryOptions,
} from "./registry.ts";
