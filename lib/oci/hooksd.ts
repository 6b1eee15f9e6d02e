// hooks.d files (oci-hooks(5)): schema 1.0.0 and the older 0.1.0 form, converted to 1.0.0 as
// containers/common pkg/hooks does, and reading a list of hooks directories the way podman and
// CRI-O do: only *.json, a later directory's file masks an earlier one of the same name, a broken
// file is reported by name and skipped.
import { join } from "../posix-path.ts";
import { readdir } from "../sys/file.ts";
import { access, X_OK } from "../sys/stat.ts";
import * as z from "zod/mini";
import { compileGoRegExp } from "./goregexp.ts";
import { check, describeValue, formatIssuePath } from "./issues.ts";
import { FileInputError, readJsonFile } from "./json.ts";
import { absolutePath, isPlainObject, isStringList, stringList } from "./primitives.ts";
import { HookSchema, isPlainHook, STAGES, StageSchema, type Hook } from "./hooks-schema.ts";

/** A hooks.d file is a few hundred bytes; anything near this is not one. */
export const HOOK_FILE_SIZE_LIMIT = 1024 * 1024;

export const WhenSchema = z.looseObject({
  always: z.optional(z.boolean()),
  /** key regex -> value regex, both matched against the config's annotations */
  annotations: z.optional(z.record(z.string(), z.string())),
  /** regexes matched against process.args[0] */
  commands: z.optional(stringList),
  hasBindMounts: z.optional(z.boolean()),
});

export const HookDefinitionSchema = z.looseObject({
  version: z.literal("1.0.0"),
  hook: HookSchema,
  when: WhenSchema,
  stages: z.array(StageSchema),
});

const isStage = (s: unknown) => (STAGES as readonly unknown[]).includes(s);
const isOptionalBoolean = (b: unknown) => b === undefined || typeof b === "boolean";

/**
 * A 1.0.0 document HookDefinitionSchema accepts, told in plain code: a create reads every file of
 * every hooks.d directory, and zod takes some 25 µs a file where this takes about one. It accepts
 * nothing the schema refuses (test/unit/oci-hooksd.test.ts checks that); any other document goes
 * through the schema for its messages.
 */
export function isPlainHookDefinition(v: unknown): boolean {
  if (!isPlainObject(v) || v.version !== "1.0.0" || !isPlainHook(v.hook)) return false;
  const when = v.when;
  return (
    isPlainObject(when) &&
    isOptionalBoolean(when.always) &&
    isOptionalBoolean(when.hasBindMounts) &&
    (when.annotations === undefined || (isPlainObject(when.annotations) && Object.values(when.annotations).every((p) => typeof p === "string"))) &&
    (when.commands === undefined || isStringList(when.commands)) &&
    Array.isArray(v.stages) &&
    v.stages.every(isStage)
  );
}

const legacyStages = z.optional(z.array(StageSchema));

/**
 * 0.1.0 as containers/common reads it. Go's JSON decoder matches field names case-insensitively,
 * so `hasBindMounts` means `hasbindmounts`: keys are folded before this schema sees them.
 */
export const LegacyHookDefinitionSchema = z
  .looseObject({
    version: z.optional(z.literal("0.1.0")),
    hook: absolutePath,
    arguments: z.optional(stringList),
    stages: legacyStages,
    stage: legacyStages,
    cmds: z.optional(stringList),
    cmd: z.optional(stringList),
    annotations: z.optional(stringList),
    annotation: z.optional(stringList),
    hasbindmounts: z.optional(z.boolean()),
  })
  .check(z.superRefine((h, ctx) => {
    for (const [plural, singular] of [["stages", "stage"], ["cmds", "cmd"], ["annotations", "annotation"]] as const)
      if (h[plural] !== undefined && h[singular] !== undefined)
        ctx.addIssue({ code: "custom", path: [singular], input: h[singular], message: `cannot set both '${singular}' and '${plural}'` });
    if (h.stages === undefined && h.stage === undefined) ctx.addIssue({ code: "custom", path: ["stages"], input: undefined, message: "required" });
  }));

