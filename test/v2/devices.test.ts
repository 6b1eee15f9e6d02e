// Devices on a pure cgroup v2 host, where the runtime attaches an eBPF device program of its own to
// the container's group (runc and crun both do) and there is no v1 devices controller to fall back
// on. After prestart exactly one program may decide, hookshim's (the host's denies first, then the
// container's list), and what it decides, probed from inside the container, must be v1 semantics of
// the config's rules and the runtime's default devices, with the host's denies on top. `devices
// show` must read the program runc really attached, and the policy must survive `runc update` and
// `crun update`.
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cgroupMount } from "../../lib/cgroup/index.ts";
import {
  DevcgAccess, DEVICE_PROGRAM_NAME, Emulator, RUNC_ALLOWED_DEVICES, emulatorFromFilter, readDeviceFilters, type DeviceRule,
} from "../../lib/devices/index.ts";
import {
  DENY_DEV_ZERO, busyboxRootfs, hookshim, hookshimExecutable, removeRuncRun, run, runc, runcBundle, runcDetached, writeTestConfig,
  type HookshimExecutable,
} from "../e2e/hooks-harness.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { scaled } from "../support/time.ts";

let counter = 0;
const uniq = (what: string) => `v2d-${what}-${process.pid}-${++counter}`;

/** The nodes runc and crun create in every container's /dev. */
const NODES = [
  { name: "null", type: "c", major: 1, minor: 3 },
  { name: "zero", type: "c", major: 1, minor: 5 },
  { name: "full", type: "c", major: 1, minor: 7 },
  { name: "random", type: "c", major: 1, minor: 8 },
  { name: "urandom", type: "c", major: 1, minor: 9 },
  { name: "tty", type: "c", major: 5, minor: 0 },
] as const;

/**
 * Inside the container: "NAME R W" per node, 1 where the open got past the device cgroup (anything
 * but EPERM: /dev/tty without a controlling terminal gives ENXIO) and 0 on EPERM.
 */
const PROBE = `for d in ${NODES.map((n) => n.name).join(" ")}; do
  r=1; w=1
  case "$(head -c 0 /dev/$d 2>&1)" in *"not permitted"*) r=0;; esac
  case "$( (: > /dev/$d) 2>&1)" in *"not permitted"*) w=0;; esac
  echo "$d $r $w"
done`;

/** What v1 semantics of `rules` decide for each node: "NAME R W". */
function expected(rules: DeviceRule[]): string {
  const e = Emulator.fromRules(rules);
  return NODES.map((n) => `${n.name} ${+e.allows(n.type, n.major, n.minor, DevcgAccess.READ)} ${+e.allows(n.type, n.major, n.minor, DevcgAccess.WRITE)}`).join("\n");
}

