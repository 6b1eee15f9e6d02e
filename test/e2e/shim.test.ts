// The runtime shim in front of real runtimes: runc directly (bad input, unsafe lower runtimes,
// hooks.d injection), containerd through `ctr run --runc-binary` compared hook for hook with what
// podman --hooks-dir runs for the same directories, and podman --runtime passing its commands
// through.
import { expect, afterAll, beforeAll } from "bun:test";
import { chmodSync, chownSync, closeSync, openSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describeNeeds, needs } from "../support/prereq.ts";
import { compile } from "../support/build.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";


const BUN = join(import.meta.dir, "../../node_modules/.bin/bun");
const CLI = join(import.meta.dir, "../../lib/cli/main.ts");
const RUNC = "/usr/sbin/runc";
let counter = 0;
const uniq = (what: string) => `shim-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `shim-e2e-${process.pid}-`));
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(tmp, { recursive: true, force: true });
}, scaled(60_000));

// The compiled multi-call binary when the tree builds, else the CLI run by bun: both are the shim.
let compiled: string | undefined;
function shimCommand(): string {
  if (compiled === undefined) {
    const out = join(tmp, "hookshim-runtime");
    compiled = compile(out).ok ? out : "";
  }
  return compiled ? `exec ${compiled} "$@"` : `exec ${BUN} ${CLI} runtime "$@"`;
}

/** An executable the runtimes call as runc: the shim with HOOKSHIM_CONFIG set, recording each argv. */
function shimFor(config: object): { path: string; calls: () => string[][] } {
  const dir = join(tmp, uniq("shim"));
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const calls = join(dir, "calls");
  const path = join(dir, "runc-shim");
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\037' "$@" >> ${calls}; echo >> ${calls}\nHOOKSHIM_CONFIG=${join(dir, "config.json")} ${shimCommand()}\n`);
  chmodSync(path, 0o755);
  const readCalls = () =>
    existsSync(calls) ? readFileSync(calls, "utf8").split("\n").filter(Boolean).map((l) => l.split("\x1f").slice(0, -1)) : [];
  return { path, calls: readCalls };
}

function busyboxRootfs(): string {
  const rootfs = join(tmp, uniq("rootfs"));
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc", "mnt"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const a of ["sh", "sleep", "true", "echo", "cat"]) symlinkSync("busybox", join(rootfs, "bin", a));
  return rootfs;
}

// Each hook appends "<container id> <name> <stage>" to LOG; the stage comes from the state's status
// (runc 1.1: prestart "creating", poststart "created", poststop "stopped"; createRuntime would share
// prestart's, so it is not used), then the count of BUN_ variables the hook inherited.
const hookScript = (() => {
  let path: string | undefined;
  return () => {
    if (path) return path;
    path = join(tmp, "log-hook.sh");
    writeFileSync(
      path,
      `#!/bin/sh
state=$(tr -d '\\n')
id=$(echo "$state" | sed -n 's/.*"id": *"\\([^"]*\\)".*/\\1/p')
status=$(echo "$state" | sed -n 's/.*"status": *"\\([a-z]*\\)".*/\\1/p')
case "$status" in creating) stage=prestart;; created|running) stage=poststart;; stopped) stage=poststop;; *) stage="$status";; esac
echo "$id $1 $stage $(env | grep -c '^BUN_')" >> "$2"
`,
    );
    chmodSync(path, 0o755);
    return path;
  };
})();

function hooksDir(files: Record<string, object | string>): string {
  const dir = join(tmp, uniq("hooks.d"));
  mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), typeof body === "string" ? body : JSON.stringify(body));
  return dir;
}

const hook = (name: string, log: string, when: object, stages: string[]) => ({
  version: "1.0.0",
  hook: { path: hookScript(), args: ["log-hook.sh", name, log] },
  when,
  stages,
});

/** "<name> <stage>" lines of one container, in the order they ran. */
function hookLines(log: string, id: string): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith(`${id} `)).map((l) => l.split(" ").slice(1, 3).join(" "));
}

