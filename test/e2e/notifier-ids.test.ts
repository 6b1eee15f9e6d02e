// The records the notifier makes carry the container's cgroup id (the inode of its cgroup v2
// directory, the key of every BPF cgroup filter) and its init's pid and mount namespaces, as read
// independently here from /proc and the cgroup tree, in the store and in `hookshim ps --json`.
import { afterAll, afterEach, expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { describeNeeds, needs } from "../support/prereq.ts";
import { busyboxRootfs, runcBundle, RUNC } from "../support/bundle.ts";
import { BUN, CLI } from "../support/build.ts";
import { NotifierProcess, killLiveNotifiers } from "../support/notifier.ts";
import { removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import { openExistingStore, resetStore } from "../../lib/store/index.ts";

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

/** What the kernel says about a running process, read without hookshim's helpers. */
function kernelIds(pid: number): { cgroupDir: string; cgroupId: bigint; pidns: number; mntns: number } {
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))!;
  const cgroupDir = join(cgroupMount().mountpoint, line.slice(3));
  return {
    cgroupDir,
    cgroupId: statSync(cgroupDir, { bigint: true }).ino,
    pidns: statSync(`/proc/${pid}/ns/pid`).ino,
    mntns: statSync(`/proc/${pid}/ns/mnt`).ino,
  };
}

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
    const want = kernelIds(pid);
    // the container's own cgroup, not the host's or the notifier's
    expect(n.of(id, "add")[0]!.cgroup).toBe(want.cgroupDir);
    expect(want.cgroupDir.endsWith(`${parent}/${id}`)).toBe(true);
    expect(want.pidns).not.toBe(statSync("/proc/self/ns/pid").ino);

    const s = openExistingStore(store);
    const rec = s.getContainer(id)!;
    s.close();
    expect(rec).toMatchObject({ pid, source: "notifier", state: "running", cgroupPath: want.cgroupDir });
    expect(rec.cgroupId).toBe(want.cgroupId);
    expect(rec.pidnsIno).toBe(want.pidns);
    expect(rec.mntnsIno).toBe(want.mntns);

    const ps = Bun.spawnSync([BUN, CLI, "--store", store, "ps", "--json"], { stdout: "pipe", stderr: "pipe" });
    expect(ps.exitCode).toBe(0);
    const row = ps.stdout.toString().trim().split("\n").map((l) => JSON.parse(l)).find((r) => r.id === id);
    expect(row).toBeDefined();
    expect(BigInt(row.cgroupId)).toBe(want.cgroupId);
    expect([row.pidns, row.mntns]).toEqual([want.pidns, want.mntns]);

    Bun.spawnSync([RUNC, "--root", runcRoot, "kill", id, "KILL"]);
    await n.waitFor(() => n.of(id, "remove").length === 1, "remove");
    Bun.spawnSync([RUNC, "--root", runcRoot, "delete", "--force", id]);
  });
});
