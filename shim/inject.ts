// create / run: put the hooks that hooks.d selects (and hookshim's own, when configured) into the
// bundle's config.json before the lower runtime reads it. Loaded only for those two commands: it
// brings in the zod schemas, and of the runtime-spec's only those selection reads (inject-config.ts)
// until there is something to write: then the whole file is validated first (spec.ts).
import { resolve } from "../lib/posix-path.ts";
import { stat } from "../lib/sys/stat.ts";
import { InputError } from "../lib/errors.ts";
import type { HookshimConfig } from "../lib/config/index.ts";
// module by module, not through lib/oci/index.ts: nothing the shim does not run is loaded
import { readInjectConfig } from "../lib/oci/inject-config.ts";
import { validateConfigAs } from "../lib/oci/config-file.ts";
import { readHooksDirs } from "../lib/oci/hooksd.ts";
import { injectHooks, selectHooks, type SelectedHooks } from "../lib/oci/hooksd-match.ts";
import { STAGES } from "../lib/oci/hooks-schema.ts";
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
    isDir = stat(bundle).isDirectory();
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

async function hookshimOwnHooks(configPath: string | undefined): Promise<SelectedHooks> {
  const { bundleHooks, compiledExecutable } = await import("../lib/lifecycle/registration.ts");
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
export async function injectConfiguredHooks(
  inv: RuncInvocation,
  config: HookshimConfig,
  configPath: string | undefined,
  log: RuncLog,
): Promise<InjectResult> {
  const bundle = bundleDir(inv);
  const { file, spec, raw } = readInjectConfig(configSource(inv, bundle));
  const { hooks, errors } = readHooksDirs(config.hooksDirs);
  for (const e of errors) log.warn(`hooks.d file ${e.file}: ${e.message} (skipped)`);
  let selected = selectHooks(hooks, spec);
  if (config.runtime.injectHookshimHooks) selected = concat(selected, await hookshimOwnHooks(configPath));
  if (!STAGES.some((stage) => selected[stage]?.length)) return { file, added: 0, skipped: errors.map((e) => e.file) };
  // a file hookshim rewrites is one it has validated whole, before anything is changed in it
  const [{ SpecSchema }, { writeConfigAtomic }] = await Promise.all([import("../lib/oci/spec.ts"), import("../lib/oci/bundle.ts")]);
  validateConfigAs(SpecSchema, file, raw);
  const added = injectHooks(spec, selected);
  if (added) writeConfigAtomic(file, raw, { durable: false });
  return { file, added, skipped: errors.map((e) => e.file) };
}
