// The environment the lower runtime starts with. runc passes its own environment on to every hook
// whose config entry has no `env` (Go's exec.Cmd with a nil Env), so whatever the shim hands runc
// reaches the hooks too. Bun's variables must not: they change how any Bun program runs (a hook
// written in Bun, hookshim's own `hook prestart`), and BUN_BE_BUN turns a compiled hookshim into
// the bare bun CLI.
//
// Removed: every BUN_* variable (BUN_OPTIONS, BUN_BE_BUN, BUN_INSTALL, BUN_CONFIG_*, BUN_JSC_*,
// BUN_RUNTIME_TRANSPILER_CACHE_PATH, BUN_GARBAGE_COLLECTOR_LEVEL, BUN_FEATURE_FLAG_*, ...) and
// every JSC_* variable (JavaScriptCore reads its engine options from them). Only Bun reads these
// names, so no runtime or hook written in another language loses anything. Everything else,
// including HOOKSHIM_CONFIG, passes unchanged.
const BUN_PREFIXES = ["BUN_", "JSC_"];

export function isBunVariable(name: string): boolean {
  return BUN_PREFIXES.some((p) => name.startsWith(p));
}

/** `env` without Bun's variables, as the complete environment of the next program. */
export function lowerRuntimeEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isBunVariable(k)) out[k] = v;
  return out;
}
