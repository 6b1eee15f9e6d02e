import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import {
  check,
  formatIssuePath,
  formatIssues,
  inferKind,
  parseJson,
  parseState,
  SpecSchema,
  StateSchema,
  stringifyJson,
  validateDocument,
} from "../../lib/oci/index.ts";
import { InputError } from "../../lib/errors.ts";
import { expectPlainCheckWithinSchema } from "../support/plain-check.ts";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");
const fixture = (rel: string) => readFileSync(join(FIXTURES, rel), "utf8");
const podman = () => JSON.parse(fixture("bundles/podman-4.3.json"));

/** Problems of `doc` validated as `kind`, each `path: message`. */
const problems = (doc: unknown, kind: "config" | "state" = "config") => validateDocument(doc, kind);

describe("fixtures validate as they are", () => {
  for (const name of readdirSync(join(FIXTURES, "bundles")).filter((n) => n.endsWith(".json")))
    test(`bundles/${name} is a valid config`, () => {
      const doc = parseJson(fixture(`bundles/${name}`));
      expect(inferKind(doc)).toBe("config");
      expect(problems(doc)).toEqual([]);
    });
  for (const name of readdirSync(join(FIXTURES, "states")).filter((n) => n.endsWith(".json")))
    test(`states/${name} is a valid state`, () => {
      const doc = parseJson(fixture(`states/${name}`));
      expect(inferKind(doc)).toBe("state");
      expect(problems(doc, "state")).toEqual([]);
    });
});

