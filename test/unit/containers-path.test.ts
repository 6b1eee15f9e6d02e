import { describe, test, expect, afterAll } from "bun:test";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import {
  containerFromCgroupPath,
  containerFromProcCgroup,
  getContainerIdFromTaskDir,
  type CgroupPathMatch,
} from "../../lib/containers/index.ts";

const ID = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";
const ID2 = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";
const POD = "7e44ee88-1e65-4a16-8cdf-9a90c819180e";
const POD_ = POD.replaceAll("-", "_");
const root = (containerId: string, runtime: CgroupPathMatch["runtime"], podUid?: string): CgroupPathMatch =>
  podUid ? { containerId, runtime, containerRoot: true, podUid } : { containerId, runtime, containerRoot: true };

// Real layouts, per runtime and cgroup driver; v1 paths are what /proc/PID/cgroup shows per controller.
const CASES: [string, string, CgroupPathMatch | undefined][] = [
  // docker
  ["docker, systemd driver", `/system.slice/docker-${ID}.scope`, root(ID, "docker")],
  ["docker, cgroupfs driver (v1 and v2)", `/docker/${ID}`, root(ID, "docker")],
  ["docker, absolute v2 path", `/sys/fs/cgroup/system.slice/docker-${ID}.scope`, root(ID, "docker")],
  ["docker in GitHub Actions", `/actions_job/${ID}`, root(ID, "docker")],
  ["docker in docker: the inner container", `/docker/${ID}/docker/${ID2}`, root(ID2, "docker")],
  // containerd (CRI)
  [
    "containerd, systemd driver, besteffort pod",
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/cri-containerd-${ID}.scope`,
    root(ID, "containerd", POD),
  ],
  ["containerd, cgroupfs driver, burstable pod", `/kubepods/burstable/pod${POD}/${ID}`, root(ID, "containerd", POD)],
  ["containerd, cgroupfs driver, guaranteed pod", `/kubepods/pod${POD}/${ID}`, root(ID, "containerd", POD)],
  [
    "containerd, systemd driver as v1 shows it",
    `/system.slice/containerd.service/kubepods-burstable-pod${POD_}.slice:cri-containerd:${ID}`,
    root(ID, "containerd"),
  ],
  // CRI-O
  [
    "CRI-O, systemd driver",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-${ID}.scope`,
    root(ID, "crio", POD),
  ],
  ["CRI-O, cgroupfs driver", `/kubepods/burstable/pod${POD}/crio-${ID}`, root(ID, "crio", POD)],
  ["CRI-O conmon is not a container", `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-conmon-${ID}.scope`, undefined],
  // podman
  ["podman, systemd driver", `/machine.slice/libpod-${ID}.scope`, root(ID, "podman")],
  ["podman, cgroupfs driver", `/libpod_parent/libpod-${ID}`, root(ID, "podman")],
  ["podman rootless", `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, root(ID, "podman")],
  [
    "podman, a cgroup inside the container",
    `/machine.slice/libpod-${ID}.scope/container`,
    { containerId: ID, runtime: "podman", containerRoot: false },
  ],
  ["podman conmon (systemd) is not a container", `/machine.slice/libpod-conmon-${ID}.scope`, undefined],
  ["podman conmon (cgroupfs) is not a container", "/libpod_parent/conmon", undefined],
  // garden and bare ids
  ["garden", "/garden/e8ea3b2e-5a9c-4e9e-6d6d-1e0a", root("e8ea3b2e-5a9c-4e9e-6d6d-1e0a", "garden")],
  ["runc with a 64-hex id under a test parent", `/hookshim-test-1234/${ID}`, root(ID, "unknown")],
  ["runc's default cgroupsPath /<id> with a short id", "/mycontainer", undefined],
  ["trailing slash", `/docker/${ID}/`, root(ID, "docker")],
  // not containers
  ["the root", "/", undefined],
  ["a system service", "/system.slice/containerd.service", undefined],
  ["a pod slice", `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice`, undefined],
  ["63 hex digits", `/docker/${ID.slice(1)}`, undefined],
  ["a uuid is not a garden id", `/x/${POD}`, undefined],
];

describe("containerFromCgroupPath", () => {
  for (const [name, path, want] of CASES) {
    test(name, () => {
      expect(containerFromCgroupPath(path)).toEqual(want);
    });
  }

  test("a pod uid only under kubepods", () => {
    expect(containerFromCgroupPath(`/other/pod${POD}/${ID}`)).toEqual(root(ID, "containerd"));
  });
});

describe("containerFromProcCgroup", () => {
  test("the v2 line wins over v1 lines", () => {
    const text = [
      `9:name=systemd:/libpod_parent/libpod-${ID2}`,
      `4:memory:/libpod_parent/libpod-${ID2}`,
      `0::/libpod_parent/libpod-${ID}`,
      "",
    ].join("\n");
    expect(containerFromProcCgroup(text)).toEqual(root(ID, "podman"));
  });

  test("v1-only hosts: the first controller line that names a container", () => {
    const text = [
      "10:net_prio:/",
      `9:perf_event:/docker/${ID}`,
      `1:name=systemd:/docker/${ID}`,
    ].join("\n");
    expect(containerFromProcCgroup(text)).toEqual(root(ID, "docker"));
  });

  test("a process in no container", () => {
    expect(containerFromProcCgroup("0::/init.scope\n1:name=systemd:/init.scope\n")).toBeUndefined();
    expect(containerFromProcCgroup("")).toBeUndefined();
  });
});

describe("getContainerIdFromTaskDir", () => {
  const tmp = mkdtempSync(join(tmpdir(), "containers-task-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test("reads TASKDIR/cgroup", () => {
    mkdirSync(join(tmp, "42"));
    writeFileSync(join(tmp, "42", "cgroup"), `0::/system.slice/docker-${ID}.scope\n`);
    expect(getContainerIdFromTaskDir(join(tmp, "42"))).toEqual(root(ID, "docker"));
  });

  test("a task that is gone is in no container", () => {
    expect(getContainerIdFromTaskDir(join(tmp, "nope"))).toBeUndefined();
  });

  test("a pid reads /proc/PID/cgroup (this test is not in a container cgroup named like one)", () => {
    const text = readFileSync(`/proc/${process.pid}/cgroup`, "utf8");
    expect(getContainerIdFromTaskDir(process.pid)).toEqual(containerFromProcCgroup(text));
  });
});