export type When = z.infer<typeof WhenSchema>;
/** A hooks.d definition in the 1.0.0 form. */
export type HookDefinition = z.infer<typeof HookDefinitionSchema>;
export type LegacyHookDefinition = z.infer<typeof LegacyHookDefinitionSchema>;

/** The `when` patterns compiled once, at read time. */
export interface CompiledWhen {
  annotations: { key: RegExp; value: RegExp }[];
  commands: RegExp[];
}

export interface ParsedHookDefinition {
  definition: HookDefinition;
  /**
   * 0.1.0 conditions are any-of (containers/common's When.Or): one matching condition injects
   * the hook. 1.0.0 conditions are all-of.
   */
  anyCondition: boolean;
  compiled: CompiledWhen;
  /** the field that names the hook executable in the file as written: hook.path or hook */
  pathField: string;
}

export interface HookEntry extends ParsedHookDefinition {
  /** file name: the masking and ordering key */
  name: string;
  /** where it was read from */
  file: string;
}

export interface HookFileError {
  /** the hooks.d file (or directory) */
  file: string;
  message: string;
}

export type ParsedHookResult = { ok: true; value: ParsedHookDefinition } | { ok: false; problems: string[] };

const LEGACY_KEYS = ["version", "hook", "arguments", "stages", "stage", "cmds", "cmd", "annotations", "annotation", "hasbindmounts"];

function foldLegacyKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const lower = k.toLowerCase();
    out[LEGACY_KEYS.includes(lower) ? lower : k] = v;
  }
  return out;
}

/** 0.1.0 -> 1.0.0 exactly as containers/common pkg/hooks/0.1.0 converts. */
export function convertLegacy(h: LegacyHookDefinition): HookDefinition {
  const hook: Hook = { path: h.hook };
  if (h.arguments !== undefined) hook.args = [h.hook, ...h.arguments];
  const when: When = {};
  const commands = h.cmds ?? h.cmd;
  if (commands !== undefined) when.commands = commands;
  if (h.hasbindmounts !== undefined) when.hasBindMounts = h.hasbindmounts;
  const annotations = h.annotations ?? h.annotation;
  if (annotations !== undefined) when.annotations = { ".*": annotations.join("|") };
  return { version: "1.0.0", hook, when, stages: h.stages ?? h.stage ?? [] };
}

function compilePattern(pattern: string, path: string, problems: string[]): RegExp | undefined {
  try {
    return compileGoRegExp(pattern);
  } catch (e) {
    problems.push(`${path}: invalid regular expression ${describeValue(pattern)}: ${(e as Error).message}`);
    return undefined;
  }
}

function compileWhen(when: When, problems: string[]): CompiledWhen {
  const compiled: CompiledWhen = { annotations: [], commands: [] };
  for (const [k, v] of Object.entries(when.annotations ?? {})) {
    const path = formatIssuePath(["when", "annotations", k]);
    const key = compilePattern(k, `${path} (key)`, problems);
    const value = compilePattern(v, path, problems);
    if (key && value) compiled.annotations.push({ key, value });
  }
  (when.commands ?? []).forEach((c, i) => {
    const re = compilePattern(c, `when.commands[${i}]`, problems);
    if (re) compiled.commands.push(re);
  });
  return compiled;
}

function hasCondition(when: When): boolean {
  return (
    when.always !== undefined ||
    when.hasBindMounts !== undefined ||
    Object.keys(when.annotations ?? {}).length > 0 ||
    (when.commands ?? []).length > 0
  );
}

/**
 * Validates a hooks.d document of either version and returns it in the 1.0.0 form with its
 * patterns compiled. Problems are `field: what is wrong` lines, fields as written in the file.
 */
