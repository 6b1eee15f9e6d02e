// create / run: put the hooks that hooks.d selects (and hookshim's own, when configured) into the
// bundle's config.json before the lower runtime reads it. Loaded only for those two commands: it
// brings in the zod schemas.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../lib/errors.ts";
import type { HookshimConfig } from "../lib/config/index.ts";
import { bundleHooks, compiledExecutable } from "../lib/lifecycle/registration.ts";
// module by module, not through lib/oci/index.ts: nothing the shim does not run is loaded
import { readConfig, writeConfigAtomic } from "../lib/oci/bundle.ts";
import { readHooksDirs } from "../lib/oci/hooksd.ts";
import { injectHooks, selectHooks, type SelectedHooks } from "../lib/oci/hooksd-match.ts";
import { STAGES } from "../lib/oci/spec.ts";
import type { RuncInvocation } from "../lib/oci/runtime-argv.ts";
import type { RuncLog } from "./runc-log.ts";

export interface InjectResult {
  /** the config.json read (and written when hooks were added) */
  file: string;
  added: number;
  /** hooks.d files that were skipped, each already reported */
  skipped: string[];
}

/** The bundle directory runc would use: --bundle, else the cwd (resolved by parseRuncArgv). */
function bundleDir(inv: RuncInvocation): string {
  const bundle = inv.bundle ?? process.cwd();
  let isDir: boolean;
  try {
    isDir = statSync(bundle).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`bundle ${bundle}: ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`);
  }
  if (!isDir) throw new InputError(`bundle ${bundle}: is not a directory`);
  return bundle;
}

/** The bundle, or crun's --config FILE, which names the config relative to the bundle (crun enters it first). */
function configSource(inv: RuncInvocation, bundle: string): string {
  const override = inv.flags.config;
  return typeof override === "string" ? resolve(bundle, override) : bundle;
}

function hookshimOwnHooks(configPath: string | undefined): SelectedHooks {
  const binary = compiledExecutable();
  if (!binary)
    throw new Error("runtime.injectHookshimHooks needs the compiled hookshim (npm run build); this shim runs as a script");
  return bundleHooks({ binary, configPath });
}

function concat(a: SelectedHooks, b: SelectedHooks): SelectedHooks {
  const out: SelectedHooks = {};
  for (const stage of STAGES) {
    const hooks = [...(a[stage] ?? []), ...(b[stage] ?? [])];
    if (hooks.length) out[stage] = hooks;
  }
  return out;
}

/**
 * Reads the bundle's config.json, selects hooks.d hooks with podman's rules (directory precedence,
 * file-name order, `when`), adds each to the stages its file names (once), then hookshim's own
 * hooks when configured, and writes the file back atomically when anything was added. A bad
 * hooks.d file is reported through `log` and skipped; a bad config.json throws before anything is
 * written.
 */
export function injectConfiguredHooks(inv: RuncInvocation, config: HookshimConfig, configPath: string | undefined, log: RuncLog): InjectResult {
  const bundle = bundleDir(inv);
  const { file, spec, raw } = readConfig(configSource(inv, bundle));
  const { hooks, errors } = readHooksDirs(config.hooksDirs);
  for (const e of errors) log.warn(`hooks.d file ${e.file}: ${e.message} (skipped)`);
  let selected = selectHooks(hooks, spec);
  if (config.runtime.injectHookshimHooks) selected = concat(selected, hookshimOwnHooks(configPath));
  const added = injectHooks(spec, selected);
  if (added) writeConfigAtomic(file, raw, { durable: false });
  return { file, added, skipped: errors.map((e) => e.file) };
}
