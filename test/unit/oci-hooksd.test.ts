import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  compareHookNames,
  compileGoRegExp,
  convertLegacy,
  hookMatches,
  injectHooks,
  parseHookDefinition,
  readHooksDirs,
  selectHooks,
  type HookEntry,
  type Spec,
} from "../../lib/oci/index.ts";
import { expectPlainCheckWithinSchema } from "../support/plain-check.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");
const podman = (): Spec => JSON.parse(readFileSync(join(FIXTURES, "bundles/podman-4.3.json"), "utf8"));
const containerd = (): Spec => JSON.parse(readFileSync(join(FIXTURES, "bundles/containerd-1.6.json"), "utf8"));

/** An executable every test machine has: readHooksDirs checks hook paths the way podman does. */
const SH = "/bin/sh";

function entry(doc: unknown, name = "h.json"): HookEntry {
  const r = parseHookDefinition(doc);
  if (!r.ok) throw new Error(r.problems.join("; "));
  return { name, file: `/hooks.d/${name}`, ...r.value };
}

const v1 = (when: object, stages = ["prestart"], hook: object = { path: SH }) => ({ version: "1.0.0", hook, when, stages });
const problemsOf = (doc: unknown) => {
  const r = parseHookDefinition(doc);
  return r.ok ? [] : r.problems;
};

describe("hooks.d 1.0.0 when-matching (containers/common semantics)", () => {
  test("always", () => {
    expect(hookMatches(entry(v1({ always: true })), podman())).toBe(true);
    expect(hookMatches(entry(v1({ always: false })), podman())).toBe(false);
  });

  test("annotations: key and value are unanchored regexes; one annotation must match both", () => {
    const s = podman(); // io.container.manager=libpod, io.podman.annotations.init=FALSE, ...
    expect(hookMatches(entry(v1({ annotations: { "^io\\.container\\.manager$": "^libpod$" } })), s)).toBe(true);
    expect(hookMatches(entry(v1({ annotations: { "container\\.manager": "lib" } })), s)).toBe(true);
    expect(hookMatches(entry(v1({ annotations: { "^io\\.container\\.manager$": "^crio$" } })), s)).toBe(false);
    // the key matches several annotations; it is enough that one of them also matches the value
    expect(hookMatches(entry(v1({ annotations: { "^io\\.podman\\.annotations\\.": "^TRUE$" } })), s)).toBe(false);
    s.annotations!["io.podman.annotations.privileged"] = "TRUE";
    expect(hookMatches(entry(v1({ annotations: { "^io\\.podman\\.annotations\\.": "^TRUE$" } })), s)).toBe(true);
    // every key pattern must find its annotation
    expect(hookMatches(entry(v1({ annotations: { "manager$": "libpod", "^missing$": ".*" } })), s)).toBe(false);
    // a Go flag group works as in Go
    expect(hookMatches(entry(v1({ annotations: { "(?i)^IO\\.CONTAINER\\.MANAGER$": "^libpod$" } })), s)).toBe(true);
    // annotations can come from the caller instead of the config
    expect(hookMatches(entry(v1({ annotations: { "^a$": "^b$" } })), s, { annotations: { a: "b" } })).toBe(true);
  });

  test("commands match process.args[0]", () => {
    expect(hookMatches(entry(v1({ commands: ["^sleep$"] })), podman())).toBe(true);
    expect(hookMatches(entry(v1({ commands: ["^/bin/echo$", "nomatch"] })), containerd())).toBe(true);
    expect(hookMatches(entry(v1({ commands: [".*/init$", ".*/systemd$"] })), podman())).toBe(false);
  });

  test("commands without a process: the other conditions decide", () => {
    const s = podman();
    delete s.process;
    expect(hookMatches(entry(v1({ commands: ["^sleep$"] })), s)).toBe(false);
    expect(hookMatches(entry(v1({ always: true, commands: ["^nomatch$"] })), s)).toBe(true);
  });

  test("hasBindMounts: from the config's mounts unless the caller says", () => {
    const withBinds = podman(); // /etc/hosts etc. are binds
    const without = containerd();
    const hook = entry(v1({ hasBindMounts: true }));
    expect(hookMatches(hook, withBinds)).toBe(true);
    expect(hookMatches(hook, without)).toBe(false);
    without.mounts!.push({ destination: "/data", type: "none", source: "/srv", options: ["rbind", "rw"] });
    expect(hookMatches(hook, without)).toBe(true);
    expect(hookMatches(hook, withBinds, { hasBindMounts: false })).toBe(false);
    expect(hookMatches(entry(v1({ hasBindMounts: false })), withBinds)).toBe(false);
  });

  test("combinations: every condition set must match", () => {
    const s = podman();
    const ann = { "^io\\.container\\.manager$": "^libpod$" };
    expect(hookMatches(entry(v1({ always: true, annotations: ann, commands: ["^sleep$"], hasBindMounts: true })), s)).toBe(true);
    expect(hookMatches(entry(v1({ always: true, annotations: ann, commands: ["^echo$"] })), s)).toBe(false);
    expect(hookMatches(entry(v1({ always: false, annotations: ann })), s)).toBe(false);
    expect(hookMatches(entry(v1({ annotations: ann, hasBindMounts: true })), containerd())).toBe(false);
    expect(hookMatches(entry(v1({ always: true, annotations: { x: "y" } })), s)).toBe(false);
  });
});