async function waitFor(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

async function run(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const p = Bun.spawn(argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

function runcBundle(rootfs: string, args: string[], extra: Record<string, unknown> = {}): string {
  const bundle = join(tmp, uniq("bundle"));
  mkdirSync(bundle);
  const spec = Bun.spawnSync([RUNC, "spec", "--bundle", bundle]);
  if (spec.exitCode !== 0) throw new Error(`runc spec: ${spec.stderr}`);
  const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  cfg.process.terminal = false;
  cfg.process.args = args;
  cfg.root = { path: rootfs, readonly: true };
  Object.assign(cfg, extra);
  writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg, null, "\t"));
  return bundle;
}

describeNeeds(["root", "runc", "busybox"], "shim in front of runc", () => {
  const runcRoot = join(tmp, "runc-root");
  let rootfs: string;
  beforeAll(() => {
    rootfs = busyboxRootfs();
  });

  const errorLines = (log: string) =>
    existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string; time: string }) : [];

  async function expectRefused(shim: string, argv: string[], code: number, message: RegExp, cwd?: string) {
    const log = join(tmp, uniq("log.json"));
    const r = await run([shim, "--root", runcRoot, "--log", log, "--log-format", "json", ...argv], { cwd });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const lines = errorLines(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe("error");
    expect(lines[0]!.msg).toMatch(message);
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    return r;
  }

  async function expectNoContainer(id: string) {
    const st = await run([RUNC, "--root", runcRoot, "state", id]);
    expect(st.code).not.toBe(0);
  }

  needs("root")("hooks.d hooks are injected once, unknown fields kept; one bad hooks.d file is reported and skipped", async () => {
    const log = join(tmp, uniq("hooks.log"));
    const dir = hooksDir({
      "good.json": hook("good", log, { always: true }, ["prestart", "poststop"]),
      "bad.json": "{not json",
      "badschema.json": { version: "1.0.0", hook: { path: "relative" }, when: { always: true }, stages: ["prestart"] },
      "notjson.txt": "ignored: not *.json",
    });
    const shim = shimFor({ hooksDirs: [dir] });
    const unknown = { "org.example.unknown": { keep: [1, 2, 3] } };
    const bundle = runcBundle(rootfs, ["true"], unknown);
    // an unsafe integer must survive the rewrite digit for digit
    const original = readFileSync(join(bundle, "config.json"), "utf8").replace('"rlimits": [', '"rlimits": [{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615},');
    writeFileSync(join(bundle, "config.json"), original);
    const runtimeLog = join(tmp, uniq("log.json"));
    for (let i = 0; i < 2; i++) {
      const id = uniq("ok");
      // bundle from the cwd (no --bundle), as runc; Bun's variables must not reach the hooks
      const r = await run([shim.path, "--root", runcRoot, "--log", runtimeLog, "--log-format", "json", "run", id], {
        cwd: bundle,
        env: { BUN_OPTIONS: "--smol", BUN_E2E_MARKER: "1" },
      });
      expect(r.code).toBe(0);
      expect(hookLines(log, id)).toEqual(["good prestart", "good poststop"]);
      expect(readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith(`${id} `)).every((l) => l.endsWith(" 0"))).toBe(true);
      expect(r.stderr).toContain(join(dir, "bad.json"));
      expect(r.stderr).toContain(join(dir, "badschema.json"));
      expect(r.stderr).not.toContain("notjson.txt");
    }
    const warnings = errorLines(runtimeLog).filter((l) => l.level === "warning");
    expect(warnings.filter((w) => w.msg.includes(join(dir, "bad.json")) && w.msg.includes("skipped"))).toHaveLength(2);
    const text = readFileSync(join(bundle, "config.json"), "utf8");
    const cfg = JSON.parse(text);
    expect(cfg["org.example.unknown"]).toEqual(unknown["org.example.unknown"]);
    expect(text).toContain('"hard":18446744073709551615');
    // injected once, even though the bundle was used twice
    expect(cfg.hooks.prestart).toEqual([{ path: hookScript(), args: ["log-hook.sh", "good", log] }]);
    expect(cfg.hooks.poststop).toHaveLength(1);
  }, scaled(60_000));

  needs("root")("--bundle in every form, and a hooks.d prestart stays a prestart hook", async () => {
    const log = join(tmp, uniq("hooks.log"));
    const shim = shimFor({ hooksDirs: [hooksDir({ "p.json": hook("p", log, { always: true }, ["prestart"]) })] });
    for (const form of [(b: string) => ["--bundle", b], (b: string) => [`--bundle=${b}`], (b: string) => ["-b", b]]) {
      const bundle = runcBundle(rootfs, ["true"]);
      const id = uniq("form");
      const r = await run([shim.path, "--root", runcRoot, "run", ...form(bundle), id]);
      expect(r.code).toBe(0);
      expect(hookLines(log, id)).toEqual(["p prestart"]);
      const hooks = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")).hooks;
      expect(Object.keys(hooks)).toEqual(["prestart"]);
    }
  }, scaled(60_000));

  needs("root")("bad input: missing bundle, missing / invalid / unreadable config.json — exit 2, nothing exec'd", async () => {
    const shim = shimFor({ hooksDirs: [] });
    let id = uniq("missing");
    await expectRefused(shim.path, ["create", "--bundle", join(tmp, "no-such-bundle"), id], 2, /bundle .*no-such-bundle: does not exist/);
    await expectNoContainer(id);

    const empty = join(tmp, uniq("empty-bundle"));
    mkdirSync(empty);
    id = uniq("noconfig");
    await expectRefused(shim.path, ["create", id], 2, /config\.json: cannot open: ENOENT/, empty);
    await expectNoContainer(id);

    const invalid = runcBundle(rootfs, ["true"]);
    writeFileSync(join(invalid, "config.json"), "{\"ociVersion\": ");
    id = uniq("badjson");
    await expectRefused(shim.path, ["run", "--bundle", invalid, id], 2, /config\.json: .*JSON/);
    await expectNoContainer(id);

    const wrongSchema = runcBundle(rootfs, ["true"]);
    const cfg = JSON.parse(readFileSync(join(wrongSchema, "config.json"), "utf8"));
    cfg.process.args = "true";
    writeFileSync(join(wrongSchema, "config.json"), JSON.stringify(cfg));
    const before = readFileSync(join(wrongSchema, "config.json"), "utf8");
    id = uniq("schema");
    await expectRefused(shim.path, ["create", "-b", wrongSchema, id], 2, /config\.json: process\.args/);
    expect(readFileSync(join(wrongSchema, "config.json"), "utf8")).toBe(before);
    await expectNoContainer(id);

    const unreadable = join(tmp, uniq("dir-config"));
    mkdirSync(join(unreadable, "config.json"), { recursive: true });
    await expectRefused(shim.path, ["create", "--bundle", unreadable, uniq("dir")], 2, /config\.json: is a directory/);
  }, scaled(60_000));

  needs("root")("unsafe lower runtimes are refused (exit 1) before config.json is touched", async () => {
    const bundle = runcBundle(rootfs, ["true"]);
    const log = join(tmp, uniq("hooks.log"));
    const dir = hooksDir({ "a.json": hook("a", log, { always: true }, ["prestart"]) });
    const before = readFileSync(join(bundle, "config.json"), "utf8");

    const groupWritable = join(tmp, uniq("runc-gw"));
    copyFileSync(RUNC, groupWritable);
    chmodSync(groupWritable, 0o775);
    await expectRefused(shimFor({ hooksDirs: [dir], runtime: { path: groupWritable } }).path, ["create", "-b", bundle, uniq("gw")], 1, /writable by its group \(mode 0775\): refusing/);

    const notRoot = join(tmp, uniq("runc-user"));
    copyFileSync(RUNC, notRoot);
    chmodSync(notRoot, 0o755);
    chownSync(notRoot, 65534, 65534);
    await expectRefused(shimFor({ hooksDirs: [dir], runtime: { path: notRoot } }).path, ["create", "-b", bundle, uniq("user")], 1, /owned by uid 65534, not root/);

    // the shim's own executable (compiled: the hookshim binary; as a script: bun), through a symlink
    const selfLink = join(tmp, uniq("self-link"));
    symlinkSync(compiled || realpathSync(BUN), selfLink);
    await expectRefused(shimFor({ hooksDirs: [dir], runtime: { path: selfLink } }).path, ["create", "-b", bundle, uniq("self")], 1, /is this shim itself/);
    // pass-through commands are refused the same way
    await expectRefused(shimFor({ hooksDirs: [dir], runtime: { path: selfLink } }).path, ["state", "x"], 1, /is this shim itself/);

    expect(readFileSync(join(bundle, "config.json"), "utf8")).toBe(before);
    expect(existsSync(log)).toBe(false);
  }, scaled(60_000));
});

