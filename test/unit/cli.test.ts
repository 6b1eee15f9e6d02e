import { describe, expect, test } from "bun:test";
import { commandForArgv0 } from "../../main.ts";
import { HOOKSHIM, GLOBAL_OPTIONS } from "../../lib/cli/commands.ts";
import { HelpRequest, parseCommandLine, subcommandsOf, type CommandSpec, type OptionSpec } from "../../lib/options/index.ts";
import { plainTokens } from "../../lib/options/parse.ts";
import { UsageError } from "../../lib/errors.ts";
import { parseConfig, loadConfig, defaultConfig } from "../../lib/config/index.ts";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../main.ts");
const cli = (...args: string[]) => {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { stdin: "ignore", env: { ...process.env, HOOKSHIM_CONFIG: "" } });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

describe("multi-call dispatch", () => {
  test("argv0 names", () => {
    expect(commandForArgv0("/usr/local/bin/container-notifier")).toBe("notifier");
    expect(commandForArgv0("hookshim-runtime")).toBe("runtime");
    expect(commandForArgv0("/usr/local/sbin/runc")).toBe("runtime");
    expect(commandForArgv0("/usr/local/bin/hookshim")).toBeUndefined();
    expect(commandForArgv0("bun")).toBeUndefined();
  });

  test("global options before the command, after it, and after its subcommand", async () => {
    const a = await parseCommandLine(HOOKSHIM, ["--store", "s1", "--config=/x.json", "--debug", "ps", "--json"], GLOBAL_OPTIONS);
    expect(a.path).toEqual(["hookshim", "ps"]);
    expect([a.globals.str("store"), a.globals.str("config"), a.globals.bool("debug"), a.values.bool("json")]).toEqual(["s1", "/x.json", true, true]);
    const b = await parseCommandLine(HOOKSHIM, ["ps", "-a", "--store", "s2"], GLOBAL_OPTIONS);
    expect([b.globals.str("store"), b.values.bool("all")]).toEqual(["s2", true]);
    const c = await parseCommandLine(HOOKSHIM, ["store", "--store=s3", "gc", "--older-than", "1h", "--debug"], GLOBAL_OPTIONS);
    expect(c.path).toEqual(["hookshim", "store", "gc"]);
    expect([c.globals.str("store"), c.globals.bool("debug"), c.values.duration("older-than")]).toEqual(["s3", true, 3_600_000]);
    await expect(parseCommandLine(HOOKSHIM, ["--store"], GLOBAL_OPTIONS)).rejects.toThrow("hookshim: option --store needs a value");
  });

  test("the runtime shim's argv is not parsed: runc's options pass through, --help included", async () => {
    const r = await parseCommandLine(HOOKSHIM, ["--config", "/c.json", "runtime", "--root", "/r", "--help", "create", "--bundle", "b", "id"], GLOBAL_OPTIONS);
    expect(r.path).toEqual(["hookshim", "runtime"]);
    expect(r.rest).toEqual(["--root", "/r", "--help", "create", "--bundle", "b", "id"]);
    expect(r.globals.str("config")).toBe("/c.json");
  });

  test("unknown command and missing command are usage errors (exit 2, one line)", () => {
    const p = cli("frobnicate");
    expect(p.code).toBe(2);
    expect(p.err.trim()).toBe('hookshim: unknown command "frobnicate" (see hookshim --help)');
    expect(p.out).toBe("");
    const q = cli();
    expect(q.code).toBe(2);
    expect(q.err).toContain("usage: hookshim");
    const r = cli("store");
    expect(r.code).toBe(2);
    expect(r.err).toBe("hookshim store: a command is required (gc, reset; see hookshim store --help)\n");
  });

  test("--version and --help go to stdout with exit 0", () => {
    const p = cli("--help");
    expect(p.code).toBe(0);
    expect(p.out).toContain("commands:");
    expect(p.out).toContain("global options (anywhere on the line):");
    expect(cli("--version").out).toBe("hookshim 0.1.0\n");
    expect(cli("version").out).toBe("hookshim 0.1.0\n");
  });
});

/** Every command path below `spec`, gadgets included. */
async function paths(spec: CommandSpec, path: string[] = []): Promise<string[][]> {
  const subs = spec.passThrough ? [] : await subcommandsOf(spec);
  return [path, ...(await Promise.all(subs.map((s) => paths(s, [...path, s.name])))).flat()];
}

