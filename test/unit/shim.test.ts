// The runtime shim's decisions without a runtime: which argvs inject hooks and where the bundle is,
// which lower runtime it picks or refuses, what environment it passes on, how it logs errors, and
// the containerd / docker registration text.
import { describe, test, expect, afterAll } from "bun:test";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, readdirSync, statSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRuncArgv } from "../../lib/oci/runtime-argv.ts";
import { injectsHooks } from "../../shim/main.ts";
import { findLowerRuntime, identityOf, unsafeReason, checkLowerRuntime, LowerRuntimeError, type LowerRuntime } from "../../shim/lower-runtime.ts";
import { isBunVariable, lowerRuntimeEnvironment, withoutBunVariables } from "../../shim/environment.ts";
import { jsonLogLine, rfc3339, RuncLog, textLogLine } from "../../shim/runc-log.ts";
import { configuredRuntimePath } from "../../shim/settings.ts";
import { containerdRuntimeToml, dockerRuntimeJson, installDockerRuntime, installRuntime, withContainerdRuntime, withDockerRuntime, CONTAINERD_RUNTIME_TABLE } from "../../lib/cli/install-runtime.ts";
import { BUN, CLI } from "../support/build.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/runtime-argv");
const argvLines = (file: string) =>
  readFileSync(join(FIXTURES, file), "utf8").split("\n").filter((l) => l !== "").map((l) => l.split(" "));

