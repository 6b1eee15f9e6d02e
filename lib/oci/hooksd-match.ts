// Which hooks.d hooks a container gets, and putting them into its config: containers/common's
// When.Match and Manager.Hooks, ported.
import { compareHookNames, type HookEntry, type ParsedHookDefinition } from "./hooksd.ts";
import { STAGES, type Hook, type Stage } from "./hooks-schema.ts";
import type { InjectConfig } from "./inject-config.ts";

export interface MatchContext {
  /** annotations the patterns see; the config's own when absent */
  annotations?: Record<string, string>;
  /**
   * Whether the caller asked for host-to-container bind mounts; when absent, whether the config
   * has any bind mount.
   */
  hasBindMounts?: boolean;
}

export type SelectedHooks = Partial<Record<Stage, Hook[]>>;

function isBindMount(m: NonNullable<InjectConfig["mounts"]>[number]): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

export function specHasBindMounts(spec: InjectConfig): boolean {
  return (spec.mounts ?? []).some(isBindMount);
}

/**
 * containers/common When.Match. All-of (1.0.0): every condition set must hold; any-of (0.1.0):
 * one is enough. `commands` is decided last and, when the config has a process, decides alone
 * among what is left: the first matching pattern injects, none matching does not.
 */
export function hookMatches(entry: ParsedHookDefinition, spec: InjectConfig, ctx: MatchContext = {}): boolean {
  const { when } = entry.definition;
  const anyOf = entry.anyCondition;
  const results: boolean[] = [];
  if (when.always !== undefined) results.push(when.always);
  if (when.hasBindMounts !== undefined) results.push(when.hasBindMounts && (ctx.hasBindMounts ?? specHasBindMounts(spec)));
  if (entry.compiled.annotations.length > 0) {
    const annotations = Object.entries(ctx.annotations ?? spec.annotations ?? {});
    // each key pattern needs one annotation whose key and value both match
    for (const { key, value } of entry.compiled.annotations) results.push(annotations.some(([k, v]) => key.test(k) && value.test(v)));
  }
  if (anyOf ? results.some(Boolean) : !results.every(Boolean)) return anyOf;
  if (spec.process && entry.compiled.commands.length > 0) {
    const command = spec.process.args?.[0];
    if (command === undefined) throw new Error("process.args must have at least one entry");
    return entry.compiled.commands.some((re) => re.test(command));
  }
  return !anyOf && results.length > 0;
}

/**
 * The hooks each stage gets, in podman's injection order (file names, lower-cased, by code
 * point) whatever order `hooks` comes in.
 */
export function selectHooks(hooks: readonly HookEntry[], spec: InjectConfig, ctx: MatchContext = {}): SelectedHooks {
  const ordered = [...hooks].sort((a, b) => compareHookNames(a.name, b.name));
  const selected: SelectedHooks = {};
  for (const entry of ordered) {
    if (!hookMatches(entry, spec, ctx)) continue;
    for (const stage of entry.definition.stages) (selected[stage] ??= []).push(entry.definition.hook);
  }
  return selected;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return typeof v === "bigint" ? v.toString() : JSON.stringify(v);
}

/**
 * Appends each selected hook to its stage in `spec.hooks`, in place, skipping a hook already
 * there (same path, args, env, timeout and any other field), so injecting twice changes nothing.
 * Returns how many hooks were added.
 */
export function injectHooks(spec: InjectConfig, selected: SelectedHooks): number {
  let added = 0;
  for (const stage of STAGES) {
    const hooks = selected[stage];
    if (!hooks?.length) continue;
    spec.hooks ??= {};
    const list = (spec.hooks[stage] ??= []);
    const present = new Set(list.map(canonical));
    for (const hook of hooks) {
      const key = canonical(hook);
      if (present.has(key)) continue;
      present.add(key);
      list.push(structuredClone(hook));
      added++;
    }
  }
  return added;
}