describeNeeds(["root"], "shim exec of the lower runtime", () => {
  needs("root")("same pid, argv untouched, fds kept, Bun's variables gone; hookshim's own hooks when configured", async () => {
    const out = join(tmp, uniq("lower"));
    mkdirSync(out);
    // a root-owned 0755 stand-in for runc that records what it was given
    const fake = join(out, "fake-runc");
    writeFileSync(fake, `#!/bin/sh\necho $$ > ${out}/pid\nprintf '%s\\n' "$@" > ${out}/argv\nenv > ${out}/env\nls /proc/$$/fd > ${out}/fds\n`);
    chmodSync(fake, 0o755);
    const shim = shimFor({ hooksDirs: [], runtime: { path: fake, injectHookshimHooks: true } });
    const bundle = join(out, "bundle");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "config.json"), readFileSync(join(import.meta.dir, "../../../shared/fixtures/bundles/containerd-1.6.json")));
    const argv = ["--root", "/r", "--log", join(out, "log.json"), "--log-format=json", "--systemd-cgroup", "create", `--bundle=${bundle}`,
      "--pid-file", "init.pid", "--console-socket=/s", "--preserve-fds", "1", "ctr-id"];
    // (BUN_BE_BUN cannot be tried here: it turns the compiled shim itself into bun before any of its code runs)
    writeFileSync(join(out, "extra"), "x");
    const fd = openSync(join(out, "extra"), "r");
    cleanups.push(() => closeSync(fd));
    const p = Bun.spawn([shim.path, ...argv], { env: { ...process.env, BUN_E2E_MARKER: "1", BUN_OPTIONS: "--smol", JSC_useJIT: "1" }, stdio: ["ignore", "pipe", "pipe", fd] });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    if (!compiled) {
      // as a script there is no binary for the hooks to run: refused, and the runtime never ran
      expect(code).toBe(1);
      expect(stderr).toContain("runtime.injectHookshimHooks needs the compiled hookshim");
      expect(existsSync(join(out, "argv"))).toBe(false);
      return;
    }
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(Number(readFileSync(join(out, "pid"), "utf8"))).toBe(p.pid);
    expect(readFileSync(join(out, "argv"), "utf8")).toBe(argv.map((a) => `${a}\n`).join(""));
    expect(readFileSync(join(out, "fds"), "utf8").split("\n")).toContain("3");
    const env = readFileSync(join(out, "env"), "utf8").split("\n");
    expect(env.filter((l) => /^(BUN_|JSC_)/.test(l))).toEqual([]);
    expect(env).toContain(`HOOKSHIM_CONFIG=${join(dirname(shim.path), "config.json")}`);
    const own = (stage: string) => ({ path: compiled, args: ["hookshim", "--config", join(dirname(shim.path), "config.json"), "hook", stage] });
    expect(cfg.hooks).toEqual({ prestart: [own("prestart")], poststop: [own("poststop")] });
  }, scaled(60_000));
});

