// `hookshim ps` lists the store's records and the running containers the cgroup registry finds: a
// busybox bundle run detached by runc (a runc root of the test's own, a cgroupsPath under the test's
// own parent, named with a 64-hex id so the registry recognises it) shows up with source "registry"
// until the store has a record of it. The store is the test's own, in a bpffs mounted for this file.
// Cleaned up with runc delete -f, rmdir of the parent cgroups and store reset.
import { afterAll, afterEach, beforeAll, expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

import { ensureBpffs } from "../../lib/bpf/index.ts";
import { umount } from "../../lib/sys/index.ts";
import { newContainerRecord, openStore, resetStore, storeDir, type Store } from "../../lib/store/index.ts";
import { describeNeeds, needs, which } from "../support/prereq.ts";
import { busyboxRootfs, runcBundle } from "../support/bundle.ts";
import { removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";

const BUN = process.execPath;
const CLI = join(import.meta.dir, "../../lib/cli/main.ts");

let tmp = "";
let bpffs = "";
let counter = 0;
const runcRoot = () => join(tmp, "runc-root");
const parents: string[] = [];
const stores: string[] = [];
const opened: Store[] = [];

function runc(...args: string[]) {
  // stdio to files: a detached container's init inherits them, a pipe would never close
  const err = join(tmp, `runc-${++counter}.err`);
  const r = Bun.spawnSync([which("runc")!, "--root", runcRoot(), ...args], { stdin: "ignore", stdout: Bun.file(join(tmp, `runc-${counter}.out`)), stderr: Bun.file(err) });
  return { code: r.exitCode, err: readFileSync(err, "utf8") };
}

function busyboxBundle(id: string, cgroupsPath: string): string {
  return runcBundle(tmp, id.slice(0, 12), busyboxRootfs(join(tmp, id.slice(0, 12))), ["sleep", "60"], cgroupsPath);
}

function newStoreName(): string {
  const name = `hookshim-test-ps-${process.pid}-${++counter}`;
  stores.push(name);
  return name;
}

async function ps(store: string, ...args: string[]): Promise<{ rc: number; out: string; err: string }> {
  const p = Bun.spawn([BUN, CLI, "--store", store, "ps", ...args], { env: { ...process.env, HOOKSHIM_BPFFS: bpffs }, stdout: "pipe", stderr: "pipe" });
  const [out, err, rc] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { rc, out, err };
}

const jsonRows = (out: string) => out.split("\n").filter(Boolean).map((l) => JSON.parse(l));

describeNeeds(["root", "btf", "cgroup2", "runc", "busybox"], "ps with runc and the store", () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "hookshim-ps-e2e-"));
    bpffs = join(tmp, "bpffs");
    mkdirSync(bpffs);
    ensureBpffs(bpffs);
  });

  afterEach(() => {
    const list = Bun.spawnSync([which("runc")!, "--root", runcRoot(), "list", "-q"]);
    for (const id of list.stdout.toString().split("\n").filter(Boolean)) runc("delete", "-f", id);
    // runc removes the container's cgroups (v2 and v1); the parents are ours
    for (const parent of parents.splice(0)) removeGroupEverywhere(parent);
    for (const s of opened.splice(0)) s.close();
    for (const name of stores.splice(0)) resetStore(name, { bpffs });
  });

  afterAll(() => {
    if (!tmp) return;
    try {
      umount(bpffs);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  needs("root")("ps --json lists a store record and a running runc container only the registry knows", async () => {
    const id = randomBytes(32).toString("hex");
    const parent = `/hookshim-test-ps-${process.pid}`;
    parents.push(parent);
    const bundle = busyboxBundle(id, `${parent}/${id}`);
    const started = runc("run", "-d", "--bundle", bundle, id);
    expect(started.err).toBe("");
    expect(started.code).toBe(0);
    const state = JSON.parse(Bun.spawnSync([which("runc")!, "--root", runcRoot(), "state", id]).stdout.toString());
    expect(state.pid).toBeGreaterThan(0);

    // no store yet: registry rows only, and ps does not create the store
    const absent = newStoreName();
    const none = await ps(absent, "--json");
    expect(none.err).toBe("");
    expect(none.rc).toBe(0);
    expect(jsonRows(none.out).find((r) => r.id === id)).toMatchObject({ id, pid: state.pid, state: "running", source: "registry" });
    expect(existsSync(storeDir(absent, bpffs))).toBe(false);

    // a store with a record of another container: both
    const name = newStoreName();
    const store = openStore(name, { bpffs });
    opened.push(store);
    const recId = `ps-e2e-${process.pid}`;
    store.putContainer(newContainerRecord({ id: recId, name: "rec", pid: 0, state: "stopped", exitCode: 7, runtime: "runc", stoppedNs: 1n }));
    const both = await ps(name, "--json");
    expect(both.err).toBe("");
    expect(both.rc).toBe(0);
    const rows = jsonRows(both.out);
    expect(rows[0]).toMatchObject({ id: recId, name: "rec", state: "stopped", exitCode: 7, signal: null, runtime: "runc", source: "hook" });
    const live = rows.filter((r) => r.id === id);
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ id, pid: state.pid, state: "running", source: "registry", cgroup: `${parent}/${id}`, exitCode: null, signal: null });
    expect(typeof live[0].cgroupId).toBe("number");
    expect(live[0].cgroupId).toBeGreaterThan(0);
    expect(live[0].pidns).toBeGreaterThan(0);

    const table = await ps(name);
    expect(table.rc).toBe(0);
    const lines = table.out.split("\n");
    expect(lines[1]).toMatch(new RegExp(`^${recId.slice(0, 12)}\\s+rec\\s+-\\s+stopped\\s+7\\s+runc\\s+`));
    expect(lines.find((l) => l.startsWith(id.slice(0, 12)))).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+-\\s+${state.pid}\\s+running\\s+-\\s+`));

    // once the store has a record of the container, ps shows the record, not a registry row
    store.putContainer(newContainerRecord({ id, name: "sleeper", pid: state.pid, state: "running", runtime: "runc", source: "shim" }));
    const recorded = jsonRows((await ps(name, "--json")).out).filter((r) => r.id === id);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ id, name: "sleeper", pid: state.pid, source: "shim" });
  }, scaled(60_000));
});
