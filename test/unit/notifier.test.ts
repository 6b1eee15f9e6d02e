import { test, expect, describe, afterAll } from "bun:test";
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, rmSync, copyFileSync, chmodSync, readFileSync, renameSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { NotifierMetrics, RecentWindow, parseListenAddress } from "../../lib/notifier/metrics.ts";
import { existingRuntimes, runtimeKind, runtimeNames, RUNTIME_PATHS } from "../../lib/notifier/paths.ts";
import { lookupSteps, RuntimeDirWatch } from "../../lib/notifier/runtime-dirs.ts";
import { parseTracepointFormat } from "../../lib/notifier/tracefs.ts";
import { nameFromBundle, readPidFile, parsePid, readRuncStatePid, readInitProcess, ContainerInfoError } from "../../lib/notifier/container-info.ts";
import { runningContainers, runtimeStateRoots, stateDirContainers } from "../../lib/notifier/survivors.ts";
import { startTime, validContainerId, printable, verifyContainerPid, UidCaps, ErrorRate } from "../../lib/notifier/trust.ts";
import { readBoundedText } from "../../lib/sys/index.ts";
import type { Store } from "../../lib/store/index.ts";
import { WatchdogSlots, isRootForegroundRun } from "../../lib/notifier/permission-protocol.ts";
import { parseCpuList } from "../../lib/bpf/perf.ts";
import { decodeExecRecord, execargsInstructions, EXEC_RECORD, EXECARGS_ARG_SIZE, EXEC_FLAG_TRUNCATED } from "../../bpf/execargs.ts";
import { assemble } from "../../lib/bpf/asm/index.ts";

