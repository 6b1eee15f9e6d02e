// Gadgets against the real kernel: the exit program and its cgroup filter, the mount-namespace
// filter, and the CLI's trace exit, top cgroups and trace lifecycle. Each test makes its own cgroup
// parent in the v2 hierarchy (a child named with a 64-hex id, so the registry takes it for a
// container) and its own store in a bpffs mounted for this file, and removes them afterwards.
import { afterAll, afterEach, beforeAll, expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ensureBpffs } from "../../lib/bpf/index.ts";
import { umount } from "../../lib/sys/index.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { Registry } from "../../lib/containers/index.ts";
import { makeEvent, openStore, resetStore } from "../../lib/store/index.ts";
import {
  ExitTracer, containerMntns, createFilterMap, mntnsInode, setMapIds, syncCgroupFilter, syncMntnsFilter, type ExitRecord,
} from "../../lib/gadgets/index.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { scaled } from "../support/time.ts";

const BUN = process.execPath;
const CLI = join(import.meta.dir, "../../main.ts");

let bpffs = "";
let counter = 0;
const parents: string[] = [];
const stores: string[] = [];
const children: { kill(sig?: number | NodeJS.Signals): void; exited: Promise<number> }[] = [];

interface TestContainer {
  id: string;
  /** relative to the v2 mount */
  path: string;
  dir: string;
  parent: string;
}

function testContainer(): TestContainer {
  const v2 = cgroupMount().mountpoint;
  const parentRel = `/hookshim-test-gadgets-${process.pid}-${++counter}`;
  const id = randomBytes(32).toString("hex");
  const path = `${parentRel}/${id}`;
  mkdirSync(join(v2, path), { recursive: true });
  parents.push(join(v2, parentRel));
  return { id, path, dir: join(v2, path), parent: parentRel };
}

function newStoreName(): string {
  const name = `hookshim-test-gadgets-${process.pid}-${++counter}`;
  stores.push(name);
  return name;
}

/** `script` run by busybox sh moved into `cgroupDir` first (the exec keeps its pid). */
function runIn(cgroupDir: string, script: string, cmd = ["/bin/busybox", "sh", "-c", script]) {
  const quoted = cmd.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const p = Bun.spawn(["/bin/busybox", "sh", "-c", `echo $$ > ${cgroupDir}/cgroup.procs && exec ${quoted}`], { stdout: "ignore", stderr: "inherit" });
  children.push(p);
  return p;
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A CLI run whose stdout is read line by line as it comes. */
function spawnCli(args: string[]) {
  const p = Bun.spawn([BUN, CLI, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOOKSHIM_BPFFS: bpffs } });
  children.push(p);
  const lines: string[] = [];
  let partial = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of p.stdout) {
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
    }
  })();
  const line = (what: string, match: (l: string) => boolean) => waitFor(what, () => lines.find(match));
  const stop = async () => {
    p.kill("SIGINT");
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text(), reading]);
    return { code, err };
  };
  return { lines, line, stop, process: p };
}