describe("hooks.d validation", () => {
  test("no when conditions set", () => {
    expect(problemsOf(v1({}))).toEqual(["when: no when conditions set"]);
    expect(problemsOf({ version: "1.0.0", hook: { path: SH }, stages: ["prestart"] })).toEqual(["when: required"]);
  });
  test("unknown version, missing path, unknown stage, relative path, bad timeout", () => {
    expect(problemsOf({ version: "2.0.0", hook: { path: SH } })).toEqual(['version: unknown hook version "2.0.0" (expected 1.0.0 or 0.1.0)']);
    expect(problemsOf({ version: 1, hook: { path: SH } })).toEqual(["version: expected string, got 1"]);
    expect(problemsOf(v1({ always: true }, ["prestart"], {}))).toEqual(["hook.path: required"]);
    expect(problemsOf(v1({ always: true }, ["prestart", "precreate"]))).toEqual([
      'stages[1]: "precreate" is not one of prestart, createRuntime, createContainer, startContainer, poststart, poststop',
    ]);
    expect(problemsOf(v1({ always: true }, ["prestart"], { path: "bin/x" }))).toEqual(['hook.path: "bin/x" is not an absolute path']);
    expect(problemsOf(v1({ always: true }, ["prestart"], { path: SH, timeout: 0 }))).toEqual(["hook.timeout: must be > 0, got 0"]);
    expect(problemsOf([])).toEqual(["(root): expected an object, got an array"]);
  });
  test("the plain checks accept only what HookSchema and HookDefinitionSchema accept, and a refused document keeps its messages", async () => {
    const { HookDefinitionSchema, isPlainHookDefinition } = await import("../../lib/oci/hooksd.ts");
    const { HookSchema, isPlainHook } = await import("../../lib/oci/hooks-schema.ts");
    const shipped = JSON.parse(readFileSync(join(import.meta.dir, "../../config/hooks.d/hookshim.json"), "utf8"));
    const real = [
      shipped,
      v1({ always: true }),
      v1({ annotations: { "^io\\.x$": "on" }, commands: ["sh$"], hasBindMounts: false }, ["createRuntime", "poststop"], { path: SH, args: ["sh", "-c", "x"], env: ["A=1"], timeout: 5 }),
      v1({ always: false, extra: 1 }, [], { path: "/x", timeout: 2 ** 31 - 1, unknown: { a: 1 } }),
      { ...v1({ always: true }), comment: "loose: unknown keys pass" },
    ];
    const hooks: unknown[] = [
      { path: "bin/x" }, { path: "" }, { path: 1 }, {}, null, [], "x", { path: "/x", args: "a" }, { path: "/x", args: ["a", 1] },
      { path: "/x", env: [null] }, { path: "/x", timeout: 0 }, { path: "/x", timeout: -1 }, { path: "/x", timeout: 1.5 },
      { path: "/x", timeout: 2 ** 31 }, { path: "/x", timeout: "5" }, { path: "/x", timeout: 5n }, { path: "/x", timeout: null },
      { path: "/x", args: undefined, env: undefined, timeout: undefined }, Object.assign(Object.create(null), { path: "/x" }), new Date(),
    ];
    const edge: unknown[] = [
      ...hooks.map((hook) => ({ ...v1({ always: true }), hook })),
      { ...v1({ always: true }), version: "1.0.1" }, { ...v1({ always: true }), stages: "prestart" }, v1({ always: true }, ["precreate"]),
      v1({ always: true }, [null as never]), v1({ always: "yes" }), v1({ hasBindMounts: 1 }), v1({ annotations: [] }), v1({ annotations: { a: 1 } }),
      v1({ annotations: null as never }), v1({ commands: "sh" }), v1({ commands: [1] }), v1({}), { ...v1({ always: true }), when: undefined },
      { ...v1({ always: true }), when: [] }, { ...v1({ always: true }), hook: undefined }, v1({ annotations: Object.assign(Object.create(null), { a: "b" }) }),
      JSON.parse('{"version":"1.0.0","hook":{"path":"/x"},"when":{"annotations":{"__proto__":"x"}},"stages":[]}'),
    ];
    expectPlainCheckWithinSchema([...real, ...edge], isPlainHookDefinition, (d) => HookDefinitionSchema.safeParse(d).success, real.length);
    expectPlainCheckWithinSchema([...real.map((d) => d.hook), ...hooks], isPlainHook, (h) => HookSchema.safeParse(h).success, real.length);
    // what the plain check passes over still gets the schema's messages
    expect(problemsOf(v1({ always: true }, ["prestart"], { path: SH, timeout: 2 ** 31 }))).toEqual([`hook.timeout: ${2 ** 31} is out of range for int32 (-2147483648..2147483647)`]);
    expect(problemsOf(v1({ annotations: { a: 1 } }))).toEqual(["when.annotations.a: expected string, got 1"]);
  });
  test("invalid regular expressions name the field", () => {
    expect(problemsOf(v1({ commands: ["ok", "("] }))[0]).toStartWith('when.commands[1]: invalid regular expression "("');
    expect(problemsOf(v1({ annotations: { "a[": "x" } }))[0]).toStartWith('when.annotations["a["] (key): invalid regular expression');
    expect(problemsOf(v1({ annotations: { a: "x(" } }))[0]).toStartWith('when.annotations.a: invalid regular expression "x("');
    expect(problemsOf({ hook: SH, stages: ["prestart"], cmds: ["*bad"] })[0]).toStartWith('cmds[0]: invalid regular expression "*bad"');
  });
  test("Go-only regex forms", () => {
    expect(compileGoRegExp("^[[:digit:]]+$").test("123")).toBe(true);
    expect(compileGoRegExp("^[[:digit:]]+$").test("12a")).toBe(false);
    expect(compileGoRegExp("(?i)abc").test("xABCx")).toBe(true);
    expect(compileGoRegExp("\\Aab\\z").test("ab")).toBe(true);
    expect(compileGoRegExp("\\Aab\\z").test("abc")).toBe(false);
    expect(() => compileGoRegExp("[[:nope:]]")).toThrow(SyntaxError);
  });
});