const tmp = mkdtempSync(join(tmpdir(), `shim-unit-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = (what: string) => {
  const d = join(tmp, `${what}-${++counter}`);
  mkdirSync(d, { recursive: true });
  return d;
};

describe("which invocations inject hooks, and into which bundle", () => {
  test("containerd 1.6: create injects into --bundle; start and delete pass through", () => {
    const [create, start, del, delForce] = argvLines("containerd-1.6-runc.txt");
    const inv = parseRuncArgv(create!, "/somewhere");
    expect(injectsHooks(inv)).toBe(true);
    expect(inv.bundle).toBe("/run/containerd/io.containerd.runtime.v2.task/default/t4");
    expect(inv.globals).toMatchObject({ log: "/run/containerd/io.containerd.runtime.v2.task/default/t4/log.json", logFormat: "json" });
    for (const argv of [start!, del!, delForce!]) expect(injectsHooks(parseRuncArgv(argv, "/somewhere"))).toBe(false);
  });

  test("podman 4.3: create injects; start and delete --force pass through", () => {
    const [create, ...rest] = argvLines("podman-4.3-runc.txt");
    expect(injectsHooks(parseRuncArgv(create!, "/"))).toBe(true);
    for (const argv of rest) expect(injectsHooks(parseRuncArgv(argv, "/"))).toBe(false);
  });

  const forms: [string, string[]][] = [
    ["--bundle X", ["create", "--bundle", "b1", "id"]],
    ["--bundle=X", ["create", "--bundle=b1", "id"]],
    ["-b X", ["create", "-b", "b1", "id"]],
    ["-b=X", ["create", "-b=b1", "id"]],
    ["-bundle X (Go single dash)", ["create", "-bundle", "b1", "id"]],
    ["flag after the id", ["create", "id", "--bundle", "b1"]],
    ["with globals in every form", ["--root", "/r", "--log=/l", "--log-format", "json", "--systemd-cgroup", "create", "--pid-file", "p", "--console-socket=/s", "-b", "b1", "id"]],
    ["run --detach", ["run", "-d", "--bundle", "b1", "id"]],
  ];
  for (const [name, argv] of forms)
    test(`bundle from ${name}`, () => {
      const inv = parseRuncArgv(argv, "/cwd");
      expect(injectsHooks(inv)).toBe(true);
      expect(inv.bundle).toBe("/cwd/b1");
      expect(inv.id).toBe("id");
    });

  test("no --bundle: the cwd, as runc", () => {
    const inv = parseRuncArgv(["--root", "/r", "run", "id"], "/cwd");
    expect(injectsHooks(inv)).toBe(true);
    expect(inv.bundle).toBe("/cwd");
  });

  test("the pass-through path loads neither zod nor the OCI schemas", () => {
    const probe = `await import(${JSON.stringify(join(import.meta.dir, "../../shim/main.ts"))});
      console.log(JSON.stringify(Object.keys(require.cache)));`;
    const r = Bun.spawnSync([process.execPath, "-e", probe], { stderr: "pipe" });
    const loaded: string[] = JSON.parse(r.stdout.toString());
    expect(loaded.some((m) => m.endsWith("shim/main.ts"))).toBe(true);
    expect(loaded.filter((m) => /node_modules\/zod|lib\/oci\/(index|spec|bundle)\.ts|lib\/config\/index\.ts|shim\/inject\.ts/.test(m))).toEqual([]);
  });

  test("every other subcommand passes through", () => {
    for (const argv of [["state", "x"], ["kill", "x", "9"], ["delete", "-f", "x"], ["exec", "x", "create"], ["ps", "x"], ["list"], ["--version"], [], ["spec"], ["restore", "x"], ["events", "x"], ["features"]])
      expect(injectsHooks(parseRuncArgv(argv, "/"))).toBe(false);
  });
});

describe("lower runtime", () => {
  /** the path of an opened runtime, its fd closed */
  function opened(r: LowerRuntime): string {
    closeSync(r.fd);
    return r.path;
  }
  // a root-owned 0755 executable, as an installed runc is (the test process's uid when not root)
  function runtimeFile(dir: string, name: string, mode = 0o755): string {
    const p = join(dir, name);
    writeFileSync(p, "#!/bin/sh\n");
    chmodSync(p, mode);
    return p;
  }
  const uid = process.getuid!();

  test("unsafeReason: owner, group/other write, not executable, not a file", () => {
    const st = (uid: number, mode: number, file = true) => ({ uid, mode, isFile: () => file });
    expect(unsafeReason(st(0, 0o100755))).toBeUndefined();
    expect(unsafeReason(st(1000, 0o100755))).toBe("is owned by uid 1000, not root");
    expect(unsafeReason(st(0, 0o100775))).toBe("is writable by its group (mode 0775)");
    expect(unsafeReason(st(0, 0o100757))).toBe("is writable by others (mode 0757)");
    expect(unsafeReason(st(0, 0o100644))).toBe("is not executable");
    expect(unsafeReason(st(0, 0o040755, false))).toBe("is not a regular file");
  });

  test("search order: runc before crun, directories in order", () => {
    const [d1, d2] = [fresh("path"), fresh("path")];
    const crun = runtimeFile(d1, "crun");
    const runc = runtimeFile(d2, "runc");
    const found = uid === 0 ? opened(findLowerRuntime({ configured: null, self: undefined, dirs: [d1, d2] })) : undefined;
    if (uid === 0) expect(found).toBe(runc);
    else expect(() => findLowerRuntime({ configured: null, self: undefined, dirs: [d1, d2] })).toThrow(LowerRuntimeError);
    rmSync(runc);
    if (uid === 0) expect(opened(findLowerRuntime({ configured: null, self: undefined, dirs: [d1, d2] }))).toBe(crun);
  });

  test("installed as runc: the shim (or a symlink to it) is skipped and the real runc found", () => {
    const [shimDir, sbin, bin] = [fresh("shim"), fresh("sbin"), fresh("bin")];
    const shim = runtimeFile(shimDir, "hookshim");
    symlinkSync(shim, join(sbin, "runc"));
    const real = runtimeFile(bin, "runc");
    const self = identityOf(shim);
    const opts = { configured: null, self, dirs: [sbin, shimDir, bin], names: ["runc", "hookshim"] };
    if (uid === 0) expect(opened(findLowerRuntime(opts))).toBe(real);
    // configured explicitly, the shim (through its symlink) is refused, never exec'd
    expect(() => findLowerRuntime({ ...opts, configured: join(sbin, "runc") })).toThrow(/is this shim itself/);
    expect(() => checkLowerRuntime(shim, self)).toThrow(/is this shim itself/);
  });

  test("a found runtime that is unsafe is refused, not passed over", () => {
    const [d1, d2] = [fresh("path"), fresh("path")];
    runtimeFile(d1, "runc", 0o775);
    runtimeFile(d2, "runc");
    expect(() => findLowerRuntime({ configured: null, self: undefined, dirs: [d1, d2] })).toThrow(/writable by its group/);
  });

  test("configured path: missing, group-writable, world-writable", () => {
    const d = fresh("cfg");
    expect(() => findLowerRuntime({ configured: join(d, "nope"), self: undefined })).toThrow(`runtime.path ${join(d, "nope")}: ENOENT`);
    expect(() => findLowerRuntime({ configured: runtimeFile(d, "gw", 0o775), self: undefined })).toThrow(/writable by its group \(mode 0775\): refusing/);
    expect(() => findLowerRuntime({ configured: runtimeFile(d, "ow", 0o757), self: undefined })).toThrow(/writable by others/);
    if (uid === 0) expect(opened(findLowerRuntime({ configured: runtimeFile(d, "ok"), self: undefined }))).toBe(join(d, "ok"));
  });

  test("a directory above the runtime that others may write is refused; a sticky one (/tmp) is not", () => {
    const d = fresh("dir");
    const sub = join(d, "bin");
    mkdirSync(sub);
    const rt = runtimeFile(sub, "runc");
    chmodSync(sub, 0o757);
    expect(() => findLowerRuntime({ configured: rt, self: undefined })).toThrow(`runtime.path ${rt}: directory ${sub} is writable by others (mode 0757): refusing to run it`);
    chmodSync(sub, 0o1777);
    if (uid === 0) expect(opened(findLowerRuntime({ configured: rt, self: undefined }))).toBe(rt);
    chmodSync(sub, 0o755);
    if (uid === 0) {
      chownSync(sub, 1000, 0);
      expect(() => findLowerRuntime({ configured: rt, self: undefined })).toThrow(/directory .* is owned by uid 1000, not root/);
    }
  });

  test("the checked file is what runs: replacing its path after the check changes nothing (execveat)", () => {
    const d = fresh("swap");
    const out = join(d, "out");
    const rt = join(d, "runc");
    writeFileSync(rt, `#!/bin/sh\necho checked "$@" > ${out}\n`);
    chmodSync(rt, 0o755);
    const other = join(d, "other");
    writeFileSync(other, `#!/bin/sh\necho swapped > ${out}\n`);
    chmodSync(other, 0o755);
    const script = `
      import { renameSync } from "node:fs";
      import { findLowerRuntime } from ${JSON.stringify(join(import.meta.dir, "../../shim/lower-runtime.ts"))};
      import { execveatFd } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/exec.ts"))};
      const lower = findLowerRuntime({ configured: ${JSON.stringify(rt)}, self: undefined });
      renameSync(${JSON.stringify(other)}, ${JSON.stringify(rt)});
      execveatFd(lower.fd, [lower.path, "a", "b"], { PATH: "/usr/bin:/bin" }, lower.path);`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
    if (uid !== 0) return; // a non-root-owned file is refused before any exec
    expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(readFileSync(out, "utf8")).toBe("checked a b\n");
  });

  test("nothing found names the search", () => {
    expect(() => findLowerRuntime({ configured: null, self: undefined, dirs: [fresh("empty")] })).toThrow(/no lower runtime: none of runc, crun in/);
  });

});

