// The registry over a directory tree standing in for a cgroup hierarchy: it only stats and reads
// directories, so no privileges are needed.
import { describe, test, expect, afterAll } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, statSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Registry, metadataFromAnnotations, readBundleMetadata, findBundle, bundleFromStateFile } from "../../lib/containers/index.ts";

const ID = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";
const ID2 = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";
const FIXTURES = join(import.meta.dir, "../../../shared/fixtures/bundles");
const tmp = mkdtempSync(join(tmpdir(), "containers-registry-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** a fresh fake hierarchy with the given directories */
function hierarchy(...dirs: string[]): string {
  const mount = join(tmp, `h${++n}`);
  mkdirSync(mount);
  for (const d of dirs) mkdirSync(join(mount, d), { recursive: true });
  return mount;
}
const ino = (p: string) => statSync(p, { bigint: true }).ino;

class Clock {
  t = 1_000_000;
  now = () => this.t;
}

describe("Registry", () => {
  test("populate records every directory, and containers() the container roots", () => {
    const mount = hierarchy(
      `system.slice/docker-${ID}.scope`,
      "system.slice/cron.service",
      `libpod_parent/libpod-${ID2}/nested`,
      "libpod_parent/conmon",
    );
    const reg = new Registry({ mountpoint: mount });
    expect(reg.populate()).toBe(8); // root, system.slice, 2 below it, libpod_parent, libpod-, nested, conmon
    expect(reg.size).toBe(8);
    const cs = reg.containers().map((c) => [c.path, c.runtime, c.containerId]).sort();
    expect(cs).toEqual([
      [`/libpod_parent/libpod-${ID2}`, "podman", ID2],
      [`/system.slice/docker-${ID}.scope`, "docker", ID],
    ]);
    const docker = reg.getCgroupInfo(ino(join(mount, `system.slice/docker-${ID}.scope`)))!;
    expect(docker).toMatchObject({ containerRoot: true, dead: false, path: `/system.slice/docker-${ID}.scope` });
    expect(docker.ctimeMs).toBe(Number(statSync(join(mount, `system.slice/docker-${ID}.scope`), { bigint: true }).ctimeNs) / 1e6);
    expect(reg.getCgroupInfo(ino(join(mount, "libpod_parent/conmon")))).toMatchObject({ containerId: "", runtime: "unknown" });
    expect(reg.getCgroupInfo(ino(join(mount, `libpod_parent/libpod-${ID2}/nested`)))).toMatchObject({ containerId: ID2, containerRoot: false });
  });

  test("populate of a subtree; cgroup ids are the directories' inodes", () => {
    const mount = hierarchy(`a/docker/${ID}`, "b/c");
    const reg = new Registry({ mountpoint: mount });
    expect(reg.populate("/a")).toBe(3);
    expect(reg.getCgroupInfo(ino(join(mount, `a/docker/${ID}`)))?.path).toBe(`/a/docker/${ID}`);
    expect(reg.populate("/missing")).toBe(0);
  });

  test("cgroupMkdir: found by the event's path; a cgroup already gone is recorded dead", () => {
    const mount = hierarchy(`kubepods/besteffort/pod7e44ee88-1e65-4a16-8cdf-9a90c819180e/${ID}`);
    const clock = new Clock();
    const reg = new Registry({ mountpoint: mount, now: clock.now });
    const dir = join(mount, `kubepods/besteffort/pod7e44ee88-1e65-4a16-8cdf-9a90c819180e/${ID}`);
    const info = reg.cgroupMkdir(ino(dir), `/kubepods/besteffort/pod7e44ee88-1e65-4a16-8cdf-9a90c819180e/${ID}`);
    expect(info).toMatchObject({ runtime: "containerd", containerId: ID, podUid: "7e44ee88-1e65-4a16-8cdf-9a90c819180e", dead: false });
    expect(info.ctimeMs).toBe(Number(statSync(dir, { bigint: true }).ctimeNs) / 1e6);
    const gone = reg.cgroupMkdir(123456789n, `/system.slice/docker-${ID2}.scope`);
    expect(gone).toMatchObject({ containerId: ID2, dead: true, ctimeMs: clock.t, path: `/system.slice/docker-${ID2}.scope` });
    expect(reg.containers().map((c) => c.containerId)).toEqual([ID]);
  });

  test("getCgroupInfo of an unrecorded id walks the hierarchy for it", () => {
    const mount = hierarchy(`x/y/libpod-${ID}`);
    const reg = new Registry({ mountpoint: mount });
    const id = ino(join(mount, `x/y/libpod-${ID}`));
    expect(reg.size).toBe(0);
    expect(reg.getCgroupInfo(id)).toMatchObject({ path: `/x/y/libpod-${ID}`, runtime: "podman" });
    expect(reg.size).toBe(1);
    expect(reg.getCgroupInfo(1n)).toBeUndefined();
  });

  test("cgroupUpdate takes absolute paths under the mount", () => {
    const reg = new Registry({ mountpoint: "/sys/fs/cgroup/unified" });
    expect(reg.cgroupUpdate(7n, `/sys/fs/cgroup/unified/docker/${ID}`, 0).path).toBe(`/docker/${ID}`);
    expect(reg.cgroupUpdate(8n, `docker/${ID2}`, 0).path).toBe(`/docker/${ID2}`);
  });

  test("removed cgroups stay for the grace period, then cleanDeleted drops them", () => {
    const clock = new Clock();
    const reg = new Registry({ mountpoint: "/nonexistent", now: clock.now, graceMs: 5_000 });
    reg.cgroupUpdate(1n, `/docker/${ID}`, 0);
    reg.cgroupUpdate(2n, `/docker/${ID2}`, 0);
    reg.cgroupRemove(1n);
    expect(reg.getCgroupInfo(1n)).toMatchObject({ dead: true, expiresAt: clock.t + 5_000, containerId: ID });
    expect(reg.containers().map((c) => c.cgroupId)).toEqual([2n]);
    clock.t += 4_999;
    expect(reg.cleanDeleted()).toBe(0);
    expect(reg.getCgroupInfo(1n)?.containerId).toBe(ID);
    clock.t += 1;
    // the next removal also sweeps expired entries, as in tracee
    reg.cgroupRemove(2n);
    expect(reg.size).toBe(1);
    expect(reg.getCgroupInfo(2n)?.dead).toBe(true);
    clock.t += 5_000;
    expect(reg.cleanDeleted()).toBe(1);
    expect(reg.size).toBe(0);
    // removing an unknown id or removing twice changes nothing
    reg.cgroupRemove(99n);
    reg.cgroupUpdate(3n, "/a", 0);
    reg.cgroupRemove(3n);
    const first = reg.getCgroupInfo(3n)!.expiresAt;
    clock.t += 1_000;
    reg.cgroupRemove(3n);
    expect(reg.getCgroupInfo(3n)!.expiresAt).toBe(first!);
  });

  test("the default grace period is tracee's 5 s", () => {
    const clock = new Clock();
    const reg = new Registry({ mountpoint: "/nonexistent", now: clock.now });
    reg.cgroupUpdate(1n, "/a", 0);
    reg.cgroupRemove(1n);
    expect(reg.getCgroupInfo(1n)!.expiresAt).toBe(clock.t + 5_000);
  });

  test("findContainerCgroupID32LSB: lower 32 bits of every cgroup of the containers with that id prefix", () => {
    const reg = new Registry({ mountpoint: "/nonexistent" });
    reg.cgroupUpdate(0x1_0000_0005n, `/docker/${ID}`, 0);
    reg.cgroupUpdate(0x2_0000_0006n, `/docker/${ID}/sub`, 0);
    reg.cgroupUpdate(0x7n, `/docker/${ID2}`, 0);
    reg.cgroupUpdate(0x8n, "/other", 0);
    expect(reg.findContainerCgroupID32LSB(ID.slice(0, 12)).sort()).toEqual([5, 6]);
    expect(reg.findContainerCgroupID32LSB(ID2)).toEqual([7]);
    expect(reg.findContainerCgroupID32LSB("ffff")).toEqual([]);
    expect(reg.findContainerCgroupID32LSB("")).toEqual([]);
  });

  test("populateBpfMap writes u64 LE cgroup ids with u32 LE 1, live container cgroups only", () => {
    const reg = new Registry({ mountpoint: "/nonexistent" });
    reg.cgroupUpdate(0x0102030405060708n, `/docker/${ID}`, 0);
    reg.cgroupUpdate(0x10n, `/docker/${ID}/nested`, 0);
    reg.cgroupUpdate(0x11n, `/libpod_parent/libpod-${ID2}`, 0);
    reg.cgroupUpdate(0x12n, "/system.slice", 0);
    reg.cgroupUpdate(0x13n, `/machine.slice/libpod-${ID2}.scope`, 0);
    reg.cgroupRemove(0x13n);
    const written: [number[], number[]][] = [];
    const map = { update: (k: Uint8Array, v: Uint8Array) => void written.push([[...k], [...v]]) };
    expect(reg.populateBpfMap(map)).toBe(3);
    expect(written).toContainEqual([[8, 7, 6, 5, 4, 3, 2, 1], [1, 0, 0, 0]]);
    expect(written.map(([k]) => k[0])).toEqual(expect.arrayContaining([0x08, 0x10, 0x11]));
    written.length = 0;
    expect(reg.populateBpfMap(map, (c) => c.runtime === "podman")).toBe(1);
    expect(written).toEqual([[[0x11, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0]]]);
  });
});

describe("bundle enrichment", () => {
  test("podman 4.3's config.json", async () => {
    const cfg = await Bun.file(join(FIXTURES, "podman-4.3.json")).json();
    expect(metadataFromAnnotations(cfg.annotations)).toEqual({ manager: "libpod" });
  });

  test("containerd 1.6 (ctr) and runc spec bundles carry no annotations", () => {
    for (const f of ["containerd-1.6.json", "runc-1.1-spec.json"]) {
      const bundle = join(tmp, f);
      mkdirSync(bundle);
      copyFileSync(join(FIXTURES, f), join(bundle, "config.json"));
      expect(readBundleMetadata(bundle)).toEqual({});
    }
  });

  test("containerd's CRI annotations", () => {
    expect(metadataFromAnnotations({
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.container-name": "nginx",
      "io.kubernetes.cri.image-name": "docker.io/library/nginx:1.25",
      "io.kubernetes.cri.sandbox-id": ID2,
      "io.kubernetes.cri.sandbox-name": "web-0",
      "io.kubernetes.cri.sandbox-namespace": "default",
      "io.kubernetes.cri.sandbox-uid": "7e44ee88-1e65-4a16-8cdf-9a90c819180e",
    })).toEqual({
      name: "nginx", image: "docker.io/library/nginx:1.25", podName: "web-0", podNamespace: "default",
      podUid: "7e44ee88-1e65-4a16-8cdf-9a90c819180e", sandbox: false, sandboxId: ID2,
    });
    expect(metadataFromAnnotations({ "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-name": "web-0" }))
      .toEqual({ sandbox: true, podName: "web-0" });
  });

  test("CRI-O's annotations, with the kubelet labels in io.kubernetes.cri-o.Labels", () => {
    expect(metadataFromAnnotations({
      "io.kubernetes.cri-o.ContainerType": "container",
      "io.kubernetes.cri-o.ContainerName": "k8s_nginx_web-0_default_7e44ee88-1e65-4a16-8cdf-9a90c819180e_0",
      "io.kubernetes.cri-o.ImageName": "docker.io/library/nginx:1.25",
      "io.kubernetes.cri-o.SandboxID": ID2,
      "io.kubernetes.cri-o.Labels": JSON.stringify({
        "io.kubernetes.container.name": "nginx",
        "io.kubernetes.pod.name": "web-0",
        "io.kubernetes.pod.namespace": "default",
        "io.kubernetes.pod.uid": "7e44ee88-1e65-4a16-8cdf-9a90c819180e",
      }),
    })).toEqual({
      name: "nginx", image: "docker.io/library/nginx:1.25", podName: "web-0", podNamespace: "default",
      podUid: "7e44ee88-1e65-4a16-8cdf-9a90c819180e", sandbox: false, sandboxId: ID2,
    });
    // broken Labels JSON is ignored, not fatal
    expect(metadataFromAnnotations({ "io.kubernetes.cri-o.Labels": "{", "io.kubernetes.pod.name": "p" })).toEqual({ podName: "p" });
  });

  test("findBundle: runc state.json label, crun status, bundle directories, podman userdata", () => {
    const roots = join(tmp, "find");
    mkdirSync(join(roots, "runc", "c1"), { recursive: true });
    writeFileSync(join(roots, "runc", "c1", "state.json"), JSON.stringify({ id: "c1", config: { labels: ["x=y", "bundle=/srv/c1"] } }));
    mkdirSync(join(roots, "crun", "c2"), { recursive: true });
    writeFileSync(join(roots, "crun", "c2", "status"), JSON.stringify({ pid: 1, bundle: "/srv/c2" }));
    mkdirSync(join(roots, "runc", "broken"), { recursive: true });
    writeFileSync(join(roots, "runc", "broken", "state.json"), "{");
    mkdirSync(join(roots, "tasks", "c3"), { recursive: true });
    writeFileSync(join(roots, "tasks", "c3", "config.json"), "{}");
    mkdirSync(join(roots, "overlay-containers", ID, "userdata"), { recursive: true });
    writeFileSync(join(roots, "overlay-containers", ID, "userdata", "config.json"), "{}");
    const search = {
      runtimeRoots: [join(roots, "runc"), join(roots, "crun")],
      bundleParents: [join(roots, "tasks"), join(roots, "overlay-containers")],
    };
    expect(findBundle("c1", search)).toBe("/srv/c1");
    expect(findBundle("c2", search)).toBe("/srv/c2");
    expect(findBundle("c3", search)).toBe(join(roots, "tasks", "c3"));
    expect(findBundle(ID, search)).toBe(join(roots, "overlay-containers", ID, "userdata"));
    expect(findBundle("broken", search)).toBeUndefined();
    expect(findBundle("none", search)).toBeUndefined();
    expect(findBundle("../runc", search)).toBeUndefined();
    expect(bundleFromStateFile(join(roots, "runc", "c1", "state.json"))).toBe("/srv/c1");
  });

  test("Registry.enrich caches bundle and metadata on the entry", () => {
    const roots = join(tmp, "enrich");
    const bundle = join(roots, "tasks", ID);
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ annotations: { "io.kubernetes.cri.container-name": "app" } }));
    const reg = new Registry({ mountpoint: "/nonexistent", bundleSearch: { runtimeRoots: [], bundleParents: [join(roots, "tasks")] } });
    reg.cgroupUpdate(1n, `/kubepods/pod7e44ee88-1e65-4a16-8cdf-9a90c819180e/${ID}`, 0);
    reg.cgroupUpdate(2n, "/system.slice", 0);
    expect(reg.enrich(1n)).toMatchObject({ bundle, metadata: { name: "app" }, podUid: "7e44ee88-1e65-4a16-8cdf-9a90c819180e" });
    rmSync(bundle, { recursive: true });
    expect(reg.enrich(1n)?.metadata).toEqual({ name: "app" });
    expect(reg.enrich(2n)).toBeUndefined();
  });
});