// The same two hooks.d directories through podman --hooks-dir and through the shim under containerd.
function comparisonHooks(log: string): [string, string] {
  const legacy = { hook: hookScript(), arguments: ["legacy", log], stages: ["prestart"], cmds: ["^sh$"] };
  const d1 = hooksDir({
    "01-always.json": hook("always", log, { always: true }, ["prestart", "poststop"]),
    "02-annotation.json": hook("annotation", log, { annotations: { "^io\\.hookshim\\.e2e$": "^on$" } }, ["prestart"]),
    "03-annotation-off.json": hook("annotation-off", log, { annotations: { "^io\\.hookshim\\.e2e$": "^off$" } }, ["prestart"]),
    "04-command.json": hook("command", log, { commands: ["^sh$"] }, ["poststart"]),
    "05-command-off.json": hook("command-off", log, { commands: ["^nomatch$"] }, ["prestart"]),
    "06-binds.json": hook("binds", log, { hasBindMounts: true }, ["prestart"]),
    "07-masked.json": hook("masked-d1", log, { always: true }, ["prestart"]),
    "08-legacy.json": legacy,
    "B-upper.json": hook("upper", log, { always: true }, ["prestart"]),
    "10-never.json": hook("never", log, { always: false }, ["prestart"]),
  });
  const d2 = hooksDir({
    "07-masked.json": hook("masked-d2", log, { always: true }, ["poststop"]),
    "a-d2.json": hook("d2", log, { always: true }, ["prestart"]),
  });
  return [d1, d2];
}