describe("environment", () => {
  test("Bun's and JavaScriptCore's variables go, everything else stays", () => {
    const env = lowerRuntimeEnvironment({
      PATH: "/usr/bin", HOME: "/root", HOOKSHIM_CONFIG: "/etc/x.json", NODE_OPTIONS: "--x", XDG_RUNTIME_DIR: "/run/user/0",
      BUN_OPTIONS: "--smol", BUN_BE_BUN: "1", BUN_INSTALL: "/root/.bun", BUN_CONFIG_VERBOSE_FETCH: "curl",
      BUN_JSC_useJIT: "0", JSC_useJIT: "0", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", UNSET: undefined, MY_BUN_THING: "kept",
    });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/root", HOOKSHIM_CONFIG: "/etc/x.json", NODE_OPTIONS: "--x", XDG_RUNTIME_DIR: "/run/user/0", MY_BUN_THING: "kept" });
    expect(isBunVariable("BUN_GARBAGE_COLLECTOR_LEVEL")).toBe(true);
    expect(isBunVariable("BUNDLE")).toBe(false);
  });
  const block = (...entries: string[]) => new TextEncoder().encode(entries.map((e) => `${e}\0`).join(""));
  const entriesOf = (b: Uint8Array) => new TextDecoder().decode(b).split("\0").slice(0, -1);
  test("a block loses the same variables as the record, and keeps the others byte for byte, in order", () => {
    const env: Record<string, string> = {
      BUN_OPTIONS: "--smol", PATH: "/usr/bin", BUN_BE_BUN: "1", HOME: "/root", JSC_useJIT: "0", BUNDLE: "/b",
      MY_BUN_THING: "kept", JSC: "kept", BUN: "kept", X: "BUN_IN_VALUE=1", BUN_JSC_useJIT: "0", "ü": "ö",
    };
    const b = block(...Object.entries(env).map(([k, v]) => `${k}=${v}`));
    const out = withoutBunVariables(b);
    expect(entriesOf(out)).toEqual(Object.entries(lowerRuntimeEnvironment(env)).map(([k, v]) => `${k}=${v}`));
    expect(out[out.length - 1]).toBe(0);
  });
  test("a block with nothing to remove is handed back as it is; first, last and only entries are removed alike", () => {
    const clean = block("PATH=/bin", "HOME=/root");
    expect(withoutBunVariables(clean)).toBe(clean);
    expect(entriesOf(withoutBunVariables(block("BUN_A=1", "PATH=/bin", "JSC_B=2")))).toEqual(["PATH=/bin"]);
    expect(withoutBunVariables(block("BUN_A=1")).length).toBe(0);
    expect(withoutBunVariables(new Uint8Array(0)).length).toBe(0);
    // entries too short to hold a prefix, and an empty one, stay
    expect(entriesOf(withoutBunVariables(block("BU", "", "J=1", "BUN_=x")))).toEqual(["BU", "", "J=1"]);
    // bytes that are not UTF-8 pass untouched
    const raw = new Uint8Array([0x41, 0x3d, 0xff, 0, 0x42, 0x55, 0x4e, 0x5f, 0x3d, 0xfe, 0]);
    expect([...withoutBunVariables(raw)]).toEqual([0x41, 0x3d, 0xff, 0]);
  });
});

