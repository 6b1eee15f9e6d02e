// `hookshim snapshot containers` and `top cgroups` against a real runc container: a busybox bundle run
// detached with a runc root of the test's own and a cgroupsPath under the test's own parent, named
// with a 64-hex id so the registry recognises it. Cleaned up with runc delete -f.
import { afterAll, afterEach, beforeAll, expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

import { describeNeeds, needs, which } from "../support/prereq.ts";
import { busyboxRootfs, runcBundle } from "../support/bundle.ts";
import { removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";

const BUN = process.execPath;
const CLI = join(import.meta.dir, "../../lib/cli/main.ts");

let tmp = "";
let counter = 0;
const runcRoot = () => join(tmp, "runc-root");
const parents: string[] = [];

function runc(...args: string[]) {
  // stdio to files: a detached container's init inherits them, a pipe would never close
  const r = Bun.spawnSync([which("runc")!, "--root", runcRoot(), ...args], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(tmp, `runc-${++counter}.err`)) });
  return { code: r.exitCode, err: readFileSync(join(tmp, `runc-${counter}.err`), "utf8") };
}

function busyboxBundle(id: string, cgroupsPath: string): string {
  return runcBundle(tmp, id.slice(0, 12), busyboxRootfs(join(tmp, id.slice(0, 12))), ["sleep", "1000"], cgroupsPath);
}

describeNeeds(["root", "cgroup2", "runc", "busybox"], "gadgets with runc", () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "hookshim-gadgets-e2e-"));
  });

  afterEach(async () => {
    const list = Bun.spawnSync([which("runc")!, "--root", runcRoot(), "list", "-q"]);
    for (const id of list.stdout.toString().split("\n").filter(Boolean)) runc("delete", "-f", id);
    // runc removes the container's cgroups (v2 and v1); the parents are ours
    for (const parent of parents.splice(0)) removeGroupEverywhere(parent);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  needs("root")("snapshot containers --output json lists a running runc container with its runtime and id", async () => {
    const id = randomBytes(32).toString("hex");
    const parent = `/hookshim-test-gadgets-e2e-${process.pid}-${++counter}`;
    parents.push(parent);
    const bundle = busyboxBundle(id, `${parent}/${id}`);
    const started = runc("run", "-d", "--bundle", bundle, id);
    expect(started.err).toBe("");
    expect(started.code).toBe(0);
    const state = JSON.parse(Bun.spawnSync([which("runc")!, "--root", runcRoot(), "state", id]).stdout.toString());

    const r = Bun.spawnSync([BUN, CLI, "--store", `hookshim-test-gadgets-e2e-${process.pid}`, "snapshot", "containers", "--output", "json", "--runtime-root", runcRoot()], {
      env: { ...process.env, HOOKSHIM_BPFFS: join(tmp, "no-bpffs") },
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const rows = r.stdout.toString().trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const row = rows.find((x) => x.containerId === id);
    expect(row).toMatchObject({ containerId: id, runtime: "runc", state: "running", bundle, cgroup: `${parent}/${id}` });
    expect(typeof row.cgroupId).toBe("number");
    expect(row.mntns).not.toBeNull();
    expect(state.pid).toBeGreaterThan(0);
    expect(row.pid).toBe(state.pid); // unrecorded: the init found in the container's cgroup

    // the filters: by id prefix, by runtime
    const byId = Bun.spawnSync([BUN, CLI, "snapshot", "containers", "-o", "columns=container,runtime", "-c", id.slice(0, 10), "--runtime-root", runcRoot()], {
      env: { ...process.env, HOOKSHIM_BPFFS: join(tmp, "no-bpffs") },
    });
    expect(byId.stdout.toString()).toBe(`CONTAINER    RUNTIME\n${id.slice(0, 12)} runc\n`);
    const otherRuntime = Bun.spawnSync([BUN, CLI, "snapshot", "containers", "-o", "json", "--runtime", "podman", "-c", id, "--runtime-root", runcRoot()], {
      env: { ...process.env, HOOKSHIM_BPFFS: join(tmp, "no-bpffs") },
    });
    expect(otherRuntime.stdout.toString()).toBe("");
    expect(otherRuntime.exitCode).toBe(0);
  }, scaled(60_000));
});