describe("hooks.d 0.1.0", () => {
  test("converted to 1.0.0 as containers/common does", () => {
    const r = parseHookDefinition({
      hook: "/usr/libexec/oci/hooks.d/oci-umount",
      arguments: ["--debug"],
      hasbindmounts: true,
      cmds: [".*/init$"],
      annotations: ["fluid", "^x$"],
      stages: ["prestart"],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.anyCondition).toBe(true);
    expect(r.value.definition).toEqual({
      version: "1.0.0",
      hook: { path: "/usr/libexec/oci/hooks.d/oci-umount", args: ["/usr/libexec/oci/hooks.d/oci-umount", "--debug"] },
      when: { commands: [".*/init$"], hasBindMounts: true, annotations: { ".*": "fluid|^x$" } },
      stages: ["prestart"],
    });
  });
  test("synonyms stage/cmd/annotation, and a version of 0.1.0 or none", () => {
    const def = convertLegacy({ hook: SH, stage: ["poststop"], cmd: ["^sh$"], annotation: ["a"] });
    expect(def).toEqual({ version: "1.0.0", hook: { path: SH }, when: { commands: ["^sh$"], annotations: { ".*": "a" } }, stages: ["poststop"] });
    expect(problemsOf({ version: "0.1.0", hook: SH, stages: ["prestart"], hasbindmounts: true })).toEqual([]);
  });
  test("Go's case-insensitive field names: hasBindMounts means hasbindmounts", () => {
    const r = parseHookDefinition({ hook: SH, stages: ["prestart"], hasBindMounts: true });
    expect(r.ok && r.value.definition.when.hasBindMounts).toBe(true);
  });
  test("errors", () => {
    expect(problemsOf({ hook: SH, stages: ["prestart"], stage: ["poststop"], always: true })).toContain("stage: cannot set both 'stage' and 'stages'");
    expect(problemsOf({ hook: SH, cmds: ["x"] })).toEqual(["stages: required"]);
    expect(problemsOf({ stages: ["prestart"], cmds: ["x"] })).toEqual(["hook: required"]);
    expect(problemsOf({ hook: SH, stages: ["prestart"] })[0]).toContain("no when conditions set");
  });
  test("any one condition injects", () => {
    const s = podman();
    expect(hookMatches(entry({ hook: SH, stages: ["prestart"], cmds: ["^nomatch$"], hasbindmounts: true }), s)).toBe(true);
    expect(hookMatches(entry({ hook: SH, stages: ["prestart"], annotations: ["^libpod$", "^nomatch$"] }), s)).toBe(true);
    expect(hookMatches(entry({ hook: SH, stages: ["prestart"], annotations: ["^nomatch$"], hasbindmounts: true }), containerd())).toBe(false);
    expect(hookMatches(entry({ hook: SH, stages: ["prestart"], cmds: ["^sleep$"] }), s)).toBe(true);
  });
});

describe("reading hooks directories", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "hookshim-hooksd-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const write = (dir: string, name: string, doc: unknown) => {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, name), typeof doc === "string" ? doc : JSON.stringify(doc));
  };
  const hook = (arg: string, stages = ["prestart"], when: object = { always: true }) => v1(when, stages, { path: SH, args: [SH, arg] });

  test("a later directory masks the same file name; only *.json is read; missing dirs are fine", () => {
    write("usr", "10-a.json", hook("usr-a"));
    write("usr", "20-b.json", hook("usr-b"));
    write("etc", "10-a.json", hook("etc-a"));
    write("etc", "README", "not a hook");
    write("etc", "30-c.json.disabled", "{");
    const { hooks, errors } = readHooksDirs([join(root, "usr"), join(root, "missing"), join(root, "etc")]);
    expect(errors).toEqual([]);
    expect(hooks.map((h) => [h.name, h.definition.hook.args![1]])).toEqual([
      ["10-a.json", "etc-a"],
      ["20-b.json", "usr-b"],
    ]);
    expect(hooks[0]!.file).toBe(join(root, "etc", "10-a.json"));
  });

  test("injection order: lower-cased file names by code point (containers/common TestGoodNew)", () => {
    write("d", "02-another-hook.json", hook("another"));
    write("d", "01-UPPERCASE.json", hook("upper"));
    write("d", "01-my-hook.json", hook("my", ["prestart", "poststart", "poststop"]));
    write("d", "_z.json", hook("underscore"));
    write("d", "Z.json", hook("Z"));
    const { hooks, errors } = readHooksDirs([join(root, "d")]);
    expect(errors).toEqual([]);
    expect(hooks.map((h) => h.name)).toEqual(["01-my-hook.json", "01-UPPERCASE.json", "02-another-hook.json", "_z.json", "Z.json"]);
    const selected = selectHooks([...hooks].reverse(), podman());
    expect(selected.prestart!.map((h) => h.args![1])).toEqual(["my", "upper", "another", "underscore", "Z"]);
    expect(selected.poststart!.map((h) => h.args![1])).toEqual(["my"]);
    expect(selected.poststop!.map((h) => h.args![1])).toEqual(["my"]);
    // by code points "Z" (0x5a) sorts before "_" (0x5f); lower-cased, "z" (0x7a) comes after it
    expect(compareHookNames("Z.json", "_z.json")).toBeGreaterThan(0);
    // names equal but for case still get one order
    expect(compareHookNames("a.json", "A.json")).toBeGreaterThan(0);
    // code points, as Go compares UTF-8 bytes, not UTF-16 units: U+1F600 (a surrogate pair) sorts after U+FF21
    expect(compareHookNames("\u{1F600}.json", "\uFF41.json")).toBeGreaterThan(0);
    expect(compareHookNames("\uFF41.json", "\u{1F600}.json")).toBeLessThan(0);
    expect(compareHookNames("a\u{1F600}", "a\u{1F600}x")).toBeLessThan(0);
    expect(compareHookNames("x.json", "x.json")).toBe(0);
  });

  test("a bad file is reported by name and skipped; the others still apply", () => {
    write("d", "01-good.json", hook("good"));
    write("d", "02-badjson.json", '{"version": "1.0.0",');
    write("d", "03-version.json", { version: "9", hook: { path: SH } });
    write("d", "04-stage.json", hook("x", ["prestart", "whenever"]));
    write("d", "05-regex.json", v1({ commands: ["(unclosed"] }));
    write("d", "06-nopath.json", v1({ always: true }, ["prestart"], { path: "/nonexistent/hook" }));
    write("d", "07-good.json", hook("good2"));
    const { hooks, errors } = readHooksDirs([join(root, "d")]);
    expect(hooks.map((h) => h.name)).toEqual(["01-good.json", "07-good.json"]);
    const byFile = Object.fromEntries(errors.map((e) => [e.file.slice(root.length + 3), e.message]));
    expect(Object.keys(byFile)).toEqual(["02-badjson.json", "03-version.json", "04-stage.json", "05-regex.json", "06-nopath.json"]);
    expect(byFile["02-badjson.json"]).toStartWith("not valid JSON: ");
    expect(byFile["03-version.json"]).toBe('version: unknown hook version "9" (expected 1.0.0 or 0.1.0)');
    expect(byFile["04-stage.json"]).toStartWith('stages[1]: "whenever" is not one of prestart');
    expect(byFile["05-regex.json"]).toStartWith('when.commands[0]: invalid regular expression "(unclosed"');
    expect(byFile["06-nopath.json"]).toBe("hook.path: /nonexistent/hook does not exist");
  });

  test("a broken file does not mask an earlier directory's good one", () => {
    write("usr", "a.json", hook("usr"));
    write("etc", "a.json", "{");
    const { hooks, errors } = readHooksDirs([join(root, "usr"), join(root, "etc")]);
    expect(hooks.map((h) => h.definition.hook.args![1])).toEqual(["usr"]);
    expect(errors.map((e) => e.file)).toEqual([join(root, "etc", "a.json")]);
  });
});

