// The engines on systemd's cgroup driver, as systemd hosts run them (the vm-systemd lane): podman with
// no --cgroup-manager flag, containerd's runc with SystemdCgroup (ctr --runc-systemd-cgroup, the
// option CRI's `SystemdCgroup = true` sets), docker with native.cgroupdriver=systemd. Each container
// lives in a scope systemd made; hookshim's hooks find it, attach the device filter there, record the
// exit code, and leave the scope to systemd. Then container-notifier.service under systemd.
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { containerFromCgroupPath } from "../../lib/containers/index.ts";
import { resetStore, type LifecycleEvent } from "../../lib/store/index.ts";
import { importBusyboxImage, privateDaemonConfig, startDockerd, type Dockerd } from "../support/dockerd.ts";
import { busyboxRootfs, hookshim, hookshimExecutable, run, runcBundle, storeEvents, writeTestConfig, DENY_DEV_ZERO } from "../e2e/hooks-harness.ts";
import { describeNeeds, needs } from "../support/prereq.ts";

let counter = 0;
const uniq = (what: string) => `hsen-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `systemd-engines-${process.pid}-`));
const store = uniq("store");
const config = join(tmp, "hookshim.json");
const hooksDir = join(tmp, "hooks.d");
const cleanups: (() => unknown)[] = [];
let exe = "";
let rootfs = "";

function events(id: string): LifecycleEvent[] {
  try {
    return storeEvents(store, id);
  } catch {
    return []; // no store until the first hook ran
  }
}

async function stoppedEvents(id: string, ms = 60_000): Promise<LifecycleEvent[]> {
  const end = Date.now() + ms;
  while (!events(id).some((e) => e.type === "stopped")) {
    if (Date.now() > end) throw new Error(`no stopped event for ${id}: ${JSON.stringify(events(id))}`);
    await Bun.sleep(100);
  }
  return events(id);
}

/** The cgroup path relative to the mount, from an event's cgroup directory. */
const relative = (dir: unknown) => String(dir).slice(cgroupMount().mountpoint.length);

function journal(unit: string, since: string): string {
  return Bun.spawnSync(["journalctl", "-q", "-o", "cat", "-u", unit, "--since", since], { stdout: "pipe" }).stdout.toString();
}

function systemctl(...args: string[]): string {
  return Bun.spawnSync(["systemctl", ...args], { stdout: "pipe", stderr: "pipe" }).stdout.toString().trim();
}

describeNeeds(["root", "systemd", "runc", "busybox", "bpffs"], "engines on systemd's cgroup driver", () => {
  beforeAll(async () => {
    const built = hookshimExecutable(tmp);
    if (!built.compiled) console.warn(`systemd engines: compiled build failed (${built.buildError}); using ${built.path}`);
    exe = built.path;
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: `/hookshim-test-engines-${process.pid}`, rules: [DENY_DEV_ZERO] });
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, "utf8")), hooksDirs: [hooksDir] }));
    const r = await hookshim(["--config", config, "install", "--hooks-dir", hooksDir, "--binary", exe]);
    if (r.code !== 0) throw new Error(`install --hooks-dir: ${r.err}`);
  }, 600_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    resetStore(store);
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  needs("podman")("podman with its default (systemd) cgroup manager: libpod-<id>.scope, the device filter, exit code 3", async () => {
    const cidfile = join(tmp, uniq("cid"));
    const name = uniq("podman");
    cleanups.push(() => Bun.spawnSync(["podman", "rm", "-f", "--ignore", name]));
    const p = await run(["podman", "--runtime", "runc", "--hooks-dir", hooksDir, "run", "--rm", "--name", name, "--network", "none", "--cidfile", cidfile,
      "--rootfs", rootfs, "sh", "-c", "head -c 1 /dev/zero >/dev/null && echo READ; exit 3"]);
    expect(p.out).not.toContain("READ");
    expect(p.code).toBe(3);
    const id = readFileSync(cidfile, "utf8").trim();
    const evs = await stoppedEvents(id);
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    expect(evs[1]).toMatchObject({ exitCode: 3, source: "hook" });
    const group = relative(evs[0]!.cgroup);
    expect(group).toMatch(new RegExp(`/libpod-${id}\\.scope(/container)?$`));
    expect(containerFromCgroupPath(group)).toMatchObject({ runtime: "podman", containerId: id });
    await Bun.sleep(500);
    expect(existsSync(String(evs[0]!.cgroup))).toBe(false); // systemd removed the scope, not hookshim
  }, 300_000);

  needs("containerd", "ctr")("containerd's runc with SystemdCgroup: the shim injects the hooks, the scope is system.slice/hstest-<id>.scope, exit code 5", async () => {
    const d = join(tmp, "containerd");
    mkdirSync(d);
    writeFileSync(join(d, "config.toml"), `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n`);
    const sock = join(d, "c.sock");
    const daemon = Bun.spawn(["containerd", "--config", join(d, "config.toml"), "--root", join(d, "root"), "--state", join(d, "state"), "--address", sock],
      { stdout: "ignore", stderr: "ignore", env: { ...process.env, HOOKSHIM_CONFIG: config } });
    cleanups.push(async () => {
      daemon.kill("SIGTERM");
      await daemon.exited;
    });
    for (let i = 0; i < 600 && !Bun.spawnSync(["ctr", "--address", sock, "version"]).success; i++) await Bun.sleep(100);
    const shim = join(tmp, "hookshim-runtime");
    if (!existsSync(shim)) writeFileSync(shim, `#!/bin/sh\nHOOKSHIM_CONFIG=${config} exec ${exe} runtime "$@"\n`, { mode: 0o755 });
    const id = uniq("ctr");
    cleanups.push(() => Bun.spawnSync(["ctr", "--address", sock, "container", "rm", id]));
    const c = await run(["ctr", "--address", sock, "run", "--rm", "--runc-binary", shim, "--runc-systemd-cgroup", "--cgroup", `system.slice:hstest:${id}`,
      "--env", "PATH=/bin", "--rootfs", rootfs, id, "sh", "-c", "exit 5"]);
    expect(c.err).toBe("");
    expect(c.code).toBe(5);
    const evs = await stoppedEvents(id);
    expect(relative(evs[0]!.cgroup)).toBe(`/system.slice/hstest-${id}.scope`);
    expect(evs[1]).toMatchObject({ type: "stopped", exitCode: 5, source: "hook" });
  }, 300_000);

  needs("dockerd")("docker with native.cgroupdriver=systemd: system.slice/docker-<id>.scope, named docker, exit code 8", async () => {
    const bin = join(tmp, "docker-bin");
    mkdirSync(bin);
    // the config rides in the runtime's command line: where systemd runs containerd, dockerd uses that
    // containerd (not one it starts itself), so dockerd's environment never reaches the runtime
    const runtime = join(bin, "hookshim-runtime");
    writeFileSync(runtime, `#!/bin/sh\nHOOKSHIM_CONFIG=${config} exec ${exe} runtime "$@"\n`, { mode: 0o755 });
    const dir = join(tmp, "dockerd");
    let dockerd: Dockerd | undefined;
    cleanups.push(async () => {
      if (!dockerd) return;
      const ids = dockerd.docker(["ps", "-aq"]).out.split("\n").filter(Boolean);
      if (ids.length) dockerd.docker(["rm", "-f", ...ids]);
      await dockerd.stop();
    });
    dockerd = await startDockerd(dir, {
      env: { HOOKSHIM_CONFIG: config },
      writeConfig: (file) => {
        writeFileSync(file, JSON.stringify(privateDaemonConfig(dir, { "exec-opts": ["native.cgroupdriver=systemd"] })));
        const r = Bun.spawnSync([exe, "install", "--docker-config", file, "--write", "--binary", runtime], { stderr: "pipe" });
        if (r.exitCode !== 0) throw new Error(`install --docker-config: ${r.stderr}`);
      },
    });
    const image = `hstest-busybox-${process.pid}`;
    importBusyboxImage(dockerd, image);
    const name = uniq("docker");
    const r = dockerd.docker(["run", "--runtime", "hookshim", "--network", "none", "--name", name, image, "sh", "-c", "exit 8"], { timeoutMs: 300_000 });
    expect(r.code).toBe(8);
    const id = dockerd.docker(["inspect", "--format", "{{.Id}}", name]).out.trim();
    const evs = await stoppedEvents(id);
    const group = relative(evs[0]!.cgroup);
    expect(group).toBe(`/system.slice/docker-${id}.scope`);
    expect(containerFromCgroupPath(group)).toMatchObject({ runtime: "docker", containerId: id });
    expect(evs[1]).toMatchObject({ type: "stopped", exitCode: 8, source: "hook" });
  }, 600_000);

  needs("root")("container-notifier.service: installed, started with systemctl, restarted after kill -9, survivors reported once and followed, logs in the journal", async () => {
    const since = new Date(Date.now() - 1000).toISOString().replace("T", " ").slice(0, 19);
    const inst = await run([exe, "install", "--notifier-service", "--binary", exe]);
    expect(inst.code).toBe(0);
    cleanups.push(() => {
      Bun.spawnSync(["systemctl", "stop", "container-notifier"]);
      Bun.spawnSync([exe, "install", "--notifier-service", "--uninstall"]);
      Bun.spawnSync(["systemctl", "daemon-reload"]);
    });
    expect(Bun.spawnSync(["systemctl", "start", "container-notifier"]).exitCode).toBe(0);
    // bounded in time, not in tries: under TCG one journalctl takes seconds
    const until = async (pred: () => boolean, what: string, ms = 120_000) => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; journal: ${journal("container-notifier", since).slice(-2500)}`);
        await Bun.sleep(500);
      }
    };
    await until(() => journal("container-notifier", since).includes("watching"), "the notifier to start");

    // a container that exits while the service watches: precreate, add, remove with its exit code
    // runc's default root, made beforehand as on any host where runc has run once (the notifier does
    // not yet follow a `runc run` whose state directory runc itself creates)
    const runcRoot = "/run/runc";
    mkdirSync(runcRoot, { recursive: true, mode: 0o700 });
    const id = uniq("svc");
    const bundle = runcBundle(tmp, id, rootfs, ["sh", "-c", "exit 6"], `/hookshim-test-engines-${process.pid}/${id}`);
    expect((await run(["runc", "--root", runcRoot, "run", "--bundle", bundle, id])).code).toBe(6);
    await until(() => journal("container-notifier", since).split("\n").some((l) => l.includes(`"id":"${id}"`) && l.includes('"type":"remove"')), "the remove event in the journal");
    expect(journal("container-notifier", since)).toContain('"exitCode":6');

    // a container running across the restart: reported once by the restarted notifier
    const survivor = uniq("survivor");
    const sb = runcBundle(tmp, survivor, rootfs, ["sleep", "1000"], `/hookshim-test-engines-${process.pid}/${survivor}`);
    expect(await Bun.spawn(["runc", "--root", runcRoot, "run", "--detach", "--bundle", sb, survivor], { stdio: ["ignore", "ignore", "ignore"] }).exited).toBe(0);
    cleanups.push(() => Bun.spawnSync(["runc", "--root", runcRoot, "delete", "-f", survivor]));
    const adds = () => journal("container-notifier", since).split("\n").filter((l) => l.includes(`"id":"${survivor}"`) && l.includes('"type":"add"')).length;
    await until(() => adds() === 1, "the first instance's add of the running container");
    const firstPid = systemctl("show", "-p", "MainPID", "--value", "container-notifier");
    expect(Number(firstPid)).toBeGreaterThan(0);
    process.kill(Number(firstPid), "SIGKILL");
    await until(() => {
      const pid = systemctl("show", "-p", "MainPID", "--value", "container-notifier");
      return pid !== firstPid && Number(pid) > 0 && systemctl("is-active", "container-notifier") === "active";
    }, "systemd to restart the notifier");
    expect(Number(systemctl("show", "-p", "NRestarts", "--value", "container-notifier"))).toBeGreaterThanOrEqual(1);
    await until(() => journal("container-notifier", since).split("\n").filter((l) => l.includes("watching")).length >= 2, "the restarted notifier to watch");
    // the dead notifier's reports are pinned in the store: the restarted one reports the survivor
    // no second time, and still follows it to its end
    await Bun.sleep(5000);
    expect(adds()).toBe(1);
    expect((await run(["runc", "--root", runcRoot, "kill", survivor, "KILL"])).code).toBe(0);
    await until(() => journal("container-notifier", since).split("\n").some((l) => l.includes(`"id":"${survivor}"`) && l.includes('"type":"remove"') && l.includes('"signal":9')), "the restarted notifier's remove of the survivor");
  }, 600_000);
});
