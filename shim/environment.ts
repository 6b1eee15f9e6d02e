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
import type { EnvironmentBlock } from "../lib/sys/exec.ts";
import { concatBytes } from "../lib/sys/struct.ts";

const BUN_PREFIXES = ["BUN_", "JSC_"];

export function isBunVariable(name: string): boolean {
  return BUN_PREFIXES.some((p) => name.startsWith(p));
}

// The prefixes as bytes, for a block: both are four ASCII characters.
const [BUN, JSC] = BUN_PREFIXES.map((p) => Array.from(p, (c) => c.charCodeAt(0))) as [number[], number[]];

/** Whether the block's entry at `at` starts with BUN_ or JSC_ (inline compares: this runs per variable, uncompiled). */
function isBunEntry(block: Uint8Array, at: number): boolean {
  const b0 = block[at], b1 = block[at + 1], b2 = block[at + 2], b3 = block[at + 3];
  return (b0 === BUN[0] && b1 === BUN[1] && b2 === BUN[2] && b3 === BUN[3]) || (b0 === JSC[0] && b1 === JSC[1] && b2 === JSC[2] && b3 === JSC[3]);
}

/**
 * An environment block (lib/sys/exec.ts: "NAME=value\0" entries) without Bun's variables, the
 * others byte for byte: the shim's pass-through commands hand the lower runtime their own starting
 * environment this way, without decoding a variable. The block itself when nothing is removed.
 */
export function withoutBunVariables(block: EnvironmentBlock): EnvironmentBlock {
  let kept: Uint8Array[] | undefined;
  let keptFrom = 0;
  for (let at = 0; at < block.length; ) {
    const end = block.indexOf(0, at);
    const next = end < 0 ? block.length : end + 1;
    if (isBunEntry(block, at)) {
      (kept ??= []).push(block.subarray(keptFrom, at));
      keptFrom = next;
    }
    at = next;
  }
  if (!kept) return block;
  kept.push(block.subarray(keptFrom));
  return concatBytes(kept);
}

/** `env` without Bun's variables, as the complete environment of the next program. */
export function lowerRuntimeEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isBunVariable(k)) out[k] = v;
  return out;
}
