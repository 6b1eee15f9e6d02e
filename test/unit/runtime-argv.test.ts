import { describe, test, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseRuncArgv, parseConmonArgv } from "../../lib/oci/runtime-argv.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/runtime-argv");
// One argv per line, split on single spaces: two spaces in a row are an empty argument.
const argvLines = (file: string) =>
  readFileSync(join(FIXTURES, file), "utf8").split("\n").filter((l) => l !== "").map((l) => l.split(" "));

describe("parseRuncArgv on what containerd 1.6 runs", () => {
  const [create, start, del, delForce] = argvLines("containerd-1.6-runc.txt");
  const globals = {
    root: "/run/containerd/runc/default",
    log: "/run/containerd/io.containerd.runtime.v2.task/default/t4/log.json",
    logFormat: "json",
  };
  test("create", () => {
    expect(parseRuncArgv(create!)).toEqual({
      globals,
      command: "create",
      id: "t4",
      bundle: "/run/containerd/io.containerd.runtime.v2.task/default/t4",
      pidFile: "/run/containerd/io.containerd.runtime.v2.task/default/t4/init.pid",
      flags: {
        bundle: "/run/containerd/io.containerd.runtime.v2.task/default/t4",
        "pid-file": "/run/containerd/io.containerd.runtime.v2.task/default/t4/init.pid",
      },
      args: [],
      unknownFlags: [],
    });
  });
  test("start, delete, delete --force", () => {
    expect(parseRuncArgv(start!)).toMatchObject({ globals, command: "start", id: "t4", flags: {}, args: [] });
    expect(parseRuncArgv(del!)).toMatchObject({ globals, command: "delete", id: "t4", flags: {}, args: [] });
    expect(parseRuncArgv(delForce!)).toMatchObject({ globals, command: "delete", id: "t4", flags: { force: true } });
    for (const argv of [start!, del!, delForce!]) expect(parseRuncArgv(argv).bundle).toBeUndefined();
  });
});

describe("parseRuncArgv on what podman 4.3 runs", () => {
  const id = "be122f7a4fd5b0c08c4130d68587ab7c82d55fc712de8ee38bfe0650c2e57237";
  const [create, start, del] = argvLines("podman-4.3-runc.txt");
  test("create", () => {
    const r = parseRuncArgv(create!);
    expect(r).toMatchObject({
      globals: {},
      command: "create",
      id,
      bundle: `/var/lib/containers/storage/overlay-containers/${id}/userdata`,
      pidFile: `/run/containers/storage/overlay-containers/${id}/userdata/pidfile`,
      args: [],
      unknownFlags: [],
    });
  });
  test("start and delete --force", () => {
    expect(parseRuncArgv(start!)).toMatchObject({ command: "start", id, args: [] });
    expect(parseRuncArgv(del!)).toMatchObject({ command: "delete", id, flags: { force: true }, args: [] });
  });
});

