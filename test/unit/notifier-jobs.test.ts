// The notifier's jobs, each apart from NotifierCore: classifying runtime execs, conmon's names,
// and waiting for a pid file (real inotify and pidfds, no privileges). Failures are told apart by
// their type, never by their message.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerInfoError, readPidFile } from "../../lib/notifier/container-info.ts";
import { PidFileError, PidWait, RuntimeEndedError } from "../../lib/notifier/pid-wait.ts";
import { Poller } from "../../lib/notifier/poller.ts";
import { ConmonClaims, InvalidContainerIdError, classifyRuntimeExec } from "../../lib/notifier/runtime-exec.ts";
import { RUNTIME_STATE } from "../../lib/containers/index.ts";
import { ContainerIdTakenError, recordRunning } from "../../lib/notifier/reconcile.ts";
import { newContainerRecord, type ContainerRecord, type Store } from "../../lib/store/index.ts";

const tmp = mkdtempSync(join(tmpdir(), `notifier-jobs-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("classifyRuntimeExec", () => {
  test("runc create: id, bundle, pid file, and the state file under runc's default root", () => {
    expect(classifyRuntimeExec(["runc", "create", "--bundle", "/b", "--pid-file", "/b/pid", "c1"], "/usr/bin/runc", "/")).toEqual({
      kind: "create", id: "c1", bundle: "/b", runtime: "runc", pidFile: "/b/pid", stateFile: join(RUNTIME_STATE.runc.root, "c1", "state.json"), foreground: false,
    });
  });
  test("crun run in the foreground with --root; relative bundle from the runtime's cwd", () => {
    const e = classifyRuntimeExec(["crun", "--root", "/r", "run", "--bundle", "b", "c2"], "/usr/bin/crun", "/work");
    expect(e).toMatchObject({ kind: "create", id: "c2", bundle: "/work/b", runtime: "crun", stateFile: "/r/c2/status", foreground: true });
    expect(classifyRuntimeExec(["crun", "run", "-d", "c3"], "/usr/bin/crun", "/")).toMatchObject({ foreground: false, stateFile: "/run/crun/c3/status" });
  });
  test("conmon names a container; other runtime commands are not creates", () => {
    expect(classifyRuntimeExec(["conmon", "--cid", "c4", "--name", "web", "-b", "/b", "-r", "/usr/bin/crun"], "/usr/bin/conmon", "/")).toMatchObject({
      kind: "conmon", id: "c4", info: { name: "web", bundle: "/b", runtime: "/usr/bin/crun" },
    });
    expect(classifyRuntimeExec(["runc", "state", "c1"], "/usr/bin/runc", "/")).toBeUndefined();
    expect(classifyRuntimeExec(["runc", "delete", "c1"], "/usr/bin/runc", "/")).toBeUndefined();
  });
  test("a create with an id that is not one is refused with InvalidContainerIdError", () => {
    let caught: unknown;
    try {
      classifyRuntimeExec(["runc", "create", "../etc"], "/usr/bin/runc", "/");
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidContainerIdError);
    expect(caught).toBeInstanceOf(ContainerInfoError);
    expect((caught as InvalidContainerIdError).kind).toBe("argv");
  });
});

describe("ConmonClaims", () => {
  test("a name is taken once, only by the uid that claimed it; a non-root uid keeps its 16 newest", () => {
    const c = new ConmonClaims();
    const info = { name: "web", bundle: "", pidFile: "", runtime: "" };
    c.remember(1000, "a", info);
    expect(c.takeName(0, "a")).toBe("");
    expect(c.takeName(1000, "a")).toBe("web");
    expect(c.takeName(1000, "a")).toBe("");
    for (let i = 0; i < 17; i++) c.remember(1000, `id${i}`, { ...info, name: `n${i}` });
    expect(c.takeName(1000, "id0")).toBe("");
    expect(c.takeName(1000, "id16")).toBe("n16");
  });
});

describe("PidWait", () => {
  const waitFor = (spec: Partial<ConstructorParameters<typeof PidWait>[1]> & { path: string }) =>
    new Promise<{ pid?: number; error?: ContainerInfoError }>((resolve) => {
      const poller = new Poller();
      const wait = new PidWait(poller, { id: "c", runtime: "runc", read: readPidFile, timeoutMs: 5000, ...spec }, {
        pid: (pid) => (poller.close(), resolve({ pid })),
        error: (error) => (poller.close(), resolve({ error })),
      });
      wait.start();
    });

  test("a pid file written into a directory that does not exist yet", async () => {
    const dir = join(tmp, "late", "c");
    const got = waitFor({ path: join(dir, "pid") });
    await Bun.sleep(20);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "pid"), "4242");
    expect(await got).toEqual({ pid: 4242 });
  });

  test("no pid in time: PidFileError", async () => {
    const { error } = await waitFor({ path: join(tmp, "never"), timeoutMs: 50 });
    expect(error).toBeInstanceOf(PidFileError);
    expect(error!.kind).toBe("pidfile");
  });

  test("garbage in the pid file: PidFileError", async () => {
    writeFileSync(join(tmp, "garbage"), "not a pid");
    const { error } = await waitFor({ path: join(tmp, "garbage") });
    expect(error).toBeInstanceOf(PidFileError);
  });

  test("the runtime exits without writing it: RuntimeEndedError", async () => {
    const runtime = Bun.spawn(["sleep", "0.2"]);
    const { error } = await waitFor({ path: join(tmp, "unwritten"), runtimePid: runtime.pid });
    await runtime.exited;
    expect(error).toBeInstanceOf(RuntimeEndedError);
    expect(error!.kind).toBe("runtime");
  });
});

describe("recordRunning", () => {
  // the two calls recordRunning makes before it writes, over one record
  const storeHolding = (rec: ContainerRecord) => {
    const puts: ContainerRecord[] = [];
    const store = { getContainer: (id: string) => (id === rec.id ? rec : undefined), putContainer: (r: ContainerRecord) => void puts.push(r) };
    return { store: store as unknown as Store, puts };
  };
  const followed = { id: "web", name: "web", pid: 4242, bundle: "", runtime: "runc", cgroup: "", traceId: 0n, ownTrace: false };

  test("a non-root container never takes the id of another live container: ContainerIdTakenError", () => {
    const { store, puts } = storeHolding(newContainerRecord({ id: "web", pid: 77, state: "running" }));
    let caught: unknown;
    try {
      recordRunning(store, { ...followed, uid: 1000 }, (pid) => pid === 77);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ContainerIdTakenError);
    expect((caught as ContainerIdTakenError).kind).toBe("store");
    expect(puts).toEqual([]);
  });

  test("the record of the same process is left as it is", () => {
    const { store, puts } = storeHolding(newContainerRecord({ id: "web", pid: 4242, state: "running" }));
    recordRunning(store, { ...followed, uid: 1000 }, () => true);
    expect(puts).toEqual([]);
  });
});