describe("config mutations are rejected at the right path", () => {
  const cases: [string, (s: any) => void, string][] = [
    ["ociVersion not SemVer", (s) => (s.ociVersion = "1.0"), 'ociVersion: "1.0" is not a SemVer 2.0.0 version'],
    ["ociVersion missing", (s) => delete s.ociVersion, "ociVersion: required"],
    ["root missing", (s) => delete s.root, "root: required"],
    ["relative cwd", (s) => (s.process.cwd = "tmp"), 'process.cwd: "tmp" is not an absolute path'],
    ["uid as string", (s) => (s.process.user.uid = "0"), 'process.user.uid: expected an integer, got "0"'],
    ["negative gid", (s) => (s.process.user.gid = -1), "process.user.gid: -1 is out of range for uint32 (0..4294967295)"],
    ["empty args", (s) => (s.process.args = []), "process.args: must have at least 1 item"],
    ["unknown rlimit", (s) => (s.process.rlimits[0].type = "RLIMIT_NOPE"), 'process.rlimits[0].type: "RLIMIT_NOPE" is not one of'],
    ["terminal not boolean", (s) => (s.process.terminal = "yes"), 'process.terminal: expected boolean, got "yes"'],
    ["oomScoreAdj out of range", (s) => (s.process.oomScoreAdj = 1001), "process.oomScoreAdj: 1001 is out of range"],
    ["bad scheduler policy", (s) => (s.process.scheduler = { policy: "SCHED_FAST" }), 'process.scheduler.policy: "SCHED_FAST" is not one of SCHED_OTHER'],
    ["ioPriority out of range", (s) => (s.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 8 }), "process.ioPriority.priority: 8 is out of range"],
    ["bad execCPUAffinity", (s) => (s.process.execCPUAffinity = { initial: "0-3,x" }), 'process.execCPUAffinity.initial: "0-3,x" is not a CPU list'],
    ["relative hook path", (s) => (s.hooks = { prestart: [{ path: "bin/hook" }] }), 'hooks.prestart[0].path: "bin/hook" is not an absolute path'],
    ["zero hook timeout", (s) => (s.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] }), "hooks.poststop[0].timeout: must be > 0, got 0"],
    ["negative hook timeout", (s) => (s.hooks = { createRuntime: [{ path: "/bin/true", timeout: -5 }] }), "hooks.createRuntime[0].timeout: must be > 0, got -5"],
    ["fractional hook timeout", (s) => (s.hooks = { poststart: [{ path: "/bin/true", timeout: 1.5 }] }), "hooks.poststart[0].timeout: expected an integer, got 1.5"],
    ["annotation value not a string", (s) => (s.annotations["io.x"] = 1), 'annotations["io.x"]: expected string, got 1'],
    ["unknown namespace type", (s) => (s.linux.namespaces[0].type = "pidns"), 'linux.namespaces[0].type: "pidns" is not one of pid, network, mount, ipc, uts, user, cgroup, time'],
    ["relative namespace path", (s) => (s.linux.namespaces[1].path = "run/netns/x"), 'linux.namespaces[1].path: "run/netns/x" is not an absolute path'],
    ["duplicate namespace", (s) => s.linux.namespaces.push({ type: "ipc" }), 'linux.namespaces[5].type: namespace "ipc" is given more than once'],
    ["device type", (s) => (s.linux.devices[0].type = "x"), 'linux.devices[0].type: "x" is not one of c, b, u, p'],
    ["relative device path", (s) => (s.linux.devices[0].path = "dev/fuse"), 'linux.devices[0].path: "dev/fuse" is not an absolute path'],
    ["device without minor", (s) => delete s.linux.devices[0].minor, 'linux.devices[0].minor: required for a type "c" device'],
    ["cgroup rule access", (s) => (s.linux.resources.devices[1].access = "rwx"), 'linux.resources.devices[1].access: "x" is not one of r, w, m'],
    ["cgroup rule type", (s) => (s.linux.resources.devices[1].type = "u"), 'linux.resources.devices[1].type: "u" is not one of a, b, c'],
    ["cgroup rule allow", (s) => (s.linux.resources.devices[0].allow = 1), "linux.resources.devices[0].allow: expected boolean, got 1"],
    ["cgroup rule allow missing", (s) => delete s.linux.resources.devices[0].allow, "linux.resources.devices[0].allow: required"],
    ["cgroup rule major", (s) => (s.linux.resources.devices[1].major = "10"), 'linux.resources.devices[1].major: expected an integer, got "10"'],
    ["memory limit type", (s) => (s.linux.resources.memory.limit = "64M"), 'linux.resources.memory.limit: expected an integer, got "64M"'],
    ["pids limit missing", (s) => (s.linux.resources.pids = {}), "linux.resources.pids.limit: required"],
    ["cpu shares negative", (s) => (s.linux.resources.cpu.shares = -1), "linux.resources.cpu.shares: -1 is out of range for uint64"],
    ["blockIO weight", (s) => (s.linux.resources.blockIO = { weight: 70000 }), "linux.resources.blockIO.weight: 70000 is out of range for uint16"],
    ["hugepage limit", (s) => (s.linux.resources.hugepageLimits = [{ pageSize: "2MB" }]), "linux.resources.hugepageLimits[0].limit: required"],
    ["hugepage pageSize unit (issue 15 #15)", (s) => (s.linux.resources.hugepageLimits = [{ pageSize: "64kB", limit: 1 }]), 'linux.resources.hugepageLimits[0].pageSize: "64kB" is not a page size like 2MB or 1GB'],
    ["hugepage pageSize leading zero", (s) => (s.linux.resources.hugepageLimits = [{ pageSize: "02MB", limit: 1 }]), 'linux.resources.hugepageLimits[0].pageSize: "02MB" is not a page size'],
    ["netDevices name not a string (issue 15 #15)", (s) => (s.linux.netDevices = { eth1: { name: 23 } }), "linux.netDevices.eth1.name: expected string, got 23"],
    ["netDevices entry not an object", (s) => (s.linux.netDevices = { eth1: "eth0" }), 'linux.netDevices.eth1: expected object, got "eth0"'],
    ["unified value", (s) => (s.linux.resources.unified = { "memory.high": 5 }), 'linux.resources.unified["memory.high"]: expected string, got 5'],
    ["seccomp action", (s) => (s.linux.seccomp.syscalls[0].action = "SCMP_ACT_MAYBE"), 'linux.seccomp.syscalls[0].action: "SCMP_ACT_MAYBE" is not one of'],
    ["seccomp arch", (s) => (s.linux.seccomp.architectures[0] = "SCMP_ARCH_Z80"), 'linux.seccomp.architectures[0]: "SCMP_ARCH_Z80" is not one of'],
    ["seccomp op", (s) => (s.linux.seccomp.syscalls[2].args[0].op = "EQ"), 'linux.seccomp.syscalls[2].args[0].op: "EQ" is not one of'],
    ["sysctl value", (s) => (s.linux.sysctl["net.ipv4.ping_group_range"] = 0), 'linux.sysctl["net.ipv4.ping_group_range"]: expected string, got 0'],
    ["masked path relative", (s) => (s.linux.maskedPaths[0] = "proc/acpi"), 'linux.maskedPaths[0]: "proc/acpi" is not an absolute path'],
    ["rootfsPropagation", (s) => (s.linux.rootfsPropagation = "everywhere"), 'linux.rootfsPropagation: "everywhere" is not one of shared'],
    ["personality", (s) => (s.linux.personality = { domain: "LINUX64" }), 'linux.personality.domain: "LINUX64" is not one of LINUX, LINUX32'],
    ["timeOffsets key", (s) => (s.linux.timeOffsets = { realtime: { secs: 1 } }), "linux.timeOffsets: unknown field realtime"],
    ["uid mapping", (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1000 }]), "linux.uidMappings[0].size: required"],
    ["mount destination", (s) => (s.mounts[0].destination = 5), "mounts[0].destination: expected string, got 5"],
    ["mounts not an array", (s) => (s.mounts = {}), "mounts: expected array, got an object"],
  ];
  for (const [name, mutate, expected] of cases)
    test(name, () => {
      const s = podman();
      mutate(s);
      const got = problems(s);
      expect(got.length).toBeGreaterThan(0);
      expect(got.some((line) => line.startsWith(expected))).toBe(true);
    });

  test("every problem is reported, not just the first", () => {
    const s = podman();
    s.process.cwd = "x";
    s.linux.resources.devices[1].access = "q";
    expect(problems(s)).toEqual([
      'process.cwd: "x" is not an absolute path',
      'linux.resources.devices[1].access: "q" is not one of r, w, m',
    ]);
  });

  test("spec-valid edge values pass", () => {
    const s = podman();
    s.linux.resources.devices.push({ allow: true, type: "c", major: null, minor: null, access: "" });
    s.linux.devices.push({ type: "p", path: "/dev/fifo" });
    s.linux.namespaces.push({ type: "time" });
    s.process.rlimits.push({ type: "RLIMIT_CORE", soft: 18446744073709551615n, hard: 18446744073709551615n });
    s.hooks = { prestart: [{ path: "/bin/true", timeout: 1 }] };
    s.ociVersion = "1.2.0-rc.1+build.5";
    expect(problems(s)).toEqual([]);
  });
});

