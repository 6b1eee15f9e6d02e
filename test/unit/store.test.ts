// Store layouts, wait statuses and event rendering: pure code, no privileges.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitedEventFromWaitStatus, waitStatusOf } from "../../lib/store/waitstatus.ts";
import { eventToJSON, eventLine, formatTime, makeEvent, type LifecycleEvent } from "../../lib/store/event.ts";
import {
  CONTAINER_RECORD_SIZE, EVENT_RECORD_SIZE, LAYOUT_VERSION, LIMITS, checkLayoutVersion, containerKey,
  decodeContainer, decodeContainerKey, decodeEvent, decodeExitStatus, decodeTaskInfo, encodeContainer,
  encodeEvent, encodeExitStatus, encodeTaskInfo, type ContainerRecord,
} from "../../lib/store/layout.ts";
import { FieldTooLongError, FieldValueError, StoreVersionError } from "../../lib/store/errors.ts";
import { checkStoreName, storeDir } from "../../lib/store/paths.ts";
import { containerTable, containerToJSON, psRows } from "../../lib/cli/ps.ts";
import { ContainerDirectory } from "../../lib/gadgets/containers.ts";
import { Registry } from "../../lib/containers/index.ts";

describe("exitedEventFromWaitStatus", () => {
  test("normal exits give the exit code", () => {
    expect(exitedEventFromWaitStatus(0)).toEqual({ exitCode: 0, signal: null, coreDumped: false });
    expect(exitedEventFromWaitStatus(3 << 8)).toEqual({ exitCode: 3, signal: null, coreDumped: false });
    expect(exitedEventFromWaitStatus(255 << 8)).toEqual({ exitCode: 255, signal: null, coreDumped: false });
  });
  test("signals give the signal and the core flag", () => {
    expect(exitedEventFromWaitStatus(9)).toEqual({ exitCode: null, signal: 9, coreDumped: false });
    expect(exitedEventFromWaitStatus(15)).toEqual({ exitCode: null, signal: 15, coreDumped: false });
    expect(exitedEventFromWaitStatus(11 | 0x80)).toEqual({ exitCode: null, signal: 11, coreDumped: true });
  });
  test("waitStatusOf is its inverse", () => {
    for (const o of [
      { exitCode: 0, signal: null, coreDumped: false },
      { exitCode: 42, signal: null, coreDumped: false },
      { exitCode: null, signal: 6, coreDumped: true },
    ])
      expect(exitedEventFromWaitStatus(waitStatusOf(o))).toEqual(o);
  });
});

const sampleEvent: LifecycleEvent = {
  timeNs: 1795302301123456789n, // 2026-11-21T23:05:01.123456789Z
  type: "stopped",
  id: "4f2c0d8e9a1b",
  name: "web",
  pid: 1234,
  bundle: "/run/containers/storage/overlay-containers/4f2c/userdata",
  runtime: "runc",
  cgroup: "/sys/fs/cgroup/unified/machine.slice/libpod-4f2c.scope",
  exitCode: 0,
  signal: null,
  source: "hook",
};

describe("event rendering", () => {
  test("time is RFC 3339 UTC with nanoseconds", () => {
    expect(formatTime(1795302301123456789n)).toBe("2026-11-21T23:05:01.123456789Z");
    expect(formatTime(1795302301000000007n)).toBe("2026-11-21T23:05:01.000000007Z");
    expect(formatTime(0n)).toBe("1970-01-01T00:00:00.000000000Z");
  });

  test("eventToJSON has the ARCHITECTURE.md keys in order", () => {
    expect(eventToJSON(sampleEvent)).toBe(
      '{"time":"2026-11-21T23:05:01.123456789Z","type":"stopped","id":"4f2c0d8e9a1b","name":"web","pid":1234,' +
        '"bundle":"/run/containers/storage/overlay-containers/4f2c/userdata","runtime":"runc",' +
        '"cgroup":"/sys/fs/cgroup/unified/machine.slice/libpod-4f2c.scope","exitCode":0,"signal":null,"source":"hook"}',
    );
  });

  test("unknown exit code and signal are null", () => {
    const ev = makeEvent({ type: "created", id: "abc", source: "notifier", timeNs: 1n });
    expect(JSON.parse(eventToJSON(ev))).toEqual({
      time: "1970-01-01T00:00:00.000000001Z", type: "created", id: "abc", name: "", pid: 0, bundle: "",
      runtime: "", cgroup: "", exitCode: null, signal: null, source: "notifier",
    });
  });

  test("eventLine names the event and only the known fields", () => {
    const line = eventLine({ ...sampleEvent, exitCode: null, signal: 9 });
    expect(line).toStartWith("2026-11-21T23:05:01.123456789Z stopped   4f2c0d8e9a1b name=web pid=1234");
    expect(line).toContain("signal=9");
    expect(line).not.toContain("exit=");
    expect(line).toEndWith("source=hook");
  });
});

