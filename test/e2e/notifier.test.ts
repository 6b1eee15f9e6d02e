// The notifier against real runtimes. Its marks are global: other test files exec runc too, so every
// assertion filters on this file's container ids.
import { expect, afterAll, afterEach } from "bun:test";
import { mkdtempSync, mkdirSync, copyFileSync, symlinkSync, readFileSync, writeFileSync, rmSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { resetStore } from "../../lib/store/index.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";


const BUN = join(import.meta.dir, "../../node_modules/.bin/bun");
const CLI = join(import.meta.dir, "../../lib/cli/main.ts");
const RUNC = "/usr/sbin/runc";
let counter = 0;
const uniq = (what: string) => `ntf-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `notifier-e2e-${process.pid}-`));
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(tmp, { recursive: true, force: true });
});

interface Ev {
  type: string; id: string; name: string; pid: number; bundle: string; runtime: string;
  exitCode: number | null; signal: number | null; source: string; error?: string;
}

// Every runc exec on the host waits for each live notifier: none outlives its test.
const live = new Set<NotifierProcess>();
afterEach(async () => {
  for (const n of [...live]) await n.kill();
});

class NotifierProcess {
  readonly events: Ev[] = [];
  readonly errors: Ev[] = [];
  readonly stderr: string[] = [];
  private proc!: ReturnType<typeof Bun.spawn>;
  constructor(readonly store: string) {}

  async start(extra: string[] = []): Promise<void> {
    this.proc = Bun.spawn([BUN, CLI, "--store", this.store, "notifier", "--json", ...extra], { stdout: "pipe", stderr: "pipe" });
    live.add(this);
    void lines(this.proc.stdout as ReadableStream<Uint8Array>, (l) => this.events.push(JSON.parse(l)));
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    void lines(this.proc.stderr as ReadableStream<Uint8Array>, (l) => {
      this.stderr.push(l);
      if (l.startsWith("{")) this.errors.push(JSON.parse(l));
      if (l.includes("hookshim notifier: watching")) ready();
    });
    await Promise.race([isReady, this.proc.exited.then((c) => { throw new Error(`notifier exited ${c}: ${this.stderr.join("\n")}`); })]);
  }

  of(id: string, type?: string): Ev[] {
    return this.events.filter((e) => e.id === id && (!type || e.type === type));
  }

  async waitFor(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-10))} stderr: ${this.stderr.slice(-5).join(" | ")}`);
      await Bun.sleep(10);
    }
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): Promise<number> {
    live.delete(this);
    this.proc.kill(signal);
    return this.proc.exited;
  }
}

async function lines(stream: ReadableStream<Uint8Array>, on: (line: string) => void): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l) on(l);
    }
  }
}

async function notifier(extra: string[] = []): Promise<NotifierProcess> {
  const n = new NotifierProcess(uniq("store"));
  cleanups.push(() => resetStore(n.store));
  await n.start(extra);
  return n;
}

let rootfs: string | undefined;
/** busybox rootfs shared by every container of this file */
function busyboxRootfs(): string {
  if (rootfs) return rootfs;
  rootfs = join(tmp, "rootfs");
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const a of ["sh", "sleep", "true"]) symlinkSync("busybox", join(rootfs, "bin", a));
  return rootfs;
}

const cgroupParent = `/hookshim-test-notifier-${process.pid}`;
function runcBundle(id: string, args: string[]): string {
  const bundle = join(tmp, id);
  mkdirSync(bundle);
  const spec = Bun.spawnSync([RUNC, "spec", "--bundle", bundle]);
  if (spec.exitCode !== 0) throw new Error(`runc spec: ${spec.stderr}`);
  const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  cfg.root = { path: busyboxRootfs(), readonly: true };
  cfg.process.args = args;
  cfg.process.terminal = false;
  cfg.linux.cgroupsPath = `${cgroupParent}/${id}`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
  return bundle;
}