describe("parseRuncArgv flag forms (urfave/cli v1 over Go's flag package)", () => {
  const forms: [string, string[]][] = [
    ["--root X", ["--root", "/r", "list"]],
    ["--root=X", ["--root=/r", "list"]],
    ["-root X", ["-root", "/r", "list"]],
    ["-root=X", ["-root=/r", "list"]],
  ];
  for (const [name, argv] of forms) {
    test(`global ${name}`, () => {
      expect(parseRuncArgv(argv)).toMatchObject({ globals: { root: "/r" }, command: "list" });
    });
  }

  test("every runc 1.1 global", () => {
    const r = parseRuncArgv([
      "--debug", "--log", "/l", "--log-format", "json", "--root", "/r", "--criu", "/c", "--systemd-cgroup",
      "--rootless", "false", "state", "x",
    ]);
    expect(r.globals).toEqual({
      debug: true, log: "/l", logFormat: "json", root: "/r", criu: "/c", systemdCgroup: true, rootless: "false",
    });
    expect(r).toMatchObject({ command: "state", id: "x", unknownFlags: [] });
  });

  test("crun globals", () => {
    const r = parseRuncArgv(["--cgroup-manager=systemd", "--log-level", "debug", "--rootless=auto", "start", "x"]);
    expect(r.globals).toEqual({ cgroupManager: "systemd", logLevel: "debug", rootless: "auto" });
    expect(r).toMatchObject({ command: "start", id: "x" });
  });

  test("boolean flags take =true/=false (Go ParseBool words), never the next argument", () => {
    expect(parseRuncArgv(["--systemd-cgroup=false", "start", "x"]).globals.systemdCgroup).toBe(false);
    expect(parseRuncArgv(["-debug=1", "start", "x"]).globals.debug).toBe(true);
    expect(parseRuncArgv(["--debug=F", "start", "x"]).globals.debug).toBe(false);
    expect(parseRuncArgv(["delete", "-f=true", "x"])).toMatchObject({ flags: { force: true }, id: "x" });
    expect(parseRuncArgv(["delete", "--force=false", "x"])).toMatchObject({ flags: { force: false }, id: "x" });
    // "--debug false": false is the command, as in runc
    expect(parseRuncArgv(["--debug", "false", "x"])).toMatchObject({ globals: { debug: true }, command: "false" });
    // a bool with a non-boolean value is a parse error to runc: recorded, not thrown
    expect(parseRuncArgv(["--debug=maybe", "start", "x"]).unknownFlags).toEqual(["--debug=maybe"]);
  });

  const bundleForms: [string, string[]][] = [
    ["--bundle X", ["create", "--bundle", "/b", "id1"]],
    ["--bundle=X", ["create", "--bundle=/b", "id1"]],
    ["-b X", ["create", "-b", "/b", "id1"]],
    ["-b=X", ["create", "-b=/b", "id1"]],
    ["-bundle X", ["create", "-bundle", "/b", "id1"]],
    ["--b X", ["create", "--b", "/b", "id1"]],
    ["-bX (crun/argp)", ["create", "-b/b", "id1"]],
    ["after the id (urfave/cli reorders)", ["create", "id1", "--bundle", "/b"]],
    ["unique prefix (crun/argp)", ["create", "--bund", "/b", "id1"]],
  ];
  for (const [name, argv] of bundleForms) {
    test(`create ${name}`, () => {
      expect(parseRuncArgv(argv)).toMatchObject({ command: "create", id: "id1", bundle: "/b", args: [], unknownFlags: [] });
    });
  }

  test("every create flag, so the id is found after each value", () => {
    const r = parseRuncArgv([
      "create", "--console-socket", "/s", "--pid-file", "/p", "--no-pivot", "--no-new-keyring", "--preserve-fds", "2",
      "-b", "/b", "id1",
    ]);
    expect(r).toMatchObject({
      id: "id1", bundle: "/b", pidFile: "/p", consoleSocket: "/s", args: [], unknownFlags: [],
      flags: { "no-pivot": true, "no-new-keyring": true, "preserve-fds": "2", "console-socket": "/s" },
    });
  });

  test("run: --detach/-d, --keep, --no-subreaper; crun clusters short options", () => {
    expect(parseRuncArgv(["run", "-d", "--keep", "--no-subreaper", "--pid-file", "p", "id1"])).toMatchObject({
      id: "id1", flags: { detach: true, keep: true, "no-subreaper": true }, pidFile: "p",
    });
    expect(parseRuncArgv(["run", "-db", "/b", "id1"])).toMatchObject({ id: "id1", bundle: "/b", flags: { detach: true } });
    // crun run -f is --config
    expect(parseRuncArgv(["run", "-f", "cfg.json", "id1"])).toMatchObject({ id: "id1", flags: { config: "cfg.json" } });
  });

  test("kill: signal after the id, --all/-a anywhere", () => {
    expect(parseRuncArgv(["kill", "id1", "KILL"])).toMatchObject({ id: "id1", args: ["KILL"], flags: {} });
    expect(parseRuncArgv(["kill", "-a", "id1", "9"])).toMatchObject({ id: "id1", args: ["9"], flags: { all: true } });
    expect(parseRuncArgv(["kill", "id1", "TERM", "--all"])).toMatchObject({ id: "id1", args: ["TERM"], flags: { all: true } });
  });

  test("exec stops at the id: the rest is the command, flags and all", () => {
    const r = parseRuncArgv(["exec", "-t", "--env", "A=1", "-e", "B=2", "--cap", "CAP_KILL", "-u", "0:0", "id1", "sh", "-c", "ls -d", "-t"]);
    expect(r).toMatchObject({
      command: "exec", id: "id1", args: ["sh", "-c", "ls -d", "-t"],
      flags: { tty: true, env: ["A=1", "B=2"], cap: ["CAP_KILL"], user: "0:0" },
    });
    expect(parseRuncArgv(["exec", "-p", "/proc.json", "--pid-file", "/p", "-d", "id1"])).toMatchObject({
      id: "id1", args: [], pidFile: "/p", flags: { process: "/proc.json", detach: true },
    });
  });

  test("ps and list, state, pause, resume, events, update, features, spec, checkpoint, restore", () => {
    expect(parseRuncArgv(["ps", "-f", "json", "id1", "-ef"])).toMatchObject({ id: "id1", args: ["-ef"], flags: { format: "json" } });
    expect(parseRuncArgv(["list", "-q", "--format", "json"])).toMatchObject({ command: "list", flags: { quiet: true, format: "json" } });
    expect(parseRuncArgv(["list", "-q"]).id).toBeUndefined();
    for (const c of ["state", "pause", "resume"]) expect(parseRuncArgv([c, "id1"])).toMatchObject({ command: c, id: "id1", args: [] });
    expect(parseRuncArgv(["events", "--interval", "1s", "--stats", "id1"])).toMatchObject({ id: "id1", flags: { interval: "1s", stats: true } });
    expect(parseRuncArgv(["update", "-r", "-", "--memory", "1M", "id1"])).toMatchObject({ id: "id1", flags: { resources: "-", memory: "1M" } });
    expect(parseRuncArgv(["features"])).toMatchObject({ command: "features", args: [] });
    expect(parseRuncArgv(["spec", "--rootless", "-b", "/b"])).toMatchObject({ command: "spec", bundle: "/b", flags: { rootless: true } });
    expect(parseRuncArgv(["checkpoint", "--image-path", "/i", "--leave-running", "id1"])).toMatchObject({
      id: "id1", flags: { "image-path": "/i", "leave-running": true },
    });
    expect(parseRuncArgv(["restore", "-d", "--image-path", "/i", "-b", "/b", "--pid-file", "/p", "id1"])).toMatchObject({
      id: "id1", bundle: "/b", pidFile: "/p", flags: { detach: true },
    });
  });

  test("bundle and paths against the runtime's cwd", () => {
    expect(parseRuncArgv(["create", "id1"], "/srv/b")).toMatchObject({ bundle: "/srv/b" });
    expect(parseRuncArgv(["create", "id1"]).bundle).toBeUndefined();
    const r = parseRuncArgv(["--root", "state", "--log", "l.json", "create", "-b", "../b2", "--pid-file", "p", "--console-socket", "c.sock", "id1"], "/srv/b");
    expect(r).toMatchObject({
      globals: { root: "/srv/b/state", log: "/srv/b/l.json" },
      bundle: "/srv/b2", pidFile: "/srv/b/p",
      // runc dials the console socket after entering the bundle
      consoleSocket: "/srv/b2/c.sock",
    });
    expect(parseRuncArgv(["create", "-b", "rel", "id1"]).bundle).toBe("rel");
    expect(parseRuncArgv(["start", "id1"], "/srv").bundle).toBeUndefined();
  });

  test("-- ends flags", () => {
    expect(parseRuncArgv(["kill", "--", "id1", "-9"])).toMatchObject({ id: "id1", args: ["-9"], flags: {} });
    expect(parseRuncArgv(["--root", "/r", "--", "start", "x"])).toMatchObject({ command: "start", id: "x" });
    // after a positional urfave/cli keeps "--" as an argument
    expect(parseRuncArgv(["kill", "id1", "--", "9"])).toMatchObject({ id: "id1", args: ["--", "9"] });
  });

  test("unknown flags are recorded, never thrown", () => {
    const r = parseRuncArgv(["--future-global", "--x=1", "create", "--new-thing", "-Z", "--bundle", "/b", "id1"]);
    expect(r).toMatchObject({ command: "create", bundle: "/b", id: "id1" });
    expect(r.unknownFlags).toEqual(["--future-global", "--x=1", "--new-thing", "-Z"]);
    expect(r.flags).toMatchObject({ "new-thing": true, Z: true });
    expect(parseRuncArgv(["frobnicate", "--a", "x", "y"])).toMatchObject({ command: "frobnicate", id: "x", args: ["y"] });
    // a value flag with nothing after it
    expect(parseRuncArgv(["create", "id1", "--bundle"])).toMatchObject({ id: "id1", unknownFlags: ["--bundle"] });
    // names that are Object.prototype members stay data
    const proto = parseRuncArgv(["constructor", "--__proto__", "toString"]);
    expect(proto).toMatchObject({ command: "constructor", id: "toString", unknownFlags: ["--__proto__"] });
    expect(Object.keys(proto.flags)).toEqual(["__proto__"]);
  });

  test("no command: --version, --help, empty", () => {
    expect(parseRuncArgv(["--version"])).toEqual({ globals: { version: true }, flags: {}, args: [], unknownFlags: [] });
    expect(parseRuncArgv(["-v"]).globals).toEqual({ version: true });
    expect(parseRuncArgv(["-h"]).globals).toEqual({ help: true });
    expect(parseRuncArgv([])).toEqual({ globals: {}, flags: {}, args: [], unknownFlags: [] });
    expect(parseRuncArgv(["help", "create"])).toMatchObject({ command: "help", args: ["create"] });
    expect(parseRuncArgv(["help", "create"]).id).toBeUndefined();
  });
});