// podman's order: file names lower-cased (a-d2 before B-upper), D2's 07-masked replacing D1's.
const EXPECTED = [
  "always prestart", "annotation prestart", "binds prestart", "legacy prestart", "d2 prestart", "upper prestart",
  "command poststart",
  "always poststop", "masked-d2 poststop",
];

const PODMAN = ["podman", "--cgroup-manager=cgroupfs"];
const PODMAN_RUN = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

describeNeeds(["root", "containerd", "ctr", "podman", "busybox", "runc"], "shim under containerd, compared with podman --hooks-dir", () => {
  const d = join(tmp, uniq("containerd"));
  const sock = join(d, "c.sock");
  let daemon: ReturnType<typeof Bun.spawn> | undefined;

  beforeAll(async () => {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "config.toml"), `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n`);
    daemon = Bun.spawn(["containerd", "--config", join(d, "config.toml"), "--root", join(d, "root"), "--state", join(d, "state"), "--address", sock], { stdout: "ignore", stderr: "ignore" });
    for (let i = 0; i < 200 && !Bun.spawnSync(["ctr", "--address", sock, "version"]).success; i++) await Bun.sleep(50);
    if (!Bun.spawnSync(["ctr", "--address", sock, "version"]).success) throw new Error("containerd did not start within 10 s");
  });
  afterAll(async () => {
    if (daemon) {
      daemon.kill("SIGTERM");
      await daemon.exited;
    }
    rmSync(d, { recursive: true, force: true });
  }, scaled(30_000));

  needs("root")("exactly the selected hooks, in podman's order and stages", async () => {
    const log = join(tmp, uniq("hooks.log"));
    const [d1, d2] = comparisonHooks(log);
    const bindSource = join(tmp, uniq("bind-src"));
    mkdirSync(bindSource);

    // podman, reading the directories itself
    const cidfile = join(tmp, uniq("cid"));
    const name = uniq("podman");
    cleanups.push(() => Bun.spawn([...PODMAN, "rm", "-f", "--ignore", name], { stdout: "ignore", stderr: "ignore" }).exited);
    const p = await run([...PODMAN, "--runtime", RUNC, "--hooks-dir", d1, "--hooks-dir", d2, "run", "--rm", "--name", name, ...PODMAN_RUN,
      "--annotation", "io.hookshim.e2e=on", "-v", `${bindSource}:/mnt`, "--cidfile", cidfile, "--rootfs", busyboxRootfs(), "sh", "-c", "true"]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    const podmanId = readFileSync(cidfile, "utf8").trim();
    await waitFor(() => hookLines(log, podmanId).length >= EXPECTED.length, "podman's poststop hooks");

    // containerd, through the shim
    const shim = shimFor({ hooksDirs: [d1, d2] });
    const id = uniq("ctr");
    cleanups.push(() => Bun.spawn(["ctr", "--address", sock, "container", "rm", id], { stdout: "ignore", stderr: "ignore" }).exited);
    const c = await run(["ctr", "--address", sock, "run", "--rm", "--runc-binary", shim.path, "--annotation", "io.hookshim.e2e=on", "--env", "PATH=/bin",
      "--mount", `type=bind,src=${bindSource},dst=/mnt,options=rbind:ro`, "--rootfs", busyboxRootfs(), id, "sh", "-c", "true"]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    await waitFor(() => hookLines(log, id).length >= EXPECTED.length, "the shim's poststop hooks");

    expect(hookLines(log, podmanId)).toEqual(EXPECTED);
    expect(hookLines(log, id)).toEqual(hookLines(log, podmanId));
    // containerd's shim called it as runc: create injected, start and delete passed through
    const commands = shim.calls().map((argv) => argv[argv.indexOf("--log-format") + 2]);
    expect(commands).toEqual(expect.arrayContaining(["create", "start", "delete"]));
  }, scaled(120_000));

  needs("root")("without the annotation, the bind mount and sh: only the unconditional hooks", async () => {
    const log = join(tmp, uniq("hooks.log"));
    const [d1, d2] = comparisonHooks(log);
    const shim = shimFor({ hooksDirs: [d1, d2] });
    const id = uniq("ctr-plain");
    cleanups.push(() => Bun.spawn(["ctr", "--address", sock, "container", "rm", id], { stdout: "ignore", stderr: "ignore" }).exited);
    const c = await run(["ctr", "--address", sock, "run", "--rm", "--runc-binary", shim.path, "--annotation", "io.hookshim.e2e=off", "--env", "PATH=/bin",
      "--rootfs", busyboxRootfs(), id, "true"]);
    expect(c.code).toBe(0);
    await waitFor(() => hookLines(log, id).length >= 5, "poststop hooks");
    expect(hookLines(log, id)).toEqual(["always prestart", "annotation-off prestart", "d2 prestart", "upper prestart", "always poststop", "masked-d2 poststop"]);
  }, scaled(60_000));
});