const runcRoot = join(tmp, "runc-root");
/** runc's stderr goes to a file: a created container's init inherits it, so a pipe would not close. */
async function runc(...args: string[]): Promise<{ code: number; err: string }> {
  const errFile = join(tmp, `runc-${process.pid}-${++counter}.err`);
  const code = await Bun.spawn([RUNC, "--root", runcRoot, ...args], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) }).exited;
  const err = readFileSync(errFile, "utf8");
  rmSync(errFile, { force: true });
  return { code, err };
}
cleanups.push(async () => {
  const list = Bun.spawnSync([RUNC, "--root", runcRoot, "list", "-q"]);
  for (const id of list.stdout.toString().split("\n").filter(Boolean)) await runc("delete", "--force", id);
  Bun.spawnSync(["/bin/sh", "-c", `find /sys/fs/cgroup -depth -type d -path '*${cgroupParent}*' -exec rmdir {} + 2>/dev/null; true`]);
});

describeNeeds(["root", "fanotify", "runc", "busybox"], "notifier with runc", () => {
  needs("root")("runc create/start/delete: precreate, add and remove with the exit code", async () => {
    const n = await notifier();
    const id = uniq("c");
    const bundle = runcBundle(id, ["sh", "-c", "exit 7"]);
    const pidFile = join(tmp, `${id}.pid`);
    expect((await runc("create", "--bundle", bundle, "--pid-file", pidFile, id)).code).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await n.waitFor(() => n.of(id, "add").length === 1, "add");
    expect((await runc("start", id)).code).toBe(0);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    await runc("delete", id);
    const [pre] = n.of(id, "precreate"), [add] = n.of(id, "add"), [rm] = n.of(id, "remove");
    expect(pre).toMatchObject({ id, name: id, bundle, runtime: "runc", source: "notifier" });
    expect(add).toMatchObject({ id, name: id, pid, bundle, runtime: "runc" });
    expect(rm).toMatchObject({ id, pid, exitCode: 7, signal: null });
    expect(n.of(id).map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
  }, scaled(60_000));

  needs("root")("runc run -d and a container killed by a signal", async () => {
    const n = await notifier();
    const id = uniq("r");
    const bundle = runcBundle(id, ["sleep", "1000"]);
    const pidFile = join(tmp, `${id}.pid`);
    expect((await runc("run", "-d", "--bundle", bundle, "--pid-file", pidFile, id)).code).toBe(0);
    await n.waitFor(() => n.of(id, "add").length === 1, "add");
    expect(n.of(id, "add")[0]!.pid).toBe(Number(readFileSync(pidFile, "utf8")));
    await runc("kill", id, "KILL");
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    expect(n.of(id, "remove")[0]).toMatchObject({ exitCode: null, signal: 9 });
    await runc("delete", id);
  }, scaled(60_000));

  needs("root")("200 containers, 8 at a time: exactly 200 of each event", async () => {
    const n = await notifier();
    const ids = Array.from({ length: 200 }, () => uniq("m"));
    const queue = [...ids];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        const bundle = runcBundle(id, ["true"]);
        const r = await runc("run", "--bundle", bundle, "--pid-file", join(tmp, `${id}.pid`), id);
        if (r.code !== 0) throw new Error(`runc run ${id}: ${r.err}`);
        await runc("delete", "--force", id);
      }
    }));
    const mine = new Set(ids);
    const count = (t: string) => n.events.filter((e) => mine.has(e.id) && e.type === t).length;
    await n.waitFor(() => count("remove") >= 200, "200 removes", 60_000);
    expect([count("precreate"), count("add"), count("remove")]).toEqual([200, 200, 200]);
    expect(n.events.filter((e) => mine.has(e.id) && e.type === "remove").every((e) => e.exitCode === 0)).toBe(true);
  }, scaled(180_000));

  needs("root")("kill -9 while containers start: no runtime stays blocked, survivors are reported once", async () => {
    const n = await notifier();
    const ids = Array.from({ length: 6 }, () => uniq("k"));
    const bundles = ids.map((id) => runcBundle(id, ["sleep", "1000"]));
    const starts = ids.map((id, i) => runc("run", "-d", "--bundle", bundles[i]!, "--pid-file", join(tmp, `${id}.pid`), id));
    // killed once it knows of one start (usually all six precreates arrive together, their pids not yet)
    await n.waitFor(() => ids.some((id) => n.of(id, "precreate").length === 1), "a precreate");
    await n.kill("SIGKILL");
    // every runtime finishes: nothing waits on the dead notifier
    for (const r of await Promise.all(starts)) expect(r.code).toBe(0);
    // two more start while no notifier runs: only runc's state root (a custom one, named with
    // --runtime-root, and a cgroupsPath the cgroup registry does not recognise) knows of them
    for (const id of [uniq("k"), uniq("k")]) {
      ids.push(id);
      expect((await runc("run", "-d", "--bundle", runcBundle(id, ["sleep", "1000"]), "--pid-file", join(tmp, `${id}.pid`), id)).code).toBe(0);
    }
    const again = new NotifierProcess(n.store);
    await again.start(["--runtime-root", runcRoot]);
    // each survivor is reported as add exactly once across both notifiers
    await again.waitFor(() => ids.every((id) => n.of(id, "add").length + again.of(id, "add").length >= 1), "survivors");
    await Bun.sleep(200);
    for (const id of ids) expect(n.of(id, "add").length + again.of(id, "add").length).toBe(1);
    // a third start reports none of them again
    await again.kill();
    const third = new NotifierProcess(n.store);
    await third.start(["--runtime-root", runcRoot]);
    await Bun.sleep(300);
    for (const id of ids) expect(third.of(id, "add")).toEqual([]);
    await runc("kill", ids[0]!, "KILL");
    await third.waitFor(() => third.of(ids[0]!, "remove").length === 1, "remove of a survivor");
    expect(third.of(ids[0]!, "remove")[0]).toMatchObject({ signal: 9 });
    for (const id of ids) await runc("delete", "--force", id);
  }, scaled(90_000));

  needs("root")("a container started before the notifier, in a custom runc root and cgroup: one add from --runtime-root", async () => {
    const id = uniq("s");
    const bundle = runcBundle(id, ["sleep", "1000"]);
    const pidFile = join(tmp, `${id}.pid`);
    // no notifier runs: nobody sees this start
    expect((await runc("run", "-d", "--bundle", bundle, "--pid-file", pidFile, id)).code).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    // without its root, neither the store, the cgroup registry nor the stock state roots know it
    // (survivors are adopted before the notifier says it is watching)
    const blind = await notifier();
    expect(blind.of(id)).toEqual([]);
    await blind.kill();
    const n = await notifier(["--runtime-root", runcRoot]);
    await n.waitFor(() => n.of(id, "add").length === 1, "add of the survivor");
    expect(n.of(id, "add")[0]).toMatchObject({ id, name: id, pid, bundle, runtime: "runc", source: "notifier" });
    // a restart on the same store reports it no more, but still follows it to its end
    await n.kill("SIGKILL");
    const again = new NotifierProcess(n.store);
    await again.start(["--runtime-root", runcRoot]);
    expect(again.of(id, "add")).toEqual([]);
    await runc("kill", id, "KILL");
    await again.waitFor(() => again.of(id, "remove").length === 1, "remove");
    expect(again.of(id, "remove")[0]).toMatchObject({ pid, signal: 9 });
    expect(n.of(id, "add").length + again.of(id, "add").length).toBe(1);
    await runc("delete", "--force", id);
  }, scaled(60_000));

  needs("root")("an unreadable bundle and a garbage pid file give error events, not a crash", async () => {
    const n = await notifier(["--pid-wait-ms", "3000"]);
    // a create whose argv names a bundle without config.json: runc fails, the notifier says so
    const id1 = uniq("e");
    const empty = join(tmp, id1);
    mkdirSync(empty);
    await runc("create", "--bundle", empty, "--pid-file", join(tmp, `${id1}.pid`), id1);
    await n.waitFor(() => n.errors.some((e) => e.id === id1), "bundle error");
    expect(n.errors.find((e) => e.id === id1)!.error).toContain(`bundle ${empty}`);

    // a fake runtime at a marked path writes garbage into its pid file
    const id2 = uniq("g");
    const fakeDir = join(tmp, "fake");
    mkdirSync(fakeDir, { recursive: true });
    const fake = join(fakeDir, "runc");
    writeFileSync(fake, `#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --pid-file ] && echo garbage > "$2"; shift; done\n`);
    chmodSync(fake, 0o755);
    const n2 = await notifier(["--runtime-path", fake, "--pid-wait-ms", "3000"]);
    const bundle = runcBundle(id2, ["true"]);
    await Bun.spawn([fake, "create", "--bundle", bundle, "--pid-file", join(tmp, `${id2}.pid`), id2]).exited;
    await n2.waitFor(() => n2.errors.some((e) => e.id === id2), "pid file error");
    expect(n2.errors.find((e) => e.id === id2)!.error).toContain('not a pid: "garbage"');
    expect(n2.of(id2, "precreate").length).toBe(1);
    expect(n2.of(id2, "add")).toEqual([]);
    // still alive and working
    const id3 = uniq("ok");
    expect((await runc("run", "--bundle", runcBundle(id3, ["true"]), id3)).code).toBe(0);
    await n.waitFor(() => n.of(id3, "remove").length === 1, "remove after errors");
    await runc("delete", "--force", id3);
  }, scaled(60_000));
});