describe("record layouts", () => {
  const record: ContainerRecord = {
    id: "a".repeat(64),
    name: "nginx-ü",
    pid: 4242,
    pidnsIno: 4026532500,
    mntnsIno: 4026532499,
    cgroupId: 123456789012n,
    cgroupPath: "/sys/fs/cgroup/unified/hookshim/a",
    bundle: "/run/containerd/io.containerd.runtime.v2.task/default/a",
    runtime: "runc",
    state: "stopped",
    createdNs: 1795302301123456789n,
    startedNs: 1795302302000000000n,
    stoppedNs: 1795302303000000000n,
    exitCode: null,
    signal: 9,
    coreDumped: true,
    cgroupCreated: true,
    source: "shim",
    traceId: 77n,
    pidStartTicks: 987654321n,
    reconciled: true,
  };

  test("container records round-trip", () => {
    const b = encodeContainer(record);
    expect(b.byteLength).toBe(CONTAINER_RECORD_SIZE);
    expect(decodeContainer(record.id, b)).toEqual(record);
    const running = { ...record, state: "running" as const, exitCode: 0, signal: null, coreDumped: false };
    expect(decodeContainer(record.id, encodeContainer(running))).toEqual(running);
  });

  test("exit code 0 and 'unknown' are told apart", () => {
    const unknown = decodeContainer("x", encodeContainer({ ...record, exitCode: null, signal: null }));
    expect(unknown.exitCode).toBeNull();
    const zero = decodeContainer("x", encodeContainer({ ...record, exitCode: 0, signal: null }));
    expect(zero.exitCode).toBe(0);
  });

  test("event records round-trip", () => {
    const b = encodeEvent(sampleEvent);
    expect(b.byteLength).toBe(EVENT_RECORD_SIZE);
    expect(decodeEvent(b)).toEqual(sampleEvent);
    const ev = makeEvent({ type: "precreate", id: "x", source: "notifier" });
    expect(decodeEvent(encodeEvent(ev))).toEqual(ev);
  });

  test("keys: ids fill the key exactly, longer ids are rejected, not truncated", () => {
    const id = "b".repeat(LIMITS.id);
    expect(decodeContainerKey(containerKey(id))).toBe(id);
    expect(() => containerKey(id + "b")).toThrow(FieldTooLongError);
    expect(() => containerKey(id + "b")).toThrow("container id is 129 bytes, the store holds at most 128");
    expect(() => containerKey("")).toThrow(FieldValueError);
  });

  test("over-long fields and bad values name the field", () => {
    expect(() => encodeContainer({ ...record, bundle: "/" + "x".repeat(256) })).toThrow("bundle path is 257 bytes");
    expect(() => encodeEvent({ ...sampleEvent, cgroup: "c".repeat(300) })).toThrow("cgroup path is 300 bytes");
    // multi-byte characters count in bytes
    expect(() => encodeEvent({ ...sampleEvent, name: "é".repeat(65) })).toThrow("container name is 130 bytes");
    expect(() => encodeEvent({ ...sampleEvent, type: "bogus" as never })).toThrow('event type: unknown type "bogus"');
    expect(() => encodeEvent({ ...sampleEvent, pid: -1 })).toThrow("event pid: -1 is not a pid");
    expect(() => encodeEvent({ ...sampleEvent, id: "a\0b" })).toThrow("container id: contains a NUL byte");
  });

  test("exit-tracking values use the kernel program's layout", () => {
    const t = { traceId: 0x1122334455667788n, pidnsIno: 4026531836, startTicks: 123456n };
    const tb = encodeTaskInfo(t);
    // the program reads the first 16 bytes (bpf/exitsnoop.ts TASK_INFO); the start time follows
    expect(tb.byteLength).toBe(24);
    expect(new DataView(tb.buffer).getBigUint64(0, true)).toBe(t.traceId);
    expect(new DataView(tb.buffer).getBigUint64(8, true)).toBe(BigInt(t.pidnsIno));
    expect(decodeTaskInfo(tb)).toEqual(t);
    const s = { pid: 99, waitStatus: 3 << 8, startBoottimeNs: 5n, exitedBoottimeNs: 10n };
    const sb = encodeExitStatus(s);
    expect(sb.byteLength).toBe(24);
    expect(new DataView(sb.buffer).getInt32(4, true)).toBe(0x300);
    expect(decodeExitStatus(sb)).toEqual(s);
  });

  test("a store of another layout version is refused, naming the store and both versions", () => {
    expect(() => checkLayoutVersion("hookshim", LAYOUT_VERSION)).not.toThrow();
    let err: unknown;
    try {
      checkLayoutVersion("prod", LAYOUT_VERSION + 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreVersionError);
    expect((err as Error).message).toContain(`store prod has record layout version ${LAYOUT_VERSION + 1}`);
    expect((err as Error).message).toContain(`this hookshim reads version ${LAYOUT_VERSION}`);
  });
});

describe("store names and paths", () => {
  test("a store is one directory under the bpffs root", () => {
    expect(storeDir("hookshim", "/sys/fs/bpf")).toBe("/sys/fs/bpf/hookshim");
    expect(checkStoreName("hookshim-test-1.2_x")).toBe("hookshim-test-1.2_x");
    for (const bad of ["", "..", "a/b", ".hidden", "x".repeat(200)]) expect(() => checkStoreName(bad)).toThrow(FieldValueError);
  });
});

describe("CLI helpers", () => {
  test("ps renders a table and JSON lines", () => {
    const rec: ContainerRecord = {
      id: "0123456789abcdef", name: "db", pid: 0, pidnsIno: 0, mntnsIno: 0, cgroupId: 7n, cgroupPath: "/cg",
      bundle: "/b", runtime: "runc", state: "stopped", createdNs: 1795302301123456789n, startedNs: 0n,
      stoppedNs: 0n, exitCode: null, signal: 9, coreDumped: false, cgroupCreated: false, source: "hook", traceId: 0n,
      pidStartTicks: 0n, reconciled: false,
    };
    const lines = containerTable([rec, { ...rec, id: "x", state: "running", signal: null, pid: 12 }]).split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PID\s+STATE\s+EXIT\s+RUNTIME\s+CREATED$/);
    expect(lines[1]).toMatch(/^0123456789ab\s+db\s+-\s+stopped\s+SIGKILL\s+runc\s+2026-11-21T23:05:01Z$/);
    expect(lines[2]).toMatch(/^x\s+db\s+12\s+running\s+-\s+/);
    const j = JSON.parse(containerToJSON(rec));
    expect(j).toMatchObject({ id: rec.id, state: "stopped", exitCode: null, signal: 9, created: "2026-11-21T23:05:01.123456789Z", stopped: null });
  });
});

