// The OCI model: runtime-spec config and state, hooks.d, bundle I/O.
export * from "./spec.ts";
export * from "./state.ts";
export * from "./issues.ts";
export * from "./json.ts";
export * from "./bundle.ts";
export * from "./hooksd.ts";
export * from "./hooksd-match.ts";
export * from "./document.ts";
export * from "./id.ts";
export { compileGoRegExp } from "./goregexp.ts";
export { uint16, uint32, uint64, int32, int64, absolutePath, semver } from "./primitives.ts";