describe("state", () => {
  const state = () => JSON.parse(fixture("states/podman-4.3-prestart.json"));
  test("status values", () => {
    for (const status of ["creating", "created", "running", "stopped"]) expect(problems({ ...state(), status }, "state")).toEqual([]);
    expect(problems({ ...state(), status: "paused" }, "state")).toEqual([
      'status: "paused" is not one of creating, created, running, stopped',
    ]);
  });
  test("pid is required when created or running", () => {
    const s = state();
    delete s.pid;
    expect(problems({ ...s, status: "creating" }, "state")).toEqual([]);
    expect(problems({ ...s, status: "stopped" }, "state")).toEqual([]);
    expect(problems({ ...s, status: "created" }, "state")).toEqual(['pid: required (a positive process id) when status is "created"']);
    expect(problems({ ...s, status: "running", pid: 0 }, "state")).toEqual(['pid: required (a positive process id) when status is "running"']);
  });
  test("a missing status is required, not `undefined is not one of` (issue 15 #14)", () => {
    const s = state();
    delete s.status;
    expect(problems(s, "state")).toEqual(["status: required"]);
  });
  test("crun's state is accepted: it reports ociVersion \"1.0\", which is not SemVer", () => {
    // as crun 1.8 writes it on a hook's stdin (seen in the 6.1 VM lane)
    const crun = { ociVersion: "1.0", id: "c1", pid: 185, root: "/tmp/rootfs", bundle: "/tmp/c1", status: "created" };
    expect(problems(crun, "state")).toEqual([]);
    expect(problems({ ...crun, ociVersion: "" }, "state")).toEqual(["ociVersion: must not be empty"]);
  });
  test("bundle is absolute, id not empty", () => {
    expect(problems({ ...state(), bundle: "userdata", id: "" }, "state")).toEqual([
      "id: must not be empty",
      'bundle: "userdata" is not an absolute path',
    ]);
  });
  test("parseState names the source and keeps unknown fields", () => {
    const s = parseState(JSON.stringify({ ...state(), extra: { a: 1 } }), "stdin");
    expect(s.pid).toBe(5097);
    expect(s.extra).toEqual({ a: 1 });
    expect(() => parseState("{", "stdin")).toThrow(/^stdin: not valid JSON/);
    expect(() => parseState(JSON.stringify({ ...state(), status: "x" }))).toThrow(InputError);
  });
});