describe("ps joins the store with the cgroup registry", () => {
  // a directory tree standing in for the cgroup hierarchy, and a bpffs root with no store in it
  const tmp = mkdtempSync(join(tmpdir(), "hookshim-ps-unit-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const RUNNING = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";
  const EMPTY = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";

  /** runs `fn` with $HOOKSHIM_BPFFS pointing at `root` (the store reader's only way to a bpffs) */
  function withBpffs<T>(root: string, fn: () => T): T {
    const saved = process.env.HOOKSHIM_BPFFS;
    process.env.HOOKSHIM_BPFFS = root;
    try {
      return fn();
    } finally {
      if (saved === undefined) delete process.env.HOOKSHIM_BPFFS;
      else process.env.HOOKSHIM_BPFFS = saved;
    }
  }

  function fixture() {
    const mount = join(tmp, "cgroup");
    mkdirSync(join(mount, "hookshim-test-ps", RUNNING), { recursive: true });
    mkdirSync(join(mount, "hookshim-test-ps", EMPTY), { recursive: true });
    mkdirSync(join(mount, "other.slice"), { recursive: true });
    writeFileSync(join(mount, "hookshim-test-ps", RUNNING, "cgroup.procs"), `${process.pid}\n`);
    writeFileSync(join(mount, "hookshim-test-ps", EMPTY, "cgroup.procs"), "");
    // runc's state dir names the bundle; the bundle's annotations name the container
    const root = join(tmp, "runc-root");
    const bundle = join(tmp, "bundle");
    mkdirSync(join(root, RUNNING), { recursive: true });
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(root, RUNNING, "state.json"), JSON.stringify({ id: RUNNING, config: { labels: [`bundle=${bundle}`] } }));
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ annotations: { "io.kubernetes.cri.container-name": "web" } }));
    const registry = new Registry({ mountpoint: mount, bundleSearch: { runtimeRoots: [root], bundleParents: [] } });
    return { mount, root, bundle, registry };
  }

  test("no store: registry rows only, source registry, pid from cgroup.procs, nothing created", () => {
    const { mount, root, bundle, registry } = fixture();
    const bpffs = join(tmp, "bpffs");
    mkdirSync(bpffs, { recursive: true });
    const rows = withBpffs(bpffs, () => {
      const dir = new ContainerDirectory({ store: "hookshim-test-ps-unit", registry, runtimeRoots: [root], strictStore: true });
      dir.refresh();
      return psRows(dir);
    });
    expect(rows.map((r) => r.id).sort()).toEqual([RUNNING, EMPTY].sort());
    const running = rows.find((r) => r.id === RUNNING)!;
    expect(running).toMatchObject({
      name: "web", pid: process.pid, state: "running", runtime: "runc", bundle, source: "registry",
      cgroupPath: `/hookshim-test-ps/${RUNNING}`, cgroupId: statSync(join(mount, "hookshim-test-ps", RUNNING), { bigint: true }).ino,
      exitCode: null, signal: null, coreDumped: false, cgroupCreated: false,
    });
    expect(running.pidnsIno).toBe(Number(statSync(`/proc/${process.pid}/ns/pid`).ino));
    expect(rows.find((r) => r.id === EMPTY)).toMatchObject({ pid: 0, runtime: "", name: "", bundle: "", source: "registry", pidnsIno: 0 });

    const j = JSON.parse(containerToJSON(running));
    expect(Object.keys(j)).toEqual([
      "id", "name", "pid", "state", "exitCode", "signal", "coreDumped", "runtime", "bundle", "cgroup", "cgroupId",
      "cgroupCreated", "reconciled", "pidns", "mntns", "created", "started", "stopped", "source",
    ]);
    expect(j).toMatchObject({ id: RUNNING, source: "registry", state: "running", cgroup: `/hookshim-test-ps/${RUNNING}`, started: null, stopped: null });
    expect(typeof j.created).toBe("string");
    const table = containerTable(rows).split("\n");
    expect(table.find((l) => l.startsWith(RUNNING.slice(0, 12)))).toMatch(new RegExp(`^${RUNNING.slice(0, 12)}\\s+web\\s+${process.pid}\\s+running\\s+-\\s+runc\\s+`));
    expect(table.find((l) => l.startsWith(EMPTY.slice(0, 12)))).toMatch(/\s+-\s+running\s+-\s+-\s+/);
    // the reader never makes the store
    expect(statSync(bpffs).isDirectory()).toBe(true);
    expect(() => statSync(join(bpffs, "hookshim-test-ps-unit"))).toThrow();
  });

  test("a store that exists but cannot be read fails ps; the gadgets only warn", () => {
    const { root, registry } = fixture();
    const bpffs = join(tmp, "bad-bpffs");
    mkdirSync(join(bpffs, "hookshim-test-ps-bad"), { recursive: true }); // a directory without the pinned maps
    withBpffs(bpffs, () => {
      const strict = new ContainerDirectory({ store: "hookshim-test-ps-bad", registry, runtimeRoots: [root], strictStore: true });
      expect(() => strict.refresh()).toThrow();
      const warnings: string[] = [];
      const lenient = new ContainerDirectory({ store: "hookshim-test-ps-bad", registry, runtimeRoots: [root], warn: (m) => warnings.push(m) });
      lenient.refresh();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toStartWith("store hookshim-test-ps-bad not read:");
      expect(psRows(lenient).map((r) => r.source)).toEqual(["registry", "registry"]);
    });
  });
});