export function parseHookDefinition(raw: unknown): ParsedHookResult {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    return { ok: false, problems: [`(root): expected an object, got ${describeValue(raw)}`] };
  const obj = raw as Record<string, unknown>;
  const version = obj.version;
  const problems: string[] = [];
  if (version === "1.0.0") {
    const r = isPlainHookDefinition(obj) ? { ok: true as const, value: obj as HookDefinition } : check(HookDefinitionSchema, obj);
    if (!r.ok) return r;
    if (!hasCondition(r.value.when)) return { ok: false, problems: ["when: no when conditions set"] };
    const compiled = compileWhen(r.value.when, problems);
    if (problems.length) return { ok: false, problems };
    return { ok: true, value: { definition: r.value, anyCondition: false, compiled, pathField: "hook.path" } };
  }
  if (version === undefined || version === "" || version === "0.1.0") {
    const folded = foldLegacyKeys(obj);
    if (folded.version === "") delete folded.version;
    const r = check(LegacyHookDefinitionSchema, folded);
    if (!r.ok) return r;
    // validated where the file wrote them, before the annotation patterns are joined into one
    (r.value.cmds ?? r.value.cmd ?? []).forEach((c, i) => compilePattern(c, `${r.value.cmds ? "cmds" : "cmd"}[${i}]`, problems));
    (r.value.annotations ?? r.value.annotation ?? []).forEach((a, i) =>
      compilePattern(a, `${r.value.annotations ? "annotations" : "annotation"}[${i}]`, problems),
    );
    if (problems.length) return { ok: false, problems };
    const definition = convertLegacy(r.value);
    if (!hasCondition(definition.when)) return { ok: false, problems: ["(root): no when conditions set (cmds, annotations or hasbindmounts)"] };
    const compiled = compileWhen(definition.when, problems);
    if (problems.length) return { ok: false, problems };
    return { ok: true, value: { definition, anyCondition: true, compiled, pathField: "hook" } };
  }
  return {
    ok: false,
    problems: [
      typeof version === "string"
        ? `version: unknown hook version ${describeValue(version)} (expected 1.0.0 or 0.1.0)`
        : `version: expected string, got ${describeValue(version)}`,
    ],
  };
}

/**
 * podman's injection order: file names compared after lower-casing, by code point
 * (containers/common sorts on strings.ToLower). Names equal but for case fall back to the names
 * as written, so the order never depends on directory listing order.
 */
export function compareHookNames(a: string, b: string): number {
  return compareCodePoints(a.toLowerCase(), b.toLowerCase()) || compareCodePoints(a, b);
}

const SURROGATE = /[\uD800-\uDFFF]/;
/** Go's string order (UTF-8 bytes, which is code point order); JS's `<` is UTF-16 order, which differs only past U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = [...a], y = [...b];
  for (let i = 0; i < x.length && i < y.length; i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d < 0 ? -1 : 1;
  }
  return x.length - y.length < 0 ? -1 : x.length > y.length ? 1 : 0;
}

/** Reads and validates one hooks.d file, including that its hook executable exists (as podman does). */
export function readHookFile(file: string): ParsedHookDefinition {
  const raw = readJsonFile(file, HOOK_FILE_SIZE_LIMIT);
  const r = parseHookDefinition(raw);
  if (!r.ok) throw new FileInputError(file, r.problems.join("; "));
  const path = r.value.definition.hook.path;
  try {
    access(path, X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not executable" : `cannot be used (${code})`;
    throw new FileInputError(file, `${r.value.pathField}: ${path} ${what}`);
  }
  return r.value;
}

/**
 * Reads hooks directories, lowest precedence first. A missing directory is skipped (hooks.d
 * directories are optional); every other failure is reported by file and that file is skipped,
 * so one broken file never disables the rest. A broken file does not mask an earlier directory's
 * file of the same name (podman only replaces a hook it could read). Hooks come back in
 * injection order.
 */
export function readHooksDirs(dirs: readonly string[]): { hooks: HookEntry[]; errors: HookFileError[] } {
  const byName = new Map<string, HookEntry>();
  const errors: HookFileError[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdir(dir).map((d) => d.name);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") errors.push({ file: dir, message: `cannot read directory: ${code ?? String(e)}` });
      continue;
    }
    for (const name of names.sort(compareHookNames)) {
      if (!name.endsWith(".json")) continue;
      const file = join(dir, name);
      try {
        byName.set(name, { name, file, ...readHookFile(file) });
      } catch (e) {
        errors.push({ file, message: e instanceof FileInputError ? e.reason : (e as Error).message });
      }
    }
  }
  const hooks = [...byName.values()].sort((a, b) => compareHookNames(a.name, b.name));
  return { hooks, errors };
}