describe("injectHooks", () => {
  test("appends to the stages named, once, keeping existing hooks first", () => {
    const s = podman();
    s.hooks = { prestart: [{ path: "/usr/bin/existing" }] };
    const a = entry(v1({ always: true }, ["prestart", "poststop"], { path: SH, args: ["sh", "-c", "a"] }), "a.json");
    const b = entry(v1({ commands: ["^sleep$"] }, ["createRuntime"], { path: SH, timeout: 5 }), "b.json");
    const never = entry(v1({ always: false }, ["poststart"]), "c.json");
    const selected = selectHooks([b, never, a], s);
    expect(Object.keys(selected).sort()).toEqual(["createRuntime", "poststop", "prestart"]);
    expect(injectHooks(s, selected)).toBe(3);
    expect(s.hooks).toEqual({
      prestart: [{ path: "/usr/bin/existing" }, { path: SH, args: ["sh", "-c", "a"] }],
      createRuntime: [{ path: SH, timeout: 5 }],
      poststop: [{ path: SH, args: ["sh", "-c", "a"] }],
    });
    // a second injection (a runtime retried, the shim ran twice) adds nothing
    expect(injectHooks(s, selectHooks([a, b], s))).toBe(0);
    expect(s.hooks.prestart).toHaveLength(2);
    // the same hook with its fields in another order is still the same hook
    expect(injectHooks(s, { createRuntime: [{ timeout: 5, path: SH }] })).toBe(0);
    // injected hooks are copies: editing the config does not change the hooks.d entry
    s.hooks.poststop![0]!.args!.push("edited");
    expect(a.definition.hook.args).toEqual(["sh", "-c", "a"]);
  });

  test("a config with no hooks gets a hooks object; nothing selected leaves it untouched", () => {
    const s = containerd();
    expect(injectHooks(s, {})).toBe(0);
    expect(s.hooks).toBeUndefined();
    expect(injectHooks(s, { poststop: [{ path: SH }] })).toBe(1);
    expect(s.hooks).toEqual({ poststop: [{ path: SH }] });
  });
});

describe("the create's config.json sections", () => {
  test("the plain mount check accepts only what the mount selection fields accept, and bad mounts keep their messages", async () => {
    const { InjectConfigSchema, isPlainSelectionMount } = await import("../../lib/oci/inject-config.ts");
    const z = await import("zod/mini");
    const mountSchema = InjectConfigSchema.shape.mounts;
    const fixtures = [...(podman().mounts ?? []), ...(containerd().mounts ?? [])];
    const edge: unknown[] = [
      null, [], "m", {}, { type: 1 }, { options: "ro" }, { options: ["ro", 1] }, { options: [] }, { type: "bind", options: ["rbind"] },
      { destination: "/x", extra: { a: 1 } }, Object.assign(Object.create(null), { type: "tmpfs" }), { type: undefined, options: undefined },
    ];
    expectPlainCheckWithinSchema([...fixtures, ...edge], isPlainSelectionMount, (m) => z.safeParse(mountSchema, [m]).success, fixtures.length);
    const r = z.safeParse(mountSchema, [...fixtures, { type: "bind", options: ["ro", 7] }]);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual([fixtures.length, "options", 1]);
  });
});