describeNeeds(["root", "podman", "busybox", "runc"], "podman --runtime <shim>", () => {
  needs("root")("run -d, exec, kill, rm pass through; create gets the hooks", async () => {
    const log = join(tmp, uniq("hooks.log"));
    const shim = shimFor({ hooksDirs: [hooksDir({ "a.json": hook("a", log, { always: true }, ["prestart"]) })] });
    const emptyHooks = hooksDir({});
    const name = uniq("podman-rt");
    const podman = [...PODMAN, "--runtime", shim.path, "--hooks-dir", emptyHooks];
    cleanups.push(() => Bun.spawn([...podman, "rm", "-f", "--ignore", name], { stdout: "ignore", stderr: "ignore" }).exited);

    const started = await run([...podman, "run", "-d", "--name", name, ...PODMAN_RUN, "--rootfs", busyboxRootfs(), "sleep", "1000"]);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(hookLines(log, id)).toEqual(["a prestart"]);

    const exec = await run([...podman, "exec", name, "echo", "through the shim"]);
    expect(exec).toMatchObject({ code: 0, stdout: "through the shim\n" });
    const ps = await run([...podman, "ps", "--filter", `name=${name}`, "--format", "{{.Status}}"]);
    expect(ps.stdout).toMatch(/^Up/);

    expect((await run([...podman, "kill", name])).code).toBe(0);
    await waitFor(() => Bun.spawnSync([...podman, "inspect", "--format", "{{.State.Status}}", name]).stdout.toString().trim() !== "running", "the container to stop");
    expect((await run([...podman, "rm", name])).code).toBe(0);

    const commands = shim.calls().map((argv) => argv.find((a) => ["create", "start", "exec", "kill", "delete", "state"].includes(a)));
    expect(commands).toEqual(expect.arrayContaining(["create", "start", "exec", "kill", "delete"]));
  }, scaled(120_000));
});

// podman and containerd leave /libpod_parent and /default behind in every hierarchy; registered last so
// it runs after the file's own clean-up has removed its containers
afterAll(rememberRuntimeCgroups(), 10_000);
