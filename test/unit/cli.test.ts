import { describe, expect, test } from "bun:test";
import { commandForArgv0, splitGlobals } from "../../main.ts";
import { parseArgs } from "../../lib/options/args.ts";
import { UsageError } from "../../lib/errors.ts";
import { parseConfig, loadConfig, defaultConfig } from "../../lib/config/index.ts";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../main.ts");

describe("multi-call dispatch", () => {
  test("argv0 names", () => {
    expect(commandForArgv0("/usr/local/bin/container-notifier")).toBe("notifier");
    expect(commandForArgv0("hookshim-runtime")).toBe("runtime");
    expect(commandForArgv0("/usr/local/sbin/runc")).toBe("runtime");
    expect(commandForArgv0("/usr/local/bin/hookshim")).toBeUndefined();
    expect(commandForArgv0("bun")).toBeUndefined();
  });

  test("global options before the command", () => {
    const { g, rest } = splitGlobals(["--store", "s1", "--config=/x.json", "--debug", "ps", "--json"]);
    expect(g).toMatchObject({ store: "s1", configPath: "/x.json", debug: true });
    expect(rest).toEqual(["ps", "--json"]);
    expect(() => splitGlobals(["--store"])).toThrow(UsageError);
  });

  test("unknown command and missing command are usage errors (exit 2, one line)", () => {
    const p = Bun.spawnSync([process.execPath, MAIN, "frobnicate"]);
    expect(p.exitCode).toBe(2);
    expect(p.stderr.toString().trim()).toBe('hookshim: unknown command "frobnicate" (see hookshim --help)');
    expect(p.stdout.toString()).toBe("");
    const q = Bun.spawnSync([process.execPath, MAIN]);
    expect(q.exitCode).toBe(2);
    expect(q.stderr.toString()).toContain("usage: hookshim");
  });

  test("--version and --help go to stdout with exit 0", async () => {
    const p = Bun.spawnSync([process.execPath, MAIN, "--help"]);
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString()).toContain("commands:");
  });
});

describe("subcommand options", () => {
  const specs = [{ name: "json" }, { name: "kind", short: "k", value: true }, { name: "path", value: true, repeat: true }];
  test("every form", () => {
    const p = parseArgs(["--json", "--kind", "config", "-p", "x", "--path=/a", "--path", "/b", "file"], [
      ...specs.slice(0, 2),
      { name: "path", short: "p", value: true, repeat: true },
    ]);
    expect(p.opts).toEqual({ json: true, kind: "config", path: ["x", "/a", "/b"] });
    expect(p.positionals).toEqual(["file"]);
    expect(parseArgs(["-kstate"], specs).opts.kind).toBe("state");
    expect(parseArgs(["--", "--json"], specs).positionals).toEqual(["--json"]);
  });
  test("errors name the option", () => {
    expect(() => parseArgs(["--nope"], specs, "hookshim x")).toThrow("hookshim x: unknown option --nope");
    expect(() => parseArgs(["--kind"], specs, "hookshim x")).toThrow("hookshim x: option --kind needs a value");
    expect(() => parseArgs(["--json=1"], specs, "hookshim x")).toThrow("hookshim x: option --json takes no value");
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
