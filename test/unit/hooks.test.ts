// The hook plumbing without privileges: state parsing per stage, the bounded stdin read, the device
// rules a hook attaches, the registration documents, the logger and the fail mode.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { DevcgAccess, DEVICE_PROGRAM_NAME, HOST_PROGRAM_NAME } from "../../lib/devices/index.ts";
import { DEFAULT_HOOKS_DIR, bundleHooks, hookArgs, hooksdDefinition, injectIntoBundle, removeFromBundle, writeHooksFile } from "../../lib/lifecycle/registration.ts";
import { HOOK_STAGE_ARGS, hookCommandLine } from "../../lib/lifecycle/hook-argv.ts";
import { containerDeviceFilter, containerDevices, hostPolicyFilter } from "../../lib/lifecycle/devices.ts";
import { containerRuleSets } from "../../lib/devices/sources.ts";
import { parseHookState, readInput, stageForStatus } from "../../lib/lifecycle/state.ts";
import { HookLogger, StepError, step } from "../../lib/lifecycle/context.ts";
import { containerName } from "../../lib/lifecycle/prestart.ts";
import { runHook } from "../../lib/lifecycle/run.ts";
import { PhaseTimer, TIMING_ENV } from "../../lib/lifecycle/timing.ts";
import { parseHookDefinition } from "../../lib/oci/index.ts";
import { InputError } from "../../lib/errors.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");
const fixture = (p: string) => readFileSync(join(FIXTURES, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), `hooks-unit-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("hook state", () => {
  test("podman's prestart state (status creating, with pid) is a prestart and createRuntime state", () => {
    const text = fixture("states/podman-4.3-prestart.json");
    for (const stage of ["prestart", "createRuntime", "auto"] as const) {
      const { state, stage: ran } = parseHookState(text, stage);
      expect(state.pid).toBe(5097);
      expect(ran).toBe(stage === "auto" ? "prestart" : stage);
    }
  });

  test("podman's poststop state has no pid and is a poststop state only", () => {
    const text = fixture("states/podman-4.3-poststop.json");
    expect(parseHookState(text, "auto").stage).toBe("poststop");
    expect(parseHookState(text, "poststop").state.pid).toBeUndefined();
    expect(() => parseHookState(text, "prestart")).toThrow(`stdin: status "stopped" is not one a prestart hook is run with (creating or created)`);
  });

  test("bad states are InputErrors naming the problem", () => {
    const base = JSON.parse(fixture("states/podman-4.3-prestart.json"));
    const bad = (v: unknown, stage: "prestart" | "poststop" = "prestart") => () => parseHookState(JSON.stringify(v), stage);
    expect(bad({ ...base, pid: undefined })).toThrow("pid: required (a positive process id) for a prestart hook");
    expect(bad({ ...base, pid: 0 })).toThrow("pid: required");
    expect(bad({ ...base, status: undefined })).toThrow("stdin: status: required");
    expect(bad({ ...base, status: "running" }, "poststop")).toThrow(`status "running" is not one a poststop hook is run with (stopped)`);
    expect(bad({ ...base, bundle: "relative/dir" })).toThrow(/stdin: bundle/);
    expect(() => parseHookState("{", "prestart")).toThrow(InputError);
    expect(() => parseHookState("  \n", "prestart")).toThrow("stdin: empty");
    expect(() => stageForStatus("running")).toThrow(`status "running" belongs to no hook stage`);
  });

  test("readInput reads to EOF and refuses more than the limit", () => {
    const file = join(tmp, "state.json");
    writeFileSync(file, "x".repeat(200_000));
    const fd = openSync(file, "r");
    try {
      expect(readInput(fd).length).toBe(200_000);
    } finally {
      closeSync(fd);
    }
    const fd2 = openSync(file, "r");
    try {
      expect(() => readInput(fd2, 100_000)).toThrow("stdin: state is larger than 100000 bytes");
    } finally {
      closeSync(fd2);
    }
  });
});

describe("device rules a hook attaches", () => {
  const NULL = [1, 3] as const;
  const ZERO = [1, 5] as const;
  const FUSE = [10, 229] as const;
  const rw = DevcgAccess.READ | DevcgAccess.WRITE;
  const allows = (cfg: object, policy: Parameters<typeof containerDeviceFilter>[1], [maj, min]: readonly [number, number]) =>
    containerDevices(cfg, policy).allows("c", maj, min, rw);
  const noPolicy = { rules: [], requests: { allowed: false, permitted: [] } };
  const denyZero = { rules: [{ allow: false, type: "c" as const, major: 1, minor: 5, access: "rw" }], requests: { allowed: false, permitted: [] } };

  test("runc's spec (deny all) keeps runc's default devices", () => {
    const cfg = JSON.parse(fixture("bundles/runc-1.1-spec.json"));
    expect(allows(cfg, noPolicy, NULL)).toBe(true);
    expect(allows(cfg, noPolicy, ZERO)).toBe(true);
    expect(allows(cfg, noPolicy, FUSE)).toBe(false);
    expect(allows(cfg, denyZero, ZERO)).toBe(false);
    expect(allows(cfg, denyZero, NULL)).toBe(true);
  });

  test("podman's created /dev/fuse node stays allowed", () => {
    const cfg = JSON.parse(fixture("bundles/podman-4.3.json"));
    const src = containerRuleSets(cfg, noPolicy).container;
    expect(src.filter((r) => r.major === 10 && r.minor === 229).map((r) => r.source)).toContain("linux.devices[0]");
    expect(allows(cfg, denyZero, FUSE)).toBe(true);
  });

  test("annotation requests need the policy's permission", () => {
    const cfg = { ...JSON.parse(fixture("bundles/runc-1.1-spec.json")), annotations: { "io.hookshim.devices": "c 10:200 rw" } };
    expect(() => containerDeviceFilter(cfg, noPolicy)).toThrow("does not allow device requests");
    const permitting = { rules: [], requests: { allowed: true, permitted: [{ allow: true, type: "c" as const, major: 10, minor: null, access: "rwm" }] } };
    expect(allows(cfg, permitting, [10, 200])).toBe(true);
  });

  test("one program: the host's denies first (with their source), then the container's own list", () => {
    const cfg = JSON.parse(fixture("bundles/runc-1.1-spec.json"));
    const f = containerDeviceFilter(cfg, denyZero);
    expect(f.name).toBe(DEVICE_PROGRAM_NAME);
    expect(f.compiled.hostDenies).toEqual([{ type: "c", major: 1, minor: 5, access: DevcgAccess.READ | DevcgAccess.WRITE, source: "policy.rules[0]" }]);
    expect(f.compiled.reduced.defaultAllow).toBe(false);
    expect(f.compiled.instructions[6]!.symbol).toBe("host-0");
    expect(containerDeviceFilter(cfg, noPolicy).compiled.hostDenies).toEqual([]);
    // fail mode open: the host's denies alone, over allow-all, in a program named apart
    const alone = hostPolicyFilter(denyZero)!;
    expect(alone.name).toBe(HOST_PROGRAM_NAME);
    expect(alone.compiled.reduced).toEqual({ defaultAllow: true, exceptions: [] });
    expect(alone.compiled.hostDenies).toHaveLength(1);
    expect(hostPolicyFilter(noPolicy)).toBeUndefined();
  });
});

describe("registration", () => {
  const cmd = { binary: "/usr/local/bin/hookshim", configPath: "/etc/hookshim/test.json", store: "s1" };

  test("hook arguments carry the global options", () => {
    expect(hookArgs(cmd, "poststop")).toEqual(["hookshim", "--config", "/etc/hookshim/test.json", "--store", "s1", "hook", "poststop"]);
    expect(hookArgs({ binary: "/x" }, "auto")).toEqual(["hookshim", "hook", "auto"]);
    expect(DEFAULT_HOOKS_DIR).toBe("/usr/share/containers/oci/hooks.d");
  });

  test("every command line hookArgs writes is read back by the hook fast path, and the general parser agrees", async () => {
    const { HOOKSHIM, GLOBAL_OPTIONS } = await import("../../lib/cli/commands.ts");
    const { parseCommandLine } = await import("../../lib/options/parse.ts");
    for (const c of [{ binary: "/x" }, cmd, { binary: "/x", configPath: "/c.json" }, { binary: "/x", store: "s" }])
      for (const stage of HOOK_STAGE_ARGS) {
        const args = hookArgs(c, stage).slice(1);
        expect(hookCommandLine(args)).toEqual({ stage, configPath: c.configPath, store: c.store });
        const parsed = await parseCommandLine(HOOKSHIM, args, GLOBAL_OPTIONS);
        expect([parsed.path[1], parsed.path[2], parsed.globals.str("config"), parsed.globals.str("store")]).toEqual(["hook", stage, c.configPath, c.store]);
      }
  });

  test("any other command line is left to the general parser", () => {
    for (const args of [
      [],
      ["hook"],
      ["hook", "start"],
      ["hook", "prestart", "extra"],
      ["--debug", "hook", "prestart"],
      ["--config=/c.json", "hook", "prestart"],
      ["--config", "hook", "prestart"],
      ["--config", "", "hook", "prestart"],
      ["--config", "--store", "hook", "prestart"],
      ["--store", "s", "--config", "/c.json", "hook", "prestart"],
      ["hook", "prestart", "--help"],
      ["ps"],
    ])
      expect(hookCommandLine(args)).toBeUndefined();
  });

  test("the hooks.d file is a valid 1.0.0 definition, like the shipped template", () => {
    const def = hooksdDefinition(cmd);
    const parsed = parseHookDefinition(def);
    expect(parsed.ok).toBe(true);
    expect(def.stages).toEqual(["prestart", "poststop"]);
    expect(def.when).toEqual({ always: true });
    const template = JSON.parse(readFileSync(join(import.meta.dir, "../../config/hooks.d/hookshim.json"), "utf8"));
    expect(template).toEqual(hooksdDefinition({ binary: "/usr/local/bin/hookshim" }));
    const dir = join(tmp, "hooks.d");
    expect(JSON.parse(readFileSync(writeHooksFile(dir, cmd), "utf8"))).toEqual(def);
  });

  test("injecting into a bundle is idempotent, keeps other hooks and fields, and is undone by removal", () => {
    const bundle = join(tmp, "bundle");
    mkdirSync(bundle);
    const cfg = JSON.parse(fixture("bundles/runc-1.1-spec.json"));
    cfg.hooks = { prestart: [{ path: "/bin/other" }] };
    cfg["x-unknown"] = { kept: true };
    writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
    expect(injectIntoBundle(bundle, cmd).added).toBe(2);
    expect(injectIntoBundle(bundle, cmd).added).toBe(0);
    const after = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    expect(after.hooks.prestart).toEqual([{ path: "/bin/other" }, ...bundleHooks(cmd).prestart]);
    expect(after.hooks.poststop).toEqual(bundleHooks(cmd).poststop);
    expect(after["x-unknown"]).toEqual({ kept: true });
    expect(removeFromBundle(bundle, cmd.binary).removed).toBe(2);
    const back = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    expect(back.hooks).toEqual({ prestart: [{ path: "/bin/other" }] });
  });
});

describe("logging, steps and fail mode", () => {
  test("the logger writes only lines at or above its level, prefixed", () => {
    const lines: string[] = [];
    const log = new HookLogger("warn", "prestart", (l) => lines.push(l));
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.setPrefix("prestart c1");
    log.error("e");
    expect(lines).toEqual(["hookshim: prestart: warn: w", "hookshim: prestart c1: e"]);
  });

  test("a step names itself and keeps the cause's exit code", async () => {
    const e = (() => {
      try {
        step("reading X", () => {
          throw new InputError("X: bad");
        });
      } catch (err) {
        return err as StepError;
      }
    })()!;
    expect(e.message).toBe("reading X: X: bad");
    expect(e.exitCode).toBe(2);
    await expect(step("async part", async () => Promise.reject(new Error("boom")))).rejects.toThrow("async part: boom");
  });

  test("runHook: closed fails with one line, open warns and exits 0; nothing is run on bad input", async () => {
    const write = (name: string, failMode: string) => {
      const f = join(tmp, name);
      writeFileSync(f, JSON.stringify({ failMode, store: "unit-never-opened" }));
      return f;
    };
    const closedLines: string[] = [];
    const closed = await runHook("prestart", { debug: false, configPath: write("c.json", "closed") }, { input: () => "{", sink: (l) => closedLines.push(l) });
    expect(closed).toBe(2);
    expect(closedLines).toHaveLength(1);
    expect(closedLines[0]).toStartWith("hookshim: prestart: stdin: not valid JSON");
    const openLines: string[] = [];
    const open = await runHook("prestart", { debug: false, configPath: write("o.json", "open") }, { input: () => "{", sink: (l) => openLines.push(l) });
    expect(open).toBe(0);
    expect(openLines).toHaveLength(1);
    expect(openLines[0]).toContain("fail mode open");
    // arguments are refused at the command line, before the hook reads anything (main.ts)
    const extra = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../main.ts"), "hook", "poststop", "x"], { stdin: "ignore" });
    expect(extra.exitCode).toBe(2);
    expect(extra.stderr.toString()).toBe('hookshim hook poststop: unexpected argument "x"\n');
  });

  test("HOOKSHIM_TRACE_TIMING=1: one timing line naming the phases, also when the hook fails", async () => {
    const before = process.env[TIMING_ENV];
    process.env[TIMING_ENV] = "1";
    try {
      const config = join(tmp, "timing.json");
      writeFileSync(config, JSON.stringify({ store: "unit-never-opened" }));
      const lines: string[] = [];
      const code = await runHook("poststop", { debug: false, configPath: config }, { input: () => "{", sink: (l) => lines.push(l) });
      expect(code).toBe(2);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^hookshim: poststop: timing: [\d.]+ ms = boot [\d.]+ \+ config [\d.]+$/);
    } finally {
      if (before === undefined) delete process.env[TIMING_ENV];
      else process.env[TIMING_ENV] = before;
    }
    expect(new PhaseTimer(false).summary()).toBe("");
  });

  test("container names come from the managers' annotations", () => {
    expect(containerName({ "io.kubernetes.container.name": "web" })).toBe("web");
    expect(containerName({ "nerdctl/name": "n1" })).toBe("n1");
    expect(containerName(JSON.parse(fixture("states/podman-4.3-prestart.json")).annotations)).toBe("");
    expect(containerName(undefined)).toBe("");
  });
});