describe("every command explains itself", () => {
  test("--help on every command, subcommand and gadget, and hookshim help PATH says the same", async () => {
    const all = (await paths(HOOKSHIM)).filter((p) => p.length && p[0] !== "runtime");
    expect(all.map((p) => p.join(" "))).toEqual(expect.arrayContaining(["ps", "store gc", "devices check", "hook prestart", "trace exit", "top cgroups", "snapshot containers", "notifier"]));
    for (const path of all) {
      const h = cli(...path, "--help");
      expect({ path, code: h.code, err: h.err }).toEqual({ path, code: 0, err: "" });
      expect(h.out).toStartWith(`usage: hookshim ${path.join(" ")}`);
      const viaHelp = cli("help", ...path);
      expect(viaHelp.out).toBe(h.out);
    }
    // -h too, and after other options
    expect(cli("ps", "--json", "-h").out).toContain("-a, --all");
    expect(cli("help", "runtime").out).toContain("runc's help");
    expect(cli("help", "nope").code).toBe(2);
  }, 120_000);

  test("ps --help lists its options (it once answered unknown option --help)", () => {
    const h = cli("ps", "--help");
    expect(h.out).toContain("--json");
    expect(h.out).toContain("--store NAME");
  });

  test("bash completion is generated from the same declarations and is valid bash", async () => {
    const c = cli("completion", "bash");
    expect(c.code).toBe(0);
    expect(c.out).toContain("complete -F _hookshim hookshim");
    const syntax = Bun.spawnSync(["bash", "-n"], { stdin: Buffer.from(c.out) });
    expect(syntax.exitCode).toBe(0);
    // completing in a real bash: subcommands, options of the command in hand, enum values
    const dir = mkdtempSync(join(tmpdir(), "hookshim-completion-"));
    try {
      const script = join(dir, "c.bash");
      writeFileSync(script, c.out);
      const complete = (line: string) => {
        const words = line.split(" ");
        const probe = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _hookshim; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return Bun.spawnSync(["bash", "-c", probe]).stdout.toString().trim().split("\n").filter(Boolean).sort();
      };
      expect(complete("hookshim st")).toEqual(["store"]);
      expect(complete("hookshim store ")).toEqual(["gc", "reset"]);
      expect(complete("hookshim ps --")).toEqual(expect.arrayContaining(["--all", "--json", "--store", "--help"]));
      expect(complete("hookshim --store x ps -")).toContain("-a");
      expect(complete("hookshim devices compile --format ")).toEqual(["asm", "json"]);
      expect(complete("hookshim trace exit --")).toContain("--queue-size");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("options", () => {
  const specs: OptionSpec[] = [
    { name: "json", kind: "bool", description: "" },
    { name: "kind", short: "k", kind: "string", description: "" },
    { name: "path", short: "p", kind: "string", repeat: true, description: "" },
  ];
  const root: CommandSpec = { name: "hookshim", summary: "", subcommands: [{ name: "x", summary: "", options: specs, positionals: { synopsis: "[FILE]", min: 0, max: 1 } }] };
  const parse = (...args: string[]) => parseCommandLine(root, ["x", ...args], []);
  test("every form util.parseArgs knows", async () => {
    const p = await parse("--json", "--kind", "config", "-p", "x", "--path=/a", "--path", "/b", "file");
    expect([p.values.bool("json"), p.values.str("kind"), p.values.list("path"), p.positionals]).toEqual([true, "config", ["x", "/a", "/b"], ["file"]]);
    expect((await parse("-kstate")).values.str("kind")).toBe("state");
    expect((await parse("--", "--json")).positionals).toEqual(["--json"]);
  });
  test("the plain lines hooks run are split without node:util, into the tokens util.parseArgs gives", async () => {
    const { parseArgs } = await import("node:util");
    const opts = [...GLOBAL_OPTIONS, ...specs];
    const config = Object.fromEntries(opts.map((o) => [o.name, { type: o.kind === "bool" ? ("boolean" as const) : ("string" as const), ...(o.short ? { short: o.short } : {}) }]));
    for (const args of [
      ["hook", "prestart"],
      ["--config", "/etc/h.json", "--store", "s", "hook", "auto"],
      ["--debug", "x", "--kind", "state", "file"],
      ["--json"],
    ]) {
      const plain = plainTokens(args, opts);
      expect(plain).toBeDefined();
      expect(plain).toEqual(parseArgs({ args, options: config, strict: false, allowPositionals: true, tokens: true }).tokens as never);
    }
    // anything else is util's: short options, inline values, --, unknown options, dash-led values
    for (const args of [["-k", "x"], ["--kind=x"], ["--", "a"], ["--nope"], ["--kind", "-5"], ["--kind"]]) expect(plainTokens(args, opts)).toBeUndefined();
  });

  test("errors name the command and the option", async () => {
    await expect(parse("--nope")).rejects.toThrow(new UsageError("hookshim x: unknown option --nope"));
    await expect(parse("--kind")).rejects.toThrow("hookshim x: option --kind needs a value");
    await expect(parse("--json=1")).rejects.toThrow("hookshim x: option --json takes no value");
    await expect(parse("a", "b")).rejects.toThrow('hookshim x: unexpected argument "b"');
    await expect(parse("--help")).rejects.toBeInstanceOf(HelpRequest);
  });
});

describe("hookshim configuration", () => {
  test("defaults validate", () => {
    expect(defaultConfig()).toMatchObject({ store: "hookshim", failMode: "closed", cgroupParent: "/hookshim" });
  });
  test("a file overrides field by field; errors name file and field", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookshim-cfg-"));
    try {
      const f = join(dir, "config.json");
      writeFileSync(f, JSON.stringify({ store: "other", devices: { requests: { allowed: true } } }));
      const c = loadConfig(f);
      expect(c.store).toBe("other");
      expect(c.devices.requests).toEqual({ allowed: true, permitted: [] });
      expect(c.failMode).toBe("closed");
      writeFileSync(f, "{ nope");
      expect(() => loadConfig(f)).toThrow(`${f}: not valid JSON`);
      expect(() => loadConfig(join(dir, "missing.json"))).toThrow(/cannot read config: ENOENT/);
      expect(() => parseConfig({ cgroupParent: "relative" }, "c.json")).toThrow(/^c\.json: cgroupParent: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