const fixtures = join(import.meta.dir, "../../../shared/fixtures");
const tmp = mkdtempSync(join(tmpdir(), `notifier-unit-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("metrics", () => {
  test("renders counters, labelled events and a cumulative hold histogram", () => {
    const m = new NotifierMetrics();
    m.countEvent("add");
    m.countEvent("add");
    m.countEvent("remove");
    m.countError("pidfile");
    m.observeHold(0.00003); // 30 µs -> le 5e-05
    m.observeHold(0.0003); // 300 µs -> le 0.0005
    m.observeHold(2); // beyond every bound -> only +Inf
    m.argvFallbacks = 4;
    m.watchdogAllows = 1;
    m.countRewatch("replaced");
    const text = m.render();
    expect(text).toContain('hookshim_notifier_runtime_rewatches_total{change="replaced"} 1\n');
    expect(text).toContain('hookshim_notifier_events_total{type="add"} 2\n');
    expect(text).toContain('hookshim_notifier_events_total{type="remove"} 1\n');
    expect(text).toContain('hookshim_notifier_errors_total{kind="pidfile"} 1\n');
    expect(text).toContain('hookshim_notifier_hold_seconds_bucket{le="0.000025"} 0\n');
    expect(text).toContain('hookshim_notifier_hold_seconds_bucket{le="0.00005"} 1\n');
    expect(text).toContain('hookshim_notifier_hold_seconds_bucket{le="0.0005"} 2\n');
    expect(text).toContain('hookshim_notifier_hold_seconds_bucket{le="1"} 2\n');
    expect(text).toContain('hookshim_notifier_hold_seconds_bucket{le="+Inf"} 3\n');
    expect(text).toContain("hookshim_notifier_hold_seconds_count 3\n");
    expect(text).toContain("hookshim_notifier_permission_events_total 3\n");
    expect(text).toContain("hookshim_notifier_argv_fallbacks_total 4\n");
    expect(text).toContain("hookshim_notifier_watchdog_allows_total 1\n");
    expect(text).toContain("# TYPE hookshim_notifier_hold_seconds histogram\n");
    // every sample line is "name{labels} value"
    expect(text).toContain('hookshim_notifier_recent_hold_seconds{quantile="0.5"} 0.0003\n');
    expect(text).toContain('hookshim_notifier_recent_hold_seconds{quantile="0.99"} 2\n');
    for (const line of text.trimEnd().split("\n").filter((l) => !l.startsWith("#")))
      expect(line).toMatch(/^[a-z_]+(\{[a-z]+="[^"]*"\})? ([0-9.e+-]+|NaN)$/);
  });

  test("recent window quantiles are nearest-rank over the last values only", () => {
    const w = new RecentWindow(4);
    expect(Number.isNaN(w.quantile(0.5))).toBe(true);
    for (const v of [100, 1, 2, 3, 4]) w.observe(v); // 100 falls out of the window
    expect(w.quantile(0.5)).toBe(2);
    expect(w.quantile(0.99)).toBe(4);
    expect(w.quantile(0)).toBe(1);
  });

  test("label values are escaped", () => {
    const m = new NotifierMetrics();
    m.countError('we"ird\\kind');
    expect(m.render()).toContain('kind="we\\"ird\\\\kind"');
  });

  test("listen addresses", () => {
    expect(parseListenAddress("127.0.0.1:9464")).toEqual({ hostname: "127.0.0.1", port: 9464 });
    expect(parseListenAddress("[::1]:80")).toEqual({ hostname: "::1", port: 80 });
    expect(parseListenAddress("9000")).toEqual({ hostname: "127.0.0.1", port: 9000 });
    expect(() => parseListenAddress("127.0.0.1:http")).toThrow(/port must be/);
    expect(() => parseListenAddress("127.0.0.1:70000")).toThrow(/port must be/);
  });
});

describe("runtime paths", () => {
  test("the default list covers the distributions IG and the issue name", () => {
    for (const p of [
      "/usr/bin/runc", "/usr/sbin/runc", "/usr/local/sbin/runc", "/usr/bin/crun", "/run/torcx/unpack/docker/bin/runc",
      "/var/lib/rancher/k3s/data/current/bin/runc", "/var/lib/rancher/rke2/bin/runc", "/var/lib/k0s/bin/runc",
      "/usr/libexec/crio/runc", "/usr/lib/cri-o-runc/sbin/runc", "/var/snap/microk8s/current/bin/runc",
      "/snap/microk8s/current/bin/runc", "/usr/bin/conmon", "/usr/libexec/podman/conmon", "/usr/local/libexec/podman/conmon",
    ])
      expect(RUNTIME_PATHS).toContain(p);
    expect(new Set(RUNTIME_PATHS).size).toBe(RUNTIME_PATHS.length);
  });

  test("existing runtimes: missing paths and directories are skipped, aliases collapse to one file", () => {
    const dir = join(tmp, "bins");
    mkdirSync(join(dir, "sbin"), { recursive: true });
    mkdirSync(join(dir, "bin"), { recursive: true });
    writeFileSync(join(dir, "sbin/runc"), "#!/bin/sh\n");
    chmodSync(join(dir, "sbin/runc"), 0o755);
    symlinkSync("../sbin/runc", join(dir, "bin/runc"));
    copyFileSync(join(dir, "sbin/runc"), join(dir, "bin/conmon"));
    const found = existingRuntimes([join(dir, "bin/runc"), join(dir, "sbin/runc"), join(dir, "nope/runc"), join(dir, "sbin"), join(dir, "bin/conmon")]);
    expect(found).toEqual([
      { path: join(dir, "bin/runc"), realPath: join(dir, "sbin/runc") },
      { path: join(dir, "bin/conmon"), realPath: join(dir, "bin/conmon") },
    ]);
  });

  test("kinds", () => {
    expect(runtimeKind("/usr/libexec/podman/conmon")).toBe("conmon");
    expect(runtimeKind("/usr/sbin/runc")).toBe("oci");
    expect(runtimeKind("crun")).toBe("oci");
  });
});

test("tracepoint format: offsets of sys_enter_execve's fields", () => {
  const format = `name: sys_enter_execve
ID: 862
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char *const * argv;\toffset:24;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:40;\tsize:16;\tsigned:0;
`;
  const f = parseTracepointFormat(format);
  expect(f.get("filename")).toEqual({ name: "filename", offset: 16, size: 8 });
  expect(f.get("argv")).toEqual({ name: "argv", offset: 24, size: 8 });
  expect(f.get("comm")).toEqual({ name: "comm", offset: 40, size: 16 });
  expect(f.get("common_pid")?.offset).toBe(4);
});

test("cpu lists", () => {
  expect(parseCpuList("0-3,6\n")).toEqual([0, 1, 2, 3, 6]);
  expect(parseCpuList("0")).toEqual([0]);
});

describe("runtime directories", () => {
  const base = realpathSync(tmp);
  test("the lookups a path's file depends on: every directory on the way, through symlinks, up to the first missing name", () => {
    const d = join(base, "steps");
    mkdirSync(join(d, "v1/bin"), { recursive: true });
    writeFileSync(join(d, "v1/bin/runc"), "");
    symlinkSync("v1", join(d, "current"));
    symlinkSync(join(d, "current/bin/runc"), join(d, "runc"));
    const within = (steps: [string, string][]) => steps.filter(([dir]) => dir.startsWith(d));
    expect(within(lookupSteps(join(d, "runc")))).toEqual([
      [d, "runc"], [d, "current"], [d, "v1"], [join(d, "v1"), "bin"], [join(d, "v1/bin"), "runc"],
    ]);
    expect(lookupSteps(join(d, "missing/deeper/runc")).at(-1)).toEqual([d, "missing"]);
    expect(lookupSteps(join(d, "v1/bin/runc/x")).at(-1)).toEqual([join(d, "v1/bin"), "runc"]); // a file where a directory should be
    symlinkSync("loop", join(d, "loop"));
    expect(lookupSteps(join(d, "loop")).length).toBe(64); // bounded
    expect(lookupSteps("/").length).toBe(0);
  });

  test("only a change of a name that matters is reported; a directory made later is watched from then on", () => {
    const d = join(base, "watch");
    mkdirSync(join(d, "bin"), { recursive: true });
    const errors: string[] = [];
    const w = new RuntimeDirWatch([join(d, "bin/runc"), join(d, "libexec/podman/conmon")], (m) => errors.push(m));
    try {
      expect(w.check()).toBe(false);
      for (let i = 0; i < 300; i++) writeFileSync(join(d, "bin", `other${i}`), "");
      expect(w.check()).toBe(false);
      writeFileSync(join(d, "bin/runc.dpkg-new"), "");
      expect(w.check()).toBe(false);
      renameSync(join(d, "bin/runc.dpkg-new"), join(d, "bin/runc"));
      expect(w.check()).toBe(true);
      expect(w.check()).toBe(false);
      const dirs = w.directories;
      mkdirSync(join(d, "libexec/podman"), { recursive: true });
      expect(w.check()).toBe(true);
      expect(w.directories).toBe(dirs + 2); // libexec and podman
      writeFileSync(join(d, "libexec/podman/conmon"), "");
      expect(w.check()).toBe(true);
      rmSync(join(d, "libexec"), { recursive: true });
      expect(w.check()).toBe(true);
      expect(w.directories).toBe(dirs);
      expect(errors).toEqual([]);
    } finally {
      w.close();
    }
  });
});

describe("container info", () => {
  test("names from the fixture bundles: none carry a name annotation, so the id is used", () => {
    for (const f of ["containerd-1.6.json", "podman-4.3.json", "runc-1.1-spec.json"]) {
      const b = join(tmp, f);
      mkdirSync(b);
      copyFileSync(join(fixtures, "bundles", f), join(b, "config.json"));
      expect(nameFromBundle(b)).toBeUndefined();
    }
  });

  test("names from CRI annotations", () => {
    const b = join(tmp, "cri");
    mkdirSync(b);
    writeFileSync(join(b, "config.json"), JSON.stringify({ ociVersion: "1.0.2", annotations: { "io.kubernetes.cri.container-name": "web" } }));
    expect(nameFromBundle(b)).toBe("web");
    writeFileSync(join(b, "config.json"), JSON.stringify({ annotations: { "io.kubernetes.container.name": "db" } }));
    expect(nameFromBundle(b)).toBe("db");
  });

  test("an unreadable or broken bundle is a bundle error naming it", () => {
    const missing = join(tmp, "no-bundle");
    expect(() => nameFromBundle(missing)).toThrow(ContainerInfoError);
    expect(() => nameFromBundle(missing)).toThrow(`bundle ${missing}: cannot read ${missing}/config.json: ENOENT`);
    const b = join(tmp, "broken");
    mkdirSync(b);
    writeFileSync(join(b, "config.json"), "{nope");
    expect(() => nameFromBundle(b)).toThrow(/not JSON/);
  });

  test("pid files: absent or empty means not yet, garbage is an error", () => {
    const p = join(tmp, "init.pid");
    expect(readPidFile(p)).toBeUndefined();
    writeFileSync(p, "");
    expect(readPidFile(p)).toBeUndefined();
    writeFileSync(p, "4242");
    expect(readPidFile(p)).toBe(4242);
    writeFileSync(p, "4242\n");
    expect(readPidFile(p)).toBe(4242);
    writeFileSync(p, "garbage\x00");
    // the contents are never quoted (a pid file may be /etc/shadow)
    expect(() => readPidFile(p)).toThrow(`pid file ${p}: not a pid (8 bytes)`);
    expect(() => parsePid("-1", "x")).toThrow(/not a pid/);
    expect(() => parsePid("0", "x")).toThrow(/not a pid/);
    expect(() => parsePid("99999999999", "x")).toThrow(/not a pid/);
  });

  test("runc state.json", () => {
    const p = join(tmp, "state.json");
    expect(readRuncStatePid(p)).toBeUndefined();
    writeFileSync(p, JSON.stringify({ id: "x", init_process_pid: 77 }));
    expect(readRuncStatePid(p)).toBe(77);
    writeFileSync(p, "{half");
    expect(readRuncStatePid(p)).toBeUndefined();
  });
});

test("exec records decode to filename and argv", () => {
  const rec = new Uint8Array(EXEC_RECORD.size);
  const dv = new DataView(rec.buffer);
  const enc = new TextEncoder();
  dv.setUint32(EXEC_RECORD.tid, 101, true);
  dv.setUint32(EXEC_RECORD.tgid, 100, true);
  dv.setUint32(EXEC_RECORD.argc, 3, true);
  dv.setUint32(EXEC_RECORD.flags, EXEC_FLAG_TRUNCATED, true);
  dv.setBigUint64(EXEC_RECORD.ktimeNs, 123n, true);
  dv.setUint32(EXEC_RECORD.uid, 65534, true);
  dv.setUint32(EXEC_RECORD.gid, 65533, true);
  rec.set(enc.encode("/usr/sbin/runc"), EXEC_RECORD.filename);
  ["runc", "create", "abc"].forEach((a, i) => rec.set(enc.encode(a), EXEC_RECORD.args + i * EXECARGS_ARG_SIZE));
  rec.set(enc.encode("stale"), EXEC_RECORD.args + 3 * EXECARGS_ARG_SIZE); // beyond argc: ignored
  expect(decodeExecRecord(rec)).toEqual({
    tid: 101, tgid: 100, uid: 65534, gid: 65533, ktimeNs: 123n, filename: "/usr/sbin/runc", argv: ["runc", "create", "abc"], truncated: true,
  });
});

test("root's foreground run is told from the undecoded record: uid 0, a `run` argument, no detach flag after it", () => {
  const record = (uid: number, argv: string[]) => {
    const rec = new Uint8Array(EXEC_RECORD.size);
    const dv = new DataView(rec.buffer);
    dv.setUint32(EXEC_RECORD.uid, uid, true);
    dv.setUint32(EXEC_RECORD.argc, argv.length, true);
    argv.forEach((a, i) => rec.set(new TextEncoder().encode(a), EXEC_RECORD.args + i * EXECARGS_ARG_SIZE));
    return rec;
  };
  expect(isRootForegroundRun(record(0, ["runc", "--root", "/r", "run", "--bundle", "b", "id"]))).toBe(true);
  expect(isRootForegroundRun(record(0, ["runc", "run", "-d", "id"]))).toBe(false);
  expect(isRootForegroundRun(record(0, ["runc", "run", "--detach", "id"]))).toBe(false);
  expect(isRootForegroundRun(record(0, ["runc", "run", "--detach=true", "id"]))).toBe(false);
  expect(isRootForegroundRun(record(1000, ["runc", "run", "id"]))).toBe(false);
  expect(isRootForegroundRun(record(0, ["runc", "create", "id"]))).toBe(false);
  expect(isRootForegroundRun(record(0, ["runc", "runx", "id"]))).toBe(false);
  expect(isRootForegroundRun(record(0, ["run"]))).toBe(false); // argv[0] is the program
  // an argument beyond argc is stale bytes, not part of this exec
  const stale = record(0, ["runc", "state", "id"]);
  stale.set(new TextEncoder().encode("run"), EXEC_RECORD.args + 3 * EXECARGS_ARG_SIZE);
  expect(isRootForegroundRun(stale)).toBe(false);
});

describe("watchdog slots", () => {
  test("the worker answers a held event once; the slot is reused", () => {
    const s = new WatchdogSlots();
    const i = s.hold(17, 1000);
    expect(i).toBeGreaterThanOrEqual(0);
    const answered: number[] = [];
    expect(s.answer(i, () => answered.push(17))).toBe(true);
    expect(s.expire(Infinity, (fd) => answered.push(-fd))).toBe(0);
    expect(answered).toEqual([17]);
    expect(s.hold(18, 2000)).toBe(i);
  });

  test("an event held past the deadline is answered by the watchdog, and not again by the worker", () => {
    const s = new WatchdogSlots();
    const old = s.hold(5, 100);
    const fresh = s.hold(6, 900);
    const answered: number[] = [];
    expect(s.expire(500, (fd) => answered.push(fd))).toBe(1);
    expect(answered).toEqual([5]);
    expect(s.answer(old, () => answered.push(-5))).toBe(false);
    expect(s.answer(fresh, () => answered.push(6))).toBe(true);
    expect(answered).toEqual([5, 6]);
  });

  test("the stop flag is shared", () => {
    const s = new WatchdogSlots();
    const other = new WatchdogSlots(s.shared);
    expect(other.stopping()).toBe(false);
    s.stop();
    expect(other.stopping()).toBe(true);
  });
});

describe("execargs basename filter", () => {
  const maps = { execargs_scratch: 3, execargs_records: 4 };
  test("the names recorded: listed and real basenames, and exe for /proc/self/exe re-execs", () => {
    expect(runtimeNames([{ path: "/usr/bin/runc", realPath: "/usr/sbin/runc" }, { path: "/usr/local/bin/docker-runc", realPath: "/opt/runc.amd64" }]))
      .toEqual(["runc", "docker-runc", "runc.amd64", "exe"]);
    // listed paths with no file yet: a runtime installed there later is recorded too
    expect(runtimeNames([{ path: "/usr/sbin/runc", realPath: "/usr/sbin/runc" }], ["/usr/sbin/runc", "/usr/bin/crun", "/opt/bin/my-runtime"]))
      .toEqual(["runc", "crun", "my-runtime", "exe"]);
  });
  test("each name adds one compare per byte; no names, no filter", () => {
    const offsets = { filename: 16, argv: 24 };
    const plain = assemble(execargsInstructions(offsets), { maps });
    const filtered = assemble(execargsInstructions(offsets, ["runc", "conmon"]), { maps });
    // per name: 2 bounds checks, 2 pointer moves, 2 insns per byte, 3 for the "/" or whole-name test; 1 final jump; 1 save of the length
    expect((filtered.length - plain.length) / 8).toBe(1 + (4 + 2 * 4 + 3) + (4 + 2 * 6 + 3) + 1);
  });
  test("a name with a slash or too long is refused", () => {
    expect(() => execargsInstructions({ filename: 16, argv: 24 }, ["bin/runc"])).toThrow(RangeError);
    expect(() => execargsInstructions({ filename: 16, argv: 24 }, ["x".repeat(300)])).toThrow(RangeError);
  });
});

describe("runtime state dir scan", () => {
  // /proc/PID/stat field 22, parsed here independently of the code under test
  const procStart = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  };
  const sleepers: ReturnType<typeof Bun.spawn>[] = [];
  afterAll(() => sleepers.forEach((p) => p.kill(9)));
  const sleeper = () => {
    const p = Bun.spawn(["sleep", "1000"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    sleepers.push(p);
    return p.pid;
  };
  const write = (root: string, id: string, file: string, content: unknown) => {
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, file), typeof content === "string" ? content : JSON.stringify(content));
  };
  const runcState = (id: string, pid: number, start: number, bundle: string) => ({
    id, init_process_pid: pid, init_process_start: start, created: "2026-11-23T21:29:33.424392607Z",
    config: { labels: [`bundle=${bundle}`] },
  });

  test("init process from runc's state.json and crun's status", () => {
    const p = join(tmp, "init-state.json");
    expect(readInitProcess(p)).toBeUndefined();
    writeFileSync(p, JSON.stringify({ init_process_pid: 12, init_process_start: 345 }));
    expect(readInitProcess(p)).toEqual({ pid: 12, startTime: 345 });
    writeFileSync(p, JSON.stringify({ pid: 13, "process-start-time": 678, bundle: "/b" }));
    expect(readInitProcess(p)).toEqual({ pid: 13, startTime: 678 });
    writeFileSync(p, JSON.stringify({ init_process_pid: 14 }));
    expect(readInitProcess(p)).toEqual({ pid: 14 });
    writeFileSync(p, JSON.stringify({ init_process_pid: 0 }));
    expect(readInitProcess(p)).toBeUndefined();
    expect(readRuncStatePid(p)).toBeUndefined();
  });

  test("live inits are reported with bundle and name; dead, reused and broken entries are not", async () => {
    const root = join(tmp, "state-root"), crunRoot = join(tmp, "crun-root");
    const bundle = join(tmp, "scan-bundle");
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ annotations: { "io.kubernetes.cri.container-name": "web" } }));
    const live = sleeper(), crunLive = sleeper(), reused = sleeper();
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    expect(startTime(dead.pid)).toBeUndefined();
    expect(startTime(live)).toBe(procStart(live));

    write(root, "alive", "state.json", runcState("alive", live, procStart(live), bundle));
    write(root, "dead", "state.json", runcState("dead", dead.pid, 1, bundle));
    // the recorded start time is not the live process's: its pid was reused
    write(root, "reused", "state.json", runcState("reused", reused, procStart(reused) + 1, bundle));
    write(root, "broken", "state.json", "{half");
    write(root, "stateless", "other", "x"); // a directory without a state file
    writeFileSync(join(root, "not-a-dir"), "x");
    // the bundle is gone: still reported, without it
    write(root, "nobundle", "state.json", { init_process_pid: crunLive, config: { labels: ["bundle=/nonexistent/b"] } });
    write(crunRoot, "crun1", "status", { pid: crunLive, "process-start-time": procStart(crunLive), bundle, created: "x" });

    const found = stateDirContainers([root, crunRoot, join(tmp, "no-such-root"), root]);
    const byId = Object.fromEntries(found.map((c) => [c.id, c]));
    expect(Object.keys(byId).sort()).toEqual(["alive", "crun1", "nobundle"]);
    expect(byId.alive).toEqual({ id: "alive", pid: live, name: "web", bundle, runtime: "runc" });
    expect(byId.crun1).toEqual({ id: "crun1", pid: crunLive, name: "web", bundle, runtime: "crun" });
    expect(byId.nobundle).toMatchObject({ id: "nobundle", pid: crunLive, bundle: "/nonexistent/b", name: undefined });
  });

  test("merged with the store's containers once, by id and by init pid", () => {
    const root = join(tmp, "merge-root");
    const a = sleeper(), b = sleeper(), c = sleeper();
    write(root, "known", "state.json", runcState("known", a, procStart(a), "/b1"));
    write(root, "alias", "state.json", runcState("alias", b, procStart(b), "/b2"));
    write(root, "new", "state.json", runcState("new", c, procStart(c), "/b3"));
    const store = {
      containers: () => [
        { id: "known", pid: a, state: "running", name: "k", bundle: "/b1", runtime: "runc", cgroupPath: "" },
        { id: "other-id", pid: b, state: "running", name: "o", bundle: "/b2", runtime: "runc", cgroupPath: "" },
      ],
    } as unknown as Store;
    const all = runningContainers(store, undefined, [root]);
    expect(all.map((x) => x.id).sort()).toEqual(["known", "new", "other-id"]);
    expect(all.find((x) => x.id === "known")!.name).toBe("k");
    expect(all.find((x) => x.id === "new")).toMatchObject({ pid: c, bundle: "/b3", runtime: "runc" });
  });

  test("the stock roots plus the extra ones, each once", () => {
    const roots = runtimeStateRoots(["/tmp/custom", "/run/runc", "/tmp/custom"]);
    expect(roots).toContain("/run/runc");
    expect(roots).toContain("/run/crun");
    expect(roots.filter((r) => r === "/run/runc" || r === "/tmp/custom")).toEqual(["/run/runc", "/tmp/custom"]);
  });
});

describe("notifier usage", () => {
  const MAIN = join(import.meta.dir, "../../main.ts");
  test("hookshim notifier --help prints the options on stdout and exits 0", () => {
    const p = Bun.spawnSync([process.execPath, MAIN, "notifier", "--help"]);
    expect(p.exitCode).toBe(0);
    const out = p.stdout.toString();
    for (const o of ["--json", "--table", "--runtime-path P", "--runtime-root DIR", "--metrics-addr HOST:PORT", "--hold-bound-ms N", "--pid-wait-ms N"])
      expect(out).toContain(o);
    expect(p.stderr.toString()).toBe("");
  });
  test("container-notifier --help (the multi-call name) too", () => {
    const script = `import { run } from ${JSON.stringify(MAIN)}; process.exitCode = await run(["--help"], "/usr/local/bin/container-notifier");`;
    const p = Bun.spawnSync([process.execPath, "-e", script]);
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString()).toContain("usage: hookshim notifier");
    expect(p.stderr.toString()).toBe("");
  });
});

describe("what the notifier believes from a runtime exec (issue 15: 7-10)", () => {
  test("ids follow runc's rules; names and paths lose their control characters", () => {
    for (const ok of ["abc", "a.b-c_d+e", "x".repeat(128), "0123abcdef"]) expect(validContainerId(ok)).toBe(true);
    for (const bad of ["", ".", "..", "a/b", "../x", "a b", "\x1b[31mred", "x".repeat(129), "é"]) expect(validContainerId(bad)).toBe(false);
    expect(printable("name\x1b]0;owned\x07\x9b2J")).toBe("name\\x1b]0;owned\\x07\\x9b2J");
    expect(printable("plain ünïcode")).toBe("plain ünïcode");
  });

  test("bounded reads: a FIFO, a symlink, /dev/zero, a large file and another owner's file are refused, never quoted", () => {
    const dir = join(tmp, "bounded");
    mkdirSync(dir);
    const fifo = join(dir, "fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(() => readBoundedText(fifo, { maxBytes: 64 })).toThrow(`${fifo}: is not a regular file`);
    const secret = join(dir, "secret");
    writeFileSync(secret, "root:$6$hash:19000:0:99999:7:::\n");
    const link = join(dir, "init.pid");
    symlinkSync(secret, link);
    expect(() => readBoundedText(link, { maxBytes: 64 })).toThrow(`${link}: is a symbolic link: not followed`);
    expect(() => readPidFile(link)).toThrow(`pid file ${link}: is a symbolic link: not followed`);
    expect(() => readBoundedText("/dev/zero", { maxBytes: 64 })).toThrow("/dev/zero: is not a regular file");
    writeFileSync(join(dir, "big"), "1".repeat(65));
    expect(() => readBoundedText(join(dir, "big"), { maxBytes: 64 })).toThrow("larger than 64 bytes");
    expect(readBoundedText(join(dir, "big"), { maxBytes: 65 })).toBe("1".repeat(65));
    expect(() => readBoundedText(secret, { maxBytes: 64, ownerUid: 65534 })).toThrow(`${secret}: is owned by uid ${process.getuid!()}, not uid 65534`);
    // a pid file that is someone's secret: the error says what is wrong, not what is in it
    let message = "";
    try {
      readPidFile(secret);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(`pid file ${secret}: not a pid (32 bytes)`);
    // a config.json that is not JSON: no parser message quoting it
    const bundle = join(dir, "bundle");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "config.json"), "root:$6$hash");
    expect(() => nameFromBundle(bundle)).toThrow(`bundle ${bundle}: cannot read ${join(bundle, "config.json")}: not JSON`);
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ annotations: { "nerdctl/name": "evil\x1b[2Jname" } }));
    expect(nameFromBundle(bundle)).toBe("evil\\x1b[2Jname");
  });

  test("a claimed pid is believed only for the runtime's own descendant", async () => {
    // this test process plays the runtime; its child is the container
    const child = Bun.spawn(["sleep", "30"]);
    const unrelated = Bun.spawn(["/bin/sh", "-c", "sleep 30 & wait"]);
    try {
      await Bun.sleep(50);
      const me = { uid: 0, pid: process.pid, startTime: startTime(process.pid) };
      expect(verifyContainerPid(child.pid, me)).toEqual({ ok: true, startTime: startTime(child.pid)! });
      // pid 1 is no child of this process
      expect(verifyContainerPid(1, me)).toEqual({ ok: false, why: `pid 1 is not a process of the runtime (pid ${process.pid})` });
      // a runtime that has gone (another start time): a non-root claim cannot be verified any more,
      // a root one is believed for a process started after the runtime
      const gone = { uid: 65534, pid: process.pid, startTime: startTime(process.pid)! + 1 };
      expect(verifyContainerPid(child.pid, gone)).toEqual({ ok: false, why: `pid ${child.pid}, but the runtime of uid 65534 (pid ${process.pid}) had exited: not verifiable` });
      expect(verifyContainerPid(child.pid, { ...gone, uid: 0 }).ok).toBe(true);
      expect(verifyContainerPid(1, { ...gone, uid: 0 })).toEqual({ ok: false, why: `pid 1 started before the runtime (pid ${process.pid})` });
      expect(verifyContainerPid(999_999_999, me)).toEqual({ ok: false, why: "pid 999999999 is not running" });
    } finally {
      child.kill();
      unrelated.kill();
    }
  });

  test("caps per uid (root exempt) and in all; error events rate-limited per non-root uid", () => {
    const caps = new UidCaps(2, 6);
    expect([caps.take(1000), caps.take(1000), caps.take(1000)]).toEqual([true, true, false]);
    expect(caps.take(1001)).toBe(true);
    expect(caps.take(1002)).toBe(false); // users together get half
    expect([caps.take(0), caps.take(0), caps.take(0)]).toEqual([true, true, true]);
    expect(caps.take(0)).toBe(false); // global
    caps.give(1000);
    caps.give(0);
    expect(caps.take(1002)).toBe(true);
    const rate = new ErrorRate(3, 1000);
    expect([1, 2, 3, 4].map(() => rate.allow(7, 0))).toEqual([true, true, true, false]);
    expect(rate.allow(0, 0)).toBe(true);
    expect(rate.allow(7, 1000)).toBe(true); // a new window
  });
});