describeNeeds(["root", "btf", "cgroup2", "busybox"], "gadgets on the kernel", () => {
  beforeAll(() => {
    bpffs = mkdtempSync(join(tmpdir(), "hookshim-gadgets-bpffs-"));
    ensureBpffs(bpffs);
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill("SIGKILL");
      await c.exited;
    }
    for (const parent of parents.splice(0).reverse()) {
      // deepest first: a cgroup goes only when it has no child cgroups and no processes left
      for (const dir of [...subdirs(parent), parent].sort((a, b) => b.length - a.length))
        await waitFor(`rmdir ${dir}`, () => (tryRmdir(dir) ? true : undefined));
    }
    for (const name of stores.splice(0)) resetStore(name, { bpffs });
  });

  afterAll(() => {
    if (!bpffs) return;
    umount(bpffs);
    rmdirSync(bpffs);
  });

  needs("root")("the exit program reports exits in filtered cgroups only, with their codes", async () => {
    const c = testContainer();
    const registry = new Registry();
    registry.populate(c.parent);
    const tracer = ExitTracer.start();
    try {
      const written = syncCgroupFilter(tracer.filter, registry, (info) => info.path.startsWith(c.parent + "/"));
      expect(written.size).toBe(1);
      expect(setMapIds(tracer.filter)).toEqual([registry.containers().find((x) => x.containerId === c.id)!.cgroupId]);

      const inside = runIn(c.dir, "exit 3");
      const killed = runIn(c.dir, "", ["/bin/busybox", "sleep", "1000"]);
      const outside = Bun.spawn(["/bin/busybox", "sh", "-c", "exit 4"]);
      await outside.exited;
      expect(await inside.exited).toBe(3);
      await waitFor("the sleeper in its cgroup", () => (readFileSync(join(c.dir, "cgroup.procs"), "utf8").includes(String(killed.pid)) ? true : undefined));
      killed.kill("SIGKILL");
      await killed.exited;

      const seen: ExitRecord[] = [];
      await waitFor("both exits", () => {
        seen.push(...tracer.drain());
        return seen.some((r) => r.pid === inside.pid) && seen.some((r) => r.pid === killed.pid) ? true : undefined;
      });
      const exit3 = seen.find((r) => r.pid === inside.pid)!;
      expect(exit3.waitStatus).toBe(3 << 8);
      expect(exit3.tid).toBe(inside.pid);
      expect(exit3.ppid).toBe(process.pid);
      expect(exit3.comm).toBe("busybox");
      expect(exit3.cgroupId).toBe(setMapIds(tracer.filter)[0]!);
      expect(seen.find((r) => r.pid === killed.pid)!.waitStatus & 0x7f).toBe(9);
      expect(seen.some((r) => r.pid === outside.pid)).toBe(false);
      expect(tracer.lost()).toBe(0n);

      // a container that is gone leaves the filter at the next sync
      syncCgroupFilter(tracer.filter, registry, () => false);
      expect(setMapIds(tracer.filter)).toEqual([]);
    } finally {
      tracer.close();
    }
  }, scaled(30_000));

  needs("root")("the mount-namespace filter holds container namespaces, never the host's", async () => {
    const c = testContainer();
    const own = runIn(c.dir, "", ["/usr/bin/unshare", "-m", "/bin/busybox", "sleep", "1000"]);
    const shared = runIn(c.dir, "", ["/bin/busybox", "sleep", "1000"]);
    const hostNs = mntnsInode(process.pid)!;
    const ownNs = await waitFor("the unshared sleeper", () => {
      const ino = mntnsInode(own.pid);
      return ino !== undefined && ino !== hostNs && readFileSync(join(c.dir, "cgroup.procs"), "utf8").includes(String(own.pid)) ? ino : undefined;
    });
    await waitFor("the shared sleeper", () => (readFileSync(join(c.dir, "cgroup.procs"), "utf8").includes(String(shared.pid)) ? true : undefined));
    const registry = new Registry();
    registry.populate(c.parent);
    const accept = (info: { path: string }) => info.path.startsWith(c.parent + "/");
    expect([...containerMntns(registry, accept)]).toEqual([[ownNs, c.id]]);
    const map = createFilterMap("hs_test_mntns", 64);
    try {
      expect(syncMntnsFilter(map, registry, accept).size).toBe(1);
      expect(setMapIds(map)).toEqual([ownNs]);
    } finally {
      map.close();
    }
  }, scaled(30_000));

  needs("root")("hookshim trace exit: sh -c 'exit 3' in a container cgroup", async () => {
    const c = testContainer();
    const store = newStoreName();
    const cli = spawnCli(["--store", store, "trace", "exit", "--interval", "100ms", "--container", c.id.slice(0, 16), "-o", "columns=container,pid,comm,code,signal"]);
    await cli.line("the header", (l) => l.startsWith("CONTAINER"));
    const inside = runIn(c.dir, "exit 3");
    expect(await inside.exited).toBe(3);
    const row = await cli.line("the exit row", (l) => l.split(/\s+/)[1] === String(inside.pid));
    expect(row.split(/\s+/)).toEqual([c.id.slice(0, 12), String(inside.pid), "busybox", "3", "-"]);
    const { code, err } = await cli.stop();
    expect(err).toBe("");
    expect(code).toBe(0);
  }, scaled(30_000));

  needs("root")("hookshim top cgroups: a row for a test container cgroup", async () => {
    const c = testContainer();
    const store = newStoreName();
    const busy = runIn(c.dir, "", ["/bin/busybox", "sleep", "1000"]);
    await waitFor("the sleeper in its cgroup", () => (readFileSync(join(c.dir, "cgroup.procs"), "utf8").includes(String(busy.pid)) ? true : undefined));
    const r = Bun.spawnSync([BUN, CLI, "--store", store, "top", "cgroups", "--interval", "200ms", "--timeout", `${scaled(700)}ms`, "-o", "json", "--container", c.id], {
      env: { ...process.env, HOOKSHIM_BPFFS: bpffs },
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const rows = r.stdout.toString().trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toMatchObject({ containerId: c.id, runtime: "unknown", cgroup: c.path });
      expect(typeof row.cpuUsageUsec).toBe("number");
      expect(typeof row.cpuPercent).toBe("number");
      expect(Object.keys(row)).toEqual(["containerId", "containerName", "runtime", "cgroupId", "cpuPercent", "cpuUsageUsec", "memoryBytes", "pids", "cgroup"]);
    }
    const table = Bun.spawnSync([BUN, CLI, "--store", store, "top", "cgroups", "--interval", "200ms", "--timeout", `${scaled(300)}ms`, "--container", c.id], {
      env: { ...process.env, HOOKSHIM_BPFFS: bpffs },
    });
    const lines = table.stdout.toString().trim().split("\n");
    expect(lines[0]).toStartWith("CONTAINER    NAME             RUNTIME");
    expect(lines[1]).toStartWith(c.id.slice(0, 12) + " ");
    expect(lines[1]).toEndWith(c.path);
  }, scaled(30_000));

  needs("root")("hookshim trace lifecycle: events appended to the store", async () => {
    const name = newStoreName();
    const store = openStore(name, { bpffs });
    try {
      store.append(makeEvent({ type: "created", id: "before", source: "hook", runtime: "runc", pid: 11 }));
      const cli = spawnCli(["--store", name, "trace", "lifecycle", "--replay", "--interval", "20ms", "-o", "json"]);
      const first = JSON.parse(await cli.line("the replayed event", (l) => l.includes('"before"')));
      expect(first).toMatchObject({ type: "created", id: "before", pid: 11, runtime: "runc", source: "hook", exitCode: null });
      expect(Object.keys(first)).toEqual(["time", "type", "id", "name", "pid", "bundle", "runtime", "cgroup", "exitCode", "signal", "source"]);
      store.append(makeEvent({ type: "stopped", id: "after", source: "hook", exitCode: 3 }));
      const second = JSON.parse(await cli.line("the new event", (l) => l.includes('"after"')));
      expect(second).toMatchObject({ type: "stopped", id: "after", exitCode: 3 });
      const { code, err } = await cli.stop();
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(cli.lines.filter(Boolean)).toHaveLength(2);

      // without --replay only what comes after the start
      const live = spawnCli(["--store", name, "trace", "lifecycle", "--interval", "20ms"]);
      await live.line("the header", (l) => l.startsWith("TIME"));
      store.append(makeEvent({ type: "remove", id: "later", source: "notifier" }));
      const row = await live.line("the live event", (l) => l.includes("later"));
      expect(row.split(/\s+/).slice(1, 3)).toEqual(["remove", "later"]);
      expect((await live.stop()).code).toBe(0);
      expect(live.lines.some((l) => l.includes("before") || l.includes("after"))).toBe(false);
    } finally {
      store.close();
    }
  }, scaled(30_000));
});

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => [join(dir, e.name), ...subdirs(join(dir, e.name))]);
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    return false;
  }
}
