// The records the notifier makes carry the container's cgroup id (the inode of its cgroup v2
// directory, the key of every BPF cgroup filter) and its init's pid and mount namespaces, as read
// independently here from /proc and the cgroup tree, in the store and in `hookshim ps --json`.
import { afterAll, afterEach, expect } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { busyboxRootfs, runcBundle, RUNC } from "../support/bundle.ts";
import { NotifierProcess, expectRecordIds, kernelIds, killLiveNotifiers } from "../support/notifier.ts";
import { rememberRuntimeCgroups, removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { resetStore } from "../../lib/store/index.ts";

let counter = 0;
const uniq = (what: string) => `nid-${what}-${process.pid}-${++counter}`;
const tmp = mkdtempSync(join(tmpdir(), `notifier-ids-${process.pid}-`));
const parent = `/hookshim-test-notifier-ids-${process.pid}`;
const runcRoot = join(tmp, "runc-root");
const store = uniq("store");
afterEach(killLiveNotifiers);
afterAll(async () => {
  await killLiveNotifiers();
  const list = Bun.spawnSync([RUNC, "--root", runcRoot, "list", "-q"]);
  for (const id of list.stdout.toString().split("\n").filter(Boolean)) Bun.spawnSync([RUNC, "--root", runcRoot, "delete", "--force", id]);
  removeGroupEverywhere(parent);
  resetStore(store);
  rmSync(tmp, { recursive: true, force: true });
});

describeNeeds(["root", "fanotify", "runc", "busybox", "cgroup2"], "notifier records: cgroup id and namespaces", () => {
  needs("root")("runc create --pid-file: the add's record has the container's cgroup id, pidns and mntns", async () => {
    const n = new NotifierProcess(store);
    await n.start();
    const id = uniq("c");
    const rootfs = busyboxRootfs(join(tmp, id + "-fs"));
    const bundle = runcBundle(tmp, id, rootfs, ["sleep", "1000"], `${parent}/${id}`);
    const pidFile = join(tmp, `${id}.pid`);
    const created = Bun.spawnSync([RUNC, "--root", runcRoot, "create", "--bundle", bundle, "--pid-file", pidFile, id], { stdio: ["ignore", "ignore", "ignore"] });
    expect(created.exitCode).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await n.waitFor(() => n.of(id, "add").length === 1, "add");
    expect(n.of(id, "add")[0]!.cgroup).toBe(kernelIds(pid).cgroupDir);
    expect(kernelIds(pid).cgroupDir.endsWith(`${parent}/${id}`)).toBe(true);
    expectRecordIds(store, id, pid);
    Bun.spawnSync([RUNC, "--root", runcRoot, "kill", id, "KILL"]);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    Bun.spawnSync([RUNC, "--root", runcRoot, "delete", "--force", id]);
  });
});

describeNeeds(["root", "fanotify", "podman", "busybox", "cgroup2"], "notifier records with podman", () => {
  needs("root")("podman run -d (conmon, runc): the record has the container's cgroup id, pidns and mntns", async () => {
    const n = new NotifierProcess(store);
    await n.start();
    const name = uniq("pod");
    const rootfs = busyboxRootfs(join(tmp, name + "-fs"));
    const p = Bun.spawnSync(["podman", "--cgroup-manager=cgroupfs", "--runtime=runc", "run", "-d", "--network=none", "--name", name,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--rootfs", rootfs, "sleep", "1000"], { stdout: "pipe", stderr: "pipe" });
    try {
      expect(p.stderr.toString()).toBe("");
      expect(p.exitCode).toBe(0);
      const id = p.stdout.toString().trim();
      await n.waitFor(() => n.of(id, "add").length === 1, "podman add");
      expectRecordIds(store, id, n.of(id, "add")[0]!.pid);
    } finally {
      Bun.spawnSync(["podman", "rm", "-f", "-t", "0", name]);
    }
  });
});

describeNeeds(["root", "fanotify", "containerd", "ctr", "busybox", "cgroup2"], "notifier records with containerd", () => {
  needs("root")("ctr run -d through a private containerd: the record has the container's cgroup id, pidns and mntns", async () => {
    const d = join(tmp, uniq("ctrd"));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "config.toml"), `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n`);
    const sock = join(d, "c.sock");
    const ctr = (...args: string[]) => Bun.spawnSync(["ctr", "--address", sock, ...args], { stdout: "pipe", stderr: "pipe" });
    const daemon = Bun.spawn(["containerd", "--config", join(d, "config.toml"), "--root", join(d, "root"), "--state", join(d, "state"), "--address", sock], { stdout: "ignore", stderr: "ignore" });
    const id = uniq("ctr");
    try {
      for (let i = 0; i < 200 && !ctr("version").success; i++) await Bun.sleep(50);
      const n = new NotifierProcess(store);
      await n.start();
      const r = ctr("run", "-d", "--runc-binary", RUNC, "--env", "PATH=/bin", "--rootfs", busyboxRootfs(join(tmp, id + "-fs")), id, "sleep", "1000");
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
      await n.waitFor(() => n.of(id, "add").length === 1, "containerd add");
      expectRecordIds(store, id, n.of(id, "add")[0]!.pid);
    } finally {
      ctr("task", "kill", "-s", "KILL", id);
      for (let i = 0; i < 100 && !ctr("task", "delete", id).success; i++) await Bun.sleep(50);
      ctr("container", "rm", id);
      daemon.kill();
      await daemon.exited;
    }
  });
});

// podman and containerd leave /libpod_parent and /default behind; registered last so it runs after the clean-up above
afterAll(rememberRuntimeCgroups(), 10_000);