describe("parseConmonArgv (GOption)", () => {
  const [line] = argvLines("podman-4.3-conmon.txt");
  const id = "1fda69a218155dc2cbc2dcef68000ed4e46d4ff9962582b59c8f42c878ff6c86";
  const userdata = `/var/lib/containers/storage/overlay-containers/${id}/userdata`;
  const runUserdata = `/run/containers/storage/overlay-containers/${id}/userdata`;

  test("podman 4.3's conmon argv", () => {
    const c = parseConmonArgv(line!.slice(1));
    expect(c).toMatchObject({
      cid: id, cuuid: id, name: "demo2", bundle: userdata, runtime: "/usr/bin/runc",
      containerPidfile: `${runUserdata}/pidfile`, conmonPidfile: `${runUserdata}/conmon.pid`,
      exitDir: "/run/libpod/exits", exitCommand: "/usr/bin/podman", logLevel: "warning",
      logPaths: [`k8s-file:${userdata}/ctr.log`],
      runtimeArgs: ["--log-format=json", "--log", `${runUserdata}/oci-log`],
      terminal: false, stdin: false, systemdCgroup: false, exec: false,
      // --api-version takes no argument in conmon: podman's "1" is left over
      apiVersion: true, args: ["1"], unknownFlags: [],
      flags: { "full-attach": true },
    });
    // the empty argument (two spaces in the file) is kept in place
    expect(c.exitCommandArgs.slice(10, 13)).toEqual(["--network-config-dir", "", "--network-backend"]);
    expect(c.exitCommandArgs.at(-1)).toBe(id);
    expect(c.exitCommandArgs).toHaveLength(23);
    // conmon's runtime args are runc globals
    expect(parseRuncArgv(c.runtimeArgs).globals).toEqual({ logFormat: "json", log: `${runUserdata}/oci-log` });
  });

  test("with argv[0] the program path is a leftover positional", () => {
    expect(parseConmonArgv(line!)).toMatchObject({ cid: id, args: ["/usr/bin/conmon", "1"] });
  });

  test("every option form GOption accepts", () => {
    expect(parseConmonArgv(["--cid=a", "--name", "n", "-b", "/b", "-p", "/p", "-r", "/usr/bin/crun"])).toMatchObject({
      cid: "a", name: "n", bundle: "/b", containerPidfile: "/p", runtime: "/usr/bin/crun",
    });
    expect(parseConmonArgv(["-c", "a", "-u", "u", "-n", "n", "-l", "x", "--log-path=y"])).toMatchObject({
      cid: "a", cuuid: "u", name: "n", logPaths: ["x", "y"],
    });
    expect(parseConmonArgv(["--cuuid", "u", "--bundle=/b", "--container-pidfile", "/p", "--conmon-pidfile=/cp"])).toMatchObject({
      cuuid: "u", bundle: "/b", containerPidfile: "/p", conmonPidfile: "/cp",
    });
    // grouped short options, the last one taking the next argument
    expect(parseConmonArgv(["-tis", "-tc", "x"])).toMatchObject({ terminal: true, stdin: true, systemdCgroup: true, cid: "x" });
    expect(parseConmonArgv(["--terminal", "--stdin", "--systemd-cgroup", "-e", "--exec-process-spec", "/s"])).toMatchObject({
      terminal: true, stdin: true, systemdCgroup: true, exec: true, flags: { "exec-process-spec": "/s" },
    });
    // deprecated --pidfile still names the container pid file
    expect(parseConmonArgv(["--pidfile", "/old"]).containerPidfile).toBe("/old");
    // options anywhere; "--" ends them
    expect(parseConmonArgv(["x", "--cid", "a", "--", "--name", "n"])).toMatchObject({ cid: "a", args: ["x", "--name", "n"] });
    expect(parseConmonArgv(["--cid", "a", "--name", "n"]).name).toBe("n");
  });

  test("what GOption rejects is recorded as unknown, not thrown", () => {
    // conmon 2.1: "option parsing failed: Unknown option -cfoo"
    const c = parseConmonArgv(["-cfoo", "--bogus", "--cid", "a", "-c"]);
    expect(c.cid).toBe("a");
    expect(c.unknownFlags).toEqual(["-cfoo", "--bogus", "-c"]);
    expect(parseConmonArgv(["--c", "x"]).unknownFlags).toEqual(["--c"]);
  });
});