describe("unknown fields and key order survive a parse and re-serialise", () => {
  test("the podman fixture with extra fields everywhere", () => {
    const text = fixture("bundles/podman-4.3.json");
    const doc = parseJson(text) as any;
    doc.zzz = { nested: [1, { q: true }] };
    doc.process.extension = "x";
    doc.linux.resources.devices[0]["io.example/weight"] = 3;
    doc.linux.netDevices = { eth1: { name: "eth0" } };
    const before = stringifyJson(doc);
    const r = check(SpecSchema, doc);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(stringifyJson(r.value)).toBe(before);
    // zod's own output keeps every field too, with known fields first
    expect(SpecSchema.parse(doc)).toEqual(doc);
    expect(stringifyJson(parseJson(fixture("bundles/podman-4.3.json")))).toBe(text);
  });
  test("integers beyond 2^53 are kept digit for digit", () => {
    const text = '{"soft":18446744073709551615,"hard":-9223372036854775808,"small":1,"s":"18446744073709551615"}';
    const v = parseJson(text) as Record<string, unknown>;
    expect(v.soft).toBe(18446744073709551615n);
    expect(v.small).toBe(1);
    expect(v.s).toBe("18446744073709551615");
    expect(stringifyJson(v)).toBe(text);
  });
});

describe("formatIssues", () => {
  test("paths: indexes in brackets, odd keys quoted", () => {
    expect(formatIssuePath(["linux", "resources", "devices", 2, "access"])).toBe("linux.resources.devices[2].access");
    expect(formatIssuePath(["annotations", "io.podman/x"])).toBe('annotations["io.podman/x"]');
    expect(formatIssuePath([])).toBe("(root)");
  });
  test("formats a ZodError from any schema, one line per issue", () => {
    const r = z.object({ a: z.array(z.object({ b: z.string() })) }).safeParse({ a: [{ b: "x" }, { b: 1 }] });
    expect(r.success).toBe(false);
    if (r.success) return;
    const lines = formatIssues(r.error);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("a[1].b: ");
  });
  test("StateSchema messages through check()", () => {
    const r = check(StateSchema, { ociVersion: "1.0.2", id: "x", status: "up", bundle: "/b" });
    expect(r.ok ? [] : r.problems).toEqual(['status: "up" is not one of creating, created, running, stopped']);
  });
});

describe("plain checks in front of the spec's long lists", () => {
  test("the plain mount check accepts only what MountSchema accepts; a bad mount keeps its path", async () => {
    const { MountSchema, isPlainMount } = await import("../../lib/oci/spec.ts");
    const fixtures = [...podman().mounts, ...JSON.parse(fixture("bundles/containerd-1.6.json")).mounts, ...JSON.parse(fixture("bundles/runc-1.1-spec.json")).mounts];
    const edge: unknown[] = [
      null, [], {}, { destination: "" }, { destination: 1 }, { destination: "/x", source: 2 }, { destination: "/x", options: ["ro", 3] },
      { destination: "/x", uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }, { destination: "rel", type: "bind", options: ["rbind"] },
      { destination: "/x", type: 5 }, Object.assign(Object.create(null), { destination: "/y" }),
    ];
    expectPlainCheckWithinSchema([...fixtures, ...edge], isPlainMount, (m) => MountSchema.safeParse(m).success, fixtures.length);
    const spec = podman();
    spec.mounts.push({ destination: "/x", options: ["ro", 3] });
    const r = SpecSchema.safeParse(spec);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["mounts", spec.mounts.length - 1, "options", 1]);
  });
});
