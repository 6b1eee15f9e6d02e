// The notifier against real runtimes. Its marks are global: other test files exec runc too, so every
// assertion filters on this file's container ids.
import { expect, afterAll, afterEach } from "bun:test";
import { mkdtempSync, mkdirSync, copyFileSync, symlinkSync, readFileSync, writeFileSync, rmSync, chmodSync, chownSync, renameSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { resetStore, openExistingStore } from "../../lib/store/index.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";
import { NotifierProcess, killLiveNotifiers } from "../support/notifier.ts";
import { burst, scaled } from "../support/time.ts";


const RUNC = "/usr/sbin/runc";
let counter = 0;
const uniq = (what: string) => `ntf-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `notifier-e2e-${process.pid}-`));
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(tmp, { recursive: true, force: true });
});

afterEach(killLiveNotifiers);

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

  needs("root")("runc upgraded under the notifier (the new file renamed over it): containers started afterwards are still reported", async () => {
    // a private copy, so the upgrade touches nothing else on the host
    const dir = join(tmp, uniq("runc-bin"));
    mkdirSync(dir);
    const bin = join(dir, "runc");
    copyFileSync(RUNC, bin);
    chmodSync(bin, 0o755);
    const n = await notifier(["--runtime-path", bin]);
    copyFileSync(RUNC, `${bin}.dpkg-new`);
    chmodSync(`${bin}.dpkg-new`, 0o755);
    renameSync(`${bin}.dpkg-new`, bin);
    await n.waitFor(() => n.stderr.some((l) => l.includes(`${bin} replaced: marked anew`)), "the new runc marked");
    const id = uniq("up");
    const bundle = runcBundle(id, ["sh", "-c", "exit 3"]);
    const code = await Bun.spawn([bin, "--root", runcRoot, "run", "--bundle", bundle, id], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }).exited;
    expect(code).toBe(3);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    expect(n.of(id).map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
    expect(n.of(id, "remove")[0]).toMatchObject({ exitCode: 3 });
    await runc("delete", id);
  }, scaled(60_000));

  const BURST = burst(200);
  needs("root")(`${BURST} containers, 8 at a time: exactly ${BURST} of each event`, async () => {
    const n = await notifier();
    const ids = Array.from({ length: BURST }, () => uniq("m"));
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
    await n.waitFor(() => count("remove") >= BURST, `${BURST} removes`, 60_000);
    expect([count("precreate"), count("add"), count("remove")]).toEqual([BURST, BURST, BURST]);
    expect(n.events.filter((e) => mine.has(e.id) && e.type === "remove" && e.exitCode !== 0)).toEqual([]);
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
    expect(n2.errors.find((e) => e.id === id2)!.error).toContain("not a pid (8 bytes)");
    expect(n2.of(id2, "precreate").length).toBe(1);
    expect(n2.of(id2, "add")).toEqual([]);
    // still alive and working
    const id3 = uniq("ok");
    expect((await runc("run", "--bundle", runcBundle(id3, ["true"]), id3)).code).toBe(0);
    await n.waitFor(() => n.of(id3, "remove").length === 1, "remove after errors");
    await runc("delete", "--force", id3);
  }, scaled(60_000));
});

// Issue 15 items 7-10: any user may exec runc with any argv. uid 65534 plays the untrusted user.
const NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"];
/** A directory uid 65534 may write, inside this file's tmp. */
function nobodyDir(): string {
  const d = join(tmp, uniq("nobody"));
  mkdirSync(d, { recursive: true });
  chmodSync(tmp, 0o755);
  chownSync(d, 65534, 65534);
  return d;
}
function asNobody(script: string): ReturnType<typeof Bun.spawn> {
  return Bun.spawn([...NOBODY, "/bin/sh", "-c", script], { stdin: "ignore", stdout: "ignore", stderr: "ignore", cwd: "/" });
}
/** A bundle whose config.json is a FIFO: a runtime that opens it blocks until someone writes it. */
function fifoBundle(id: string, owner = 0): { bundle: string; config: string } {
  const bundle = runcBundle(id, ["sleep", "1000"]);
  const config = readFileSync(join(bundle, "config.json"), "utf8");
  rmSync(join(bundle, "config.json"));
  expect(Bun.spawnSync(["mkfifo", join(bundle, "config.json")]).exitCode).toBe(0);
  chownSync(bundle, owner, owner);
  chownSync(join(bundle, "config.json"), owner, owner);
  return { bundle, config };
}

describeNeeds(["root", "fanotify", "runc", "busybox"], "notifier and untrusted users", () => {
  needs("root")("7: uid 65534 looping runc create leaves no record and no event; a real container still starts and is recorded", async () => {
    const n = await notifier();
    const d = nobodyDir();
    const prefix = uniq("x");
    // runc fails for this user; each exec is still a claim the notifier sees
    const loopStart = Date.now();
    const loop = asNobody(`for i in $(seq 1 300); do ${RUNC} --root ${d}/root create --bundle ${d} --pid-file ${d}/p$i ${prefix}-$i; done; true`);
    expect(await loop.exited).toBe(0);
    const id = uniq("real");
    expect((await runc("run", "-d", "--bundle", runcBundle(id, ["sleep", "1000"]), "--pid-file", join(tmp, `${id}.pid`), id)).code).toBe(0);
    await n.waitFor(() => n.of(id, "add").length === 1, "add of the real container");
    const store = openExistingStore(n.store);
    try {
      expect(store.containers().filter((r) => r.id.startsWith(prefix))).toEqual([]);
      expect(store.getContainer(id)).toMatchObject({ id, pid: Number(readFileSync(join(tmp, `${id}.pid`), "utf8")), state: "running" });
    } finally {
      store.close();
    }
    expect(n.events.filter((e) => e.id.startsWith(prefix))).toEqual([]);
    // its errors are rate-limited: at most 20 a minute reach the log (300 execs are far more)
    const minutes = Math.ceil((Date.now() - loopStart) / 60_000);
    expect(n.errors.filter((e) => e.id.startsWith(prefix) || e.id === "").length).toBeLessThanOrEqual(20 * (minutes + 1));
    await runc("delete", "--force", id);
  }, scaled(90_000));

  needs("root")("8: a FIFO config.json, a pid file that is a symlink to /etc/shadow, /dev/zero: no hang, no quote, SIGTERM still ends it", async () => {
    const n = await notifier(["--pid-wait-ms", "5000"]);
    const d = nobodyDir();
    const { bundle } = fifoBundle(uniq("fifo"), 65534);
    const fifoId = uniq("f");
    // runc itself blocks opening the FIFO: it stays alive, as does the notifier's wait for it
    const blocked = asNobody(`exec ${RUNC} --root ${d}/root create --bundle ${bundle} --pid-file ${d}/fifo.pid ${fifoId}`);
    cleanups.push(() => blocked.kill(9));
    const linkId = uniq("l");
    symlinkSync("/etc/shadow", join(d, "shadow.pid"));
    const zeroId = uniq("z");
    await asNobody(`${RUNC} --root ${d}/root create --bundle ${d} --pid-file ${d}/shadow.pid ${linkId}; ${RUNC} --root ${d}/root create --bundle ${d} --pid-file /dev/zero ${zeroId}`).exited;
    await n.waitFor(() => n.stderr.some((l) => l.includes("shadow.pid")) && n.stderr.some((l) => l.includes("/dev/zero")), "errors about the pid files");
    const shadowHead = readFileSync("/etc/shadow", "utf8").slice(0, 12);
    expect(n.stderr.join("\n")).not.toContain(shadowHead);
    expect(n.stderr.find((l) => l.includes("shadow.pid"))).toContain("is a symbolic link: not followed");
    expect(n.stderr.find((l) => l.includes("/dev/zero"))).toContain("is not a regular file");
    expect(n.stderr.some((l) => l.includes(`${bundle}/config.json: is not a regular file`))).toBe(true);
    // still answering runtime execs and following containers
    const id = uniq("ok");
    expect((await runc("run", "--bundle", runcBundle(id, ["true"]), "--pid-file", join(tmp, `${id}.pid`), id)).code).toBe(0);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove of a real container");
    await runc("delete", "--force", id);
    // and it stops on SIGTERM while the FIFO runtime still waits
    const t0 = Date.now();
    const code = await Promise.race([n.kill("SIGTERM"), Bun.sleep(scaled(10_000)).then(() => "hung")]);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(scaled(5000));
    blocked.kill(9);
  }, scaled(90_000));

  needs("root")("9: runc create <a real container's id> by another user neither cancels its pid wait nor replaces its record", async () => {
    const n = await notifier();
    const id = uniq("victim");
    // root's create blocks on its FIFO config.json: its pid wait is in flight
    const { bundle, config } = fifoBundle(id);
    const pidFile = join(tmp, `${id}.pid`);
    const create = runc("create", "--bundle", bundle, "--pid-file", pidFile, id);
    await n.waitFor(() => n.of(id, "precreate").length === 1, "root's precreate");
    // uid 65534 claims the same id, then writes its own process into its pid file
    const d = nobodyDir();
    await asNobody(`${RUNC} --root ${d}/root create --bundle ${d} --pid-file ${d}/p ${id}; sleep 60 >/dev/null 2>&1 & echo $! > ${d}/p`).exited;
    await Bun.sleep(300);
    // the real create goes on and its container is added with its own pid
    writeFileSync(join(bundle, "config.json"), config);
    expect((await create).code).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await n.waitFor(() => n.of(id, "add").length >= 1, "add of the real container");
    await Bun.sleep(300);
    expect(n.of(id, "add").map((e) => e.pid)).toEqual([pid]);
    expect(n.of(id, "precreate").length).toBe(1);
    const store = openExistingStore(n.store);
    try {
      expect(store.getContainer(id)).toMatchObject({ id, pid });
    } finally {
      store.close();
    }
    await runc("delete", "--force", id);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove of the real container");
    // ids that are not runc ids, and terminal escapes, never reach the output
    const evil = `${uniq("e")}\x1b]0;pwned\x07`;
    await asNobody(`${RUNC} create --bundle ${d} '${evil}'`).exited;
    await Bun.sleep(200);
    expect([...n.events, ...n.errors].some((e) => JSON.stringify(e).includes("pwned") && e.id !== "")).toBe(false);
    expect(n.stderr.join("\n")).not.toContain("\x1b");
  }, scaled(90_000));

  needs("root")("10: with few fds, waits are capped and no runtime exec is denied", async () => {
    // 120 fds for the whole notifier, fewer than it would need for a pidfd per wait: uid 65534 then
    // holds 80 runtimes blocked on FIFOs, each a claim (before the caps this ran it out of fds, and
    // fanotify denied every runtime exec from then on)
    const n = new NotifierProcess(uniq("store"));
    cleanups.push(() => resetStore(n.store));
    await n.start([], ["prlimit", "--nofile=120:120", "--"]);
    const d = nobodyDir();
    const blocked: ReturnType<typeof Bun.spawn>[] = [];
    for (let i = 0; i < 80; i++) {
      const { bundle } = fifoBundle(uniq("nf"), 65534);
      blocked.push(asNobody(`exec ${RUNC} --root ${d}/root create --bundle ${bundle} --pid-file ${d}/nf${i}.pid ${uniq("nf")}`));
    }
    cleanups.push(() => blocked.forEach((b) => b.kill(9)));
    await Bun.sleep(scaled(1000));
    // every one of those execs ran (none was denied): they are all still blocked in runc, not failed
    expect(blocked.filter((b) => b.exitCode !== null)).toEqual([]);
    // and root's runtimes run and are followed
    for (let i = 0; i < 5; i++) {
      const id = uniq("after");
      const r = await runc("run", "--bundle", runcBundle(id, ["true"]), "--pid-file", join(tmp, `${id}.pid`), id);
      expect(r).toEqual({ code: 0, err: "" });
      await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
      await runc("delete", "--force", id);
    }
    blocked.forEach((b) => b.kill(9));
  }, scaled(120_000));
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