describe("runc-style log lines", () => {
  const at = new Date(Date.UTC(2026, 10, 21, 23, 5, 1, 123));
  test("JSON: logrus's keys and RFC 3339 time in whole seconds", () => {
    const line = jsonLogLine("error", 'hookshim: bundle /x: does not exist "quoted"', at);
    expect(line).toBe('{"level":"error","msg":"hookshim: bundle /x: does not exist \\"quoted\\"","time":"2026-11-21T23:05:01Z"}\n');
    expect(JSON.parse(line)).toEqual({ level: "error", msg: 'hookshim: bundle /x: does not exist "quoted"', time: "2026-11-21T23:05:01Z" });
    expect(rfc3339(at)).toBe("2026-11-21T23:05:01Z");
  });
  test("text: logfmt as logrus writes it to a file", () => {
    expect(textLogLine("warning", "a b", at)).toBe('time="2026-11-21T23:05:01Z" level=warning msg="a b"\n');
  });
  test("RuncLog appends to --log in its format, and nowhere without --log", () => {
    const d = fresh("log");
    const json = join(d, "log.json");
    writeFileSync(json, '{"level":"info","msg":"before","time":"2026-01-01T00:00:00Z"}\n');
    RuncLog.of({ log: json, logFormat: "json" }).write("error", "hookshim: failed");
    const lines = readFileSync(json, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: "error", msg: "hookshim: failed" });
    const text = join(d, "log.txt");
    new RuncLog(text, undefined).write("error", "x");
    expect(readFileSync(text, "utf8")).toMatch(/^time="[^"]+Z" level=error msg="x"\n$/);
    // an unwritable log does not throw: the error still reaches stderr
    new RuncLog(join(d, "missing-dir", "log"), "json").write("error", "x");
  });
});

describe("runtime.path without the schema (pass-through commands)", () => {
  test("absent file or field: the default; null and absolute paths as given; anything else an input error", () => {
    const d = fresh("settings");
    const write = (name: string, text: string) => {
      writeFileSync(join(d, name), text);
      return join(d, name);
    };
    expect(configuredRuntimePath(write("none.json", '{"store":"x"}'))).toBeNull();
    expect(configuredRuntimePath(write("null.json", '{"runtime":{"path":null}}'))).toBeNull();
    expect(configuredRuntimePath(write("abs.json", '{"runtime":{"path":"/usr/sbin/runc"}}'))).toBe("/usr/sbin/runc");
    expect(() => configuredRuntimePath(write("rel.json", '{"runtime":{"path":"runc"}}'))).toThrow("rel.json: runtime.path: expected an absolute path or null");
    expect(() => configuredRuntimePath(write("bad.json", "{"))).toThrow(/bad\.json: not valid JSON/);
    expect(() => configuredRuntimePath(join(d, "missing.json"))).toThrow(/missing\.json: cannot read config: ENOENT/);
  });
});