describeNeeds(["root", "fanotify", "podman", "busybox"], "notifier with podman", () => {
  needs("root")("podman run: conmon's name, runc's id and the exit code", async () => {
    const n = await notifier();
    const name = uniq("pod");
    const p = Bun.spawn(["podman", "--cgroup-manager=cgroupfs", "--runtime=runc", "run", "--network=none", "--name", name,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--rootfs", busyboxRootfs(), "sh", "-c", "exit 3"], { stdout: "ignore", stderr: "pipe" });
    expect(await p.exited).toBe(3);
    cleanups.push(() => Bun.spawn(["podman", "rm", "-f", name]).exited);
    await n.waitFor(() => n.events.some((e) => e.name === name && e.type === "remove"), "podman remove");
    const mine = n.events.filter((e) => e.name === name);
    const id = mine[0]!.id;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(mine.map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
    expect(mine[0]!.bundle).toContain(id);
    expect(mine[1]!.pid).toBeGreaterThan(0);
    expect(mine[2]).toMatchObject({ exitCode: 3, signal: null, runtime: "runc" });
  }, scaled(60_000));
});

describeNeeds(["root", "fanotify", "containerd", "ctr", "busybox"], "notifier with containerd", () => {
  needs("root")("ctr run through a private containerd", async () => {
    const d = join(tmp, uniq("ctrd"));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "config.toml"), `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n`);
    const sock = join(d, "c.sock");
    const daemon = Bun.spawn(["containerd", "--config", join(d, "config.toml"), "--root", join(d, "root"), "--state", join(d, "state"), "--address", sock], { stdout: "ignore", stderr: "ignore" });
    cleanups.push(async () => {
      daemon.kill();
      await daemon.exited;
    });
    for (let i = 0; i < 200 && !Bun.spawnSync(["ctr", "--address", sock, "version"]).success; i++) await Bun.sleep(50);
    const n = await notifier();
    const id = uniq("ctr");
    const r = Bun.spawn(["ctr", "--address", sock, "run", "--runc-binary", RUNC, "--env", "PATH=/bin", "--rootfs", busyboxRootfs(), id, "sh", "-c", "exit 5"], { stdout: "ignore", stderr: "pipe" });
    expect(await r.exited).toBe(5);
    cleanups.push(() => Bun.spawn(["ctr", "--address", sock, "container", "rm", id]).exited);
    await n.waitFor(() => n.of(id, "remove").length === 1, "containerd remove");
    expect(n.of(id).map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
    expect(n.of(id, "precreate")[0]!.bundle).toContain(id);
    expect(n.of(id, "remove")[0]).toMatchObject({ exitCode: 5, signal: null });
  }, scaled(60_000));
});

// podman and containerd leave /libpod_parent and /default behind in every hierarchy; registered last so
// it runs after the file's own clean-up has removed its containers
afterAll(rememberRuntimeCgroups(), 10_000);