describeNeeds(["root", "cgroup2-pure", "runc", "busybox", "btf"], "devices on pure cgroup v2", () => {
  const tmp = mkdtempSync(join(tmpdir(), `v2-devices-${process.pid}-`));
  const runcRoot = join(tmp, "runc-root");
  const crunRoot = join(tmp, "crun-root");
  const parent = `/hookshim-test-v2dev-${process.pid}`;
  const store = uniq("store");
  const config = join(tmp, "hookshim.json");
  let exe: HookshimExecutable;
  let rootfs: string;
  const cgroupDir = (id: string) => `${cgroupMount().mountpoint}${parent}/${id}`;
  /** The one program on the group, hookshim's, with the policy's deny of /dev/zero first; nothing of the runtime's. */
  const hookshimOnly = (id: string) => {
    const filters = readDeviceFilters(cgroupDir(id));
    expect(filters.map((f) => f.name)).toEqual([DEVICE_PROGRAM_NAME]);
    expect(filters[0]!.filter!.hostDenies).toEqual([{ type: "c", major: 1, minor: 5, access: DevcgAccess.READ | DevcgAccess.WRITE }]);
  };
  // The config's own list (runc spec: deny everything), runc's default devices, then the host policy.
  const hostRules: DeviceRule[] = [{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES, DENY_DEV_ZERO as DeviceRule];

  beforeAll(() => {
    exe = hookshimExecutable(tmp);
    rootfs = busyboxRootfs(tmp);
    writeTestConfig(config, { store, cgroupParent: parent });
  }, scaled(120_000));

  afterAll(async () => {
    const listed = await run(["crun", "--root", crunRoot, "list", "-q"]);
    for (const id of listed.out.split("\n").filter(Boolean)) await run(["crun", "--root", crunRoot, "delete", "-f", id]);
    await removeRuncRun({ runcRoot, parent, store, tmp });
  });

  async function hookedBundle(id: string): Promise<string> {
    const bundle = runcBundle(tmp, id, rootfs, ["sleep", "1000"], `${parent}/${id}`);
    const r = await hookshim(["--config", config, "install", "--bundle", bundle, "--binary", exe.path]);
    expect(r).toMatchObject({ code: 0, err: "" });
    return bundle;
  }

  async function probeInside(runtime: "runc" | "crun", id: string): Promise<string> {
    const root = runtime === "runc" ? runcRoot : crunRoot;
    const r = await run([runtime, "--root", root, "exec", id, "sh", "-c", PROBE]);
    expect(r).toMatchObject({ code: 0, err: "" });
    return r.out.trim();
  }

  const test = needs("root", "cgroup2-pure", "runc", "busybox", "btf");

  test("runc: after prestart one program decides, hookshim's, and it equals v1 semantics of config + runc defaults + host policy", async () => {
    const id = uniq("one");
    expect(await runcDetached(runcRoot, await hookedBundle(id), id)).toBe(0);
    hookshimOnly(id);
    const inside = await probeInside("runc", id);
    expect(inside).toBe(expected(hostRules));
    expect(inside).toContain("zero 0 0"); // the host policy's deny holds
    expect(inside).toContain("null 1 1");
  }, scaled(60_000));

  test("devices show reads the program runc itself attached, and it decides as runc's rules do", async () => {
    const id = uniq("plain");
    const bundle = runcBundle(tmp, id, rootfs, ["sleep", "1000"], `${parent}/${id}`);
    expect(await runcDetached(runcRoot, bundle, id)).toBe(0);
    const filters = readDeviceFilters(cgroupDir(id));
    expect(filters).toHaveLength(1);
    expect(filters[0]!.hookshim).toBe(false);
    expect(filters[0]!.error).toBeUndefined();
    // runc's rules for `runc spec`: deny all, then its default devices
    const runcRules: DeviceRule[] = [{ allow: false, access: "rwm" }, ...RUNC_ALLOWED_DEVICES];
    const fromProgram = emulatorFromFilter(filters[0]!.filter!);
    const fromRules = Emulator.fromRules(runcRules);
    for (const n of NODES)
      for (const a of [DevcgAccess.READ, DevcgAccess.WRITE, DevcgAccess.MKNOD, DevcgAccess.READ | DevcgAccess.WRITE])
        expect([n.name, a, fromProgram.allows(n.type, n.major, n.minor, a)]).toEqual([n.name, a, fromRules.allows(n.type, n.major, n.minor, a)]);
    expect(await probeInside("runc", id)).toBe(expected(runcRules));
    // and the CLI prints what it read
    const shown = await hookshim(["devices", "show", "--cgroup", cgroupDir(id), "--json"]);
    expect(shown.code).toBe(0);
    const json = JSON.parse(shown.out);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ hookshim: false, defaultAllow: false });
    expect(json[0].rules).toContainEqual({ allow: true, type: "c", major: 1, minor: 5, access: "rwm", test: "none", v1: true });
  }, scaled(60_000));

  test("runc update (flags, and a resources file with devices in it) leaves hookshim's program and the host policy in place", async () => {
    const id = uniq("upd");
    expect(await runcDetached(runcRoot, await hookedBundle(id), id)).toBe(0);
    const before = readDeviceFilters(cgroupDir(id)).map((f) => [f.id, f.hookshim]);
    hookshimOnly(id);
    const resources = join(tmp, `${id}-resources.json`);
    writeFileSync(resources, JSON.stringify({ memory: { limit: 100_000_000 }, devices: [{ allow: true, type: "c", major: 1, minor: 5, access: "rwm" }] }));
    for (const args of [["--pids-limit", "50"], ["--memory", "200000000"], ["-r", resources]]) {
      const r = await runc(runcRoot, "update", ...args, id);
      expect([args, r.code, r.err]).toEqual([args, 0, ""]);
      expect(readDeviceFilters(cgroupDir(id)).map((f) => [f.id, f.hookshim])).toEqual(before);
      expect(await probeInside("runc", id)).toBe(expected(hostRules));
    }
    expect(readFileSync(join(cgroupDir(id), "pids.max"), "utf8").trim()).toBe("50");
  }, scaled(60_000));

  needs("root", "cgroup2-pure", "crun", "busybox", "btf")(
    "crun: one program after prestart, v1 semantics inside, and crun update keeps it",
    async () => {
      const id = uniq("crun");
      const bundle = await hookedBundle(id);
      // the detached container inherits crun's stdio: nothing the test waits on may be a pipe
      const errFile = join(tmp, `${id}.stderr`);
      const p = Bun.spawn(["crun", "--root", crunRoot, "run", "--detach", "--bundle", bundle, id], { stdio: ["ignore", "ignore", Bun.file(errFile)] });
      expect([await p.exited, readFileSync(errFile, "utf8")]).toEqual([0, ""]);
      const before = readDeviceFilters(cgroupDir(id)).map((f) => [f.id, f.hookshim]);
      hookshimOnly(id);
      expect(await probeInside("crun", id)).toBe(expected(hostRules));
      const resources = join(tmp, `${id}-resources.json`);
      writeFileSync(resources, JSON.stringify({ pids: { limit: 40 } }));
      for (const args of [["--pids-limit", "50"], ["-r", resources]]) {
        const r = await run(["crun", "--root", crunRoot, "update", ...args, id]);
        expect([args, r.code, r.err]).toEqual([args, 0, ""]);
        expect(readDeviceFilters(cgroupDir(id)).map((f) => [f.id, f.hookshim])).toEqual(before);
        expect(await probeInside("crun", id)).toBe(expected(hostRules));
      }
    },
    scaled(60_000),
  );
});
