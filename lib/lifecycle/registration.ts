// How runtimes are told to run hookshim's hooks: a hooks.d 1.0.0 file (podman --hooks-dir, CRI-O
// hooks_dir), or hooks written into a bundle's config.json (plain runc). A hooks.d file names one
// command for all its stages, so it runs `hook auto`, which takes the stage from the state's status.
import { existsSync, mkdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
// module by module, not through lib/oci/index.ts: the shim loads this on every create/run
import { readConfig, writeConfigAtomic } from "../oci/bundle.ts";
import { injectHooks } from "../oci/hooksd-match.ts";
import type { HookDefinition } from "../oci/hooksd.ts";
import type { Hook, Spec } from "../oci/spec.ts";
import { hookArgs, type HookCommand } from "./hook-argv.ts";
export { hookArgs, type HookCommand } from "./hook-argv.ts";

export const HOOKS_FILE_NAME = "hookshim.json";
/**
 * The hooks.d directory podman and CRI-O read when their configuration names none (containers/common's
 * DefaultHooksDirs; /etc/containers/oci/hooks.d is only read where containers.conf or crio.conf list it).
 */
export const DEFAULT_HOOKS_DIR = "/usr/share/containers/oci/hooks.d";

export function hooksdDefinition(cmd: HookCommand): HookDefinition {
  return {
    version: "1.0.0",
    hook: { path: cmd.binary, args: hookArgs(cmd, "auto") },
    when: { always: true },
    stages: ["prestart", "poststop"],
  };
}

/** The config.json `hooks` entries for runc. */
export function bundleHooks(cmd: HookCommand): { prestart: Hook[]; poststop: Hook[] } {
  return {
    prestart: [{ path: cmd.binary, args: hookArgs(cmd, "prestart") }],
    poststop: [{ path: cmd.binary, args: hookArgs(cmd, "poststop") }],
  };
}

/** Writes DIR/hookshim.json; returns its path. */
export function writeHooksFile(dir: string, cmd: HookCommand): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, HOOKS_FILE_NAME);
  writeConfigAtomic(file, hooksdDefinition(cmd), { indent: 2, mode: 0o644 });
  return file;
}

/** Removes DIR/hookshim.json; false when it was not there. */
export function removeHooksFile(dir: string): boolean {
  const file = join(dir, HOOKS_FILE_NAME);
  if (!existsSync(file)) return false;
  unlinkSync(file);
  return true;
}

/**
 * Adds hookshim's prestart and poststop hooks to DIR/config.json, atomically; hooks already there
 * are not added twice. Returns the file and how many hooks were added.
 */
export function injectIntoBundle(bundle: string, cmd: HookCommand): { file: string; added: number } {
  const { file, spec, raw } = readConfig(bundle);
  const added = injectHooks(spec, bundleHooks(cmd));
  if (added) writeConfigAtomic(file, raw);
  return { file, added };
}

/** Removes every hook that runs `binary` from DIR/config.json; returns how many went. */
export function removeFromBundle(bundle: string, binary: string): { file: string; removed: number } {
  const { file, spec, raw } = readConfig(bundle);
  let removed = 0;
  const hooks = spec.hooks as Record<string, Hook[] | undefined> | undefined;
  for (const [stage, list] of Object.entries(hooks ?? {})) {
    if (!Array.isArray(list)) continue;
    const kept = list.filter((h) => h.path !== binary);
    removed += list.length - kept.length;
    if (kept.length) hooks![stage] = kept;
    else delete hooks![stage];
  }
  if (hooks && Object.keys(hooks).length === 0) delete (spec as Spec & { hooks?: unknown }).hooks;
  if (removed) writeConfigAtomic(file, raw);
  return { file, removed };
}

/** The executable this process runs from when it is the compiled hookshim (`bun build --compile`). */
export function compiledExecutable(): string | undefined {
  // Compiled, the entry module lives in Bun's embedded filesystem; run as a script it is a real path.
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/") ? process.execPath : undefined;
}