describe("containerd and docker registration", () => {
  const entry = containerdRuntimeToml("/usr/local/bin/hookshim-runtime");
  test("the containerd 1.6 (version 2) entry", () => {
    expect(entry).toBe(
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hookshim]\n' +
        '  runtime_type = "io.containerd.runc.v2"\n' +
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hookshim.options]\n' +
        '  BinaryName = "/usr/local/bin/hookshim-runtime"\n',
    );
  });
  test("docker's daemon.json entry", () => {
    expect(JSON.parse(dockerRuntimeJson())).toEqual({ runtimes: { hookshim: { path: "/usr/local/bin/hookshim-runtime" } } });
  });
  test("an empty file becomes a version 2 config with the entry", () => {
    expect(withContainerdRuntime("", "c.toml")).toBe(`version = 2\n\n${entry}`);
  });
  test("the rest of the TOML stays byte for byte; an old entry is replaced, not duplicated", () => {
    const original = [
      "# site config",
      "version = 2",
      'root = "/var/lib/containerd"',
      "",
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  default_runtime_name = "runc"  # keep',
      '[plugins . "io.containerd.grpc.v1.cri".containerd.runtimes.hookshim]',
      '  runtime_type = "io.containerd.runc.v1"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hookshim.options]',
      '  BinaryName = "/old/path"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '  runtime_type = "io.containerd.runc.v2"',
      "",
    ].join("\n");
    const once = withContainerdRuntime(original, "c.toml", "/usr/local/bin/hookshim-runtime");
    expect(once).toBe(
      [
        ...original.split("\n").slice(0, 6),
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '  runtime_type = "io.containerd.runc.v2"',
        "",
        entry,
      ].join("\n"),
    );
    expect(withContainerdRuntime(once, "c.toml", "/usr/local/bin/hookshim-runtime")).toBe(once);
    expect(once.split(`[${CONTAINERD_RUNTIME_TABLE}]`)).toHaveLength(2);
  });
  test("--write replaces the file atomically, keeping its mode; a missing file is created", () => {
    const d = fresh("toml");
    const file = join(d, "config.toml");
    writeFileSync(file, 'version = 2\n# mine\n[grpc]\n  address = "/run/x.sock"\n');
    chmodSync(file, 0o600);
    expect(installRuntime({ containerdConfig: file, write: true, binary: "/opt/hookshim-runtime" })).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(`version = 2\n# mine\n[grpc]\n  address = "/run/x.sock"\n\n${containerdRuntimeToml("/opt/hookshim-runtime")}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const created = join(d, "new.toml");
    installRuntime({ containerdConfig: created, write: true });
    expect(readFileSync(created, "utf8")).toBe(`version = 2\n\n${entry}`);
    const untouched = join(d, "print.toml");
    installRuntime({ containerdConfig: untouched, write: false });
    expect(existsSync(untouched)).toBe(false);
  });

  test("version 1 configs are refused with the way out", () => {
    expect(() => withContainerdRuntime('root = "/x"\n[plugins.cri]\n', "c.toml")).toThrow(/c\.toml: containerd config without a version \(version 1\).*containerd config migrate/);
    expect(() => withContainerdRuntime("version = 3\n", "c.toml")).toThrow(/version 3/);
  });

  test("daemon.json: the hookshim runtime merged in, every other key and runtime kept in order", () => {
    const doc = { "log-driver": "journald", runtimes: { crun: { path: "/usr/bin/crun", runtimeArgs: ["--debug"] }, hookshim: { path: "/old" } }, "default-ulimits": {} };
    const merged = withDockerRuntime(doc, "d.json", "/opt/hookshim-runtime");
    expect(Object.keys(merged)).toEqual(["log-driver", "runtimes", "default-ulimits"]);
    expect(merged.runtimes).toEqual({ crun: { path: "/usr/bin/crun", runtimeArgs: ["--debug"] }, hookshim: { path: "/opt/hookshim-runtime" } });
    expect(withDockerRuntime(merged, "d.json", "/opt/hookshim-runtime")).toEqual(merged);
    expect(withDockerRuntime(undefined, "d.json")).toEqual(JSON.parse(dockerRuntimeJson()));
    expect(withDockerRuntime({}, "d.json")).toEqual(JSON.parse(dockerRuntimeJson()));
  });
  test("daemon.json that is not an object, or whose runtimes is not one, is refused naming the file", () => {
    expect(() => withDockerRuntime([], "/etc/d.json")).toThrow(/^\/etc\/d\.json: daemon\.json must be a JSON object, not an array$/);
    expect(() => withDockerRuntime(null, "d.json")).toThrow(/not null/);
    expect(() => withDockerRuntime({ runtimes: ["x"] }, "d.json")).toThrow(/d\.json: runtimes: must be an object/);
  });
  test("--docker-config --write replaces daemon.json atomically (mode kept, big integers exact); without --write nothing is written", () => {
    const d = fresh("docker");
    const file = join(d, "daemon.json");
    writeFileSync(file, '{"max-concurrent-uploads": 5, "x-big": 18446744073709551615, "runtimes": {"crun": {"path": "/usr/bin/crun"}}}');
    chmodSync(file, 0o600);
    expect(installDockerRuntime({ dockerConfig: file, write: true, binary: "/opt/hookshim-runtime" })).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toContain('"x-big": 18446744073709551615');
    expect(text.endsWith("}\n")).toBe(true);
    expect(JSON.parse(text).runtimes).toEqual({ crun: { path: "/usr/bin/crun" }, hookshim: { path: "/opt/hookshim-runtime" } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const untouched = join(d, "print.json");
    installDockerRuntime({ dockerConfig: untouched, write: false });
    expect(existsSync(untouched)).toBe(false);
  });
  test("hookshim install --docker-config with a malformed file: exit 2, one line naming it, the file unchanged", () => {
    const d = fresh("docker-bad");
    const file = join(d, "daemon.json");
    writeFileSync(file, '{"runtimes": ');
    const r = Bun.spawnSync([BUN, CLI, "install", "--docker-config", file, "--write"], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    const err = r.stderr.toString().trim();
    expect(err.split("\n")).toHaveLength(1);
    expect(err).toContain(`${file}: `);
    expect(readFileSync(file, "utf8")).toBe('{"runtimes": ');
    expect(readdirSync(d)).toEqual(["daemon.json"]);
  });
});

describe("create: what is validated before config.json is rewritten", () => {
  const spec = () => JSON.parse(readFileSync(join(import.meta.dir, "../../../shared/fixtures/bundles/runc-1.1-spec.json"), "utf8"));
  const hooksDir = () => {
    const d = fresh("hooks.d");
    writeFileSync(join(d, "a.json"), JSON.stringify({ version: "1.0.0", hook: { path: "/bin/true" }, when: { always: true }, stages: ["prestart"] }));
    return d;
  };
  const run = async (bundle: string, hooksDirs: string[]) => {
    const { injectConfiguredHooks } = await import("../../shim/inject.ts");
    const { defaultConfig } = await import("../../lib/config/index.ts");
    const config = { ...defaultConfig(), hooksDirs };
    return injectConfiguredHooks(parseRuncArgv(["create", "--bundle", bundle, "x"]), config, undefined, new RuncLog(undefined, undefined));
  };

  test("a field selection reads (process.args) is refused naming it, hooks.d empty or not", async () => {
    const bundle = fresh("bundle");
    const s = spec();
    s.process.args = "true";
    writeFileSync(join(bundle, "config.json"), JSON.stringify(s));
    await expect(run(bundle, [])).rejects.toThrow(`${join(bundle, "config.json")}: process.args`);
    await expect(run(bundle, [hooksDir()])).rejects.toThrow(`${join(bundle, "config.json")}: process.args`);
  });

  test("a field only the lower runtime reads: left to it when nothing is injected, refused before a rewrite", async () => {
    const bundle = fresh("bundle");
    const s = spec();
    s.process.cwd = "relative";
    const text = JSON.stringify(s);
    writeFileSync(join(bundle, "config.json"), text);
    expect(await run(bundle, [])).toMatchObject({ added: 0 });
    await expect(run(bundle, [hooksDir()])).rejects.toThrow(`${join(bundle, "config.json")}: process.cwd: "relative" is not an absolute path`);
    expect(readFileSync(join(bundle, "config.json"), "utf8")).toBe(text);
    s.process.cwd = "/";
    writeFileSync(join(bundle, "config.json"), JSON.stringify(s));
    expect(await run(bundle, [hooksDir()])).toMatchObject({ added: 1 });
    expect(JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")).hooks.prestart).toEqual([{ path: "/bin/true" }]);
  });
});
