// snapshot containers: the containers on this host now, from the cgroup registry joined with the
// lifecycle store (IG's snapshot of the container collection).
import { formatTime } from "../store/index.ts";
import { shortId, type Column } from "./columns.ts";
import { ContainerDirectory, type ContainerView } from "./containers.ts";
import { cgroupPids, mntnsInode } from "./filtermap.ts";
import type { Gadget } from "./gadget.ts";

export interface ContainerSnapshotRow extends ContainerView {
  /** mount namespace inode of the container's init, null when it has none (yet) or is gone */
  mntns: bigint | null;
}

const columns: Column<ContainerSnapshotRow>[] = [
  { name: "container", json: "containerId", width: 12, value: (r) => r.containerId, text: (r) => shortId(r.containerId) },
  { name: "name", json: "containerName", width: 16, value: (r) => r.containerName },
  { name: "runtime", width: 10, value: (r) => r.runtime },
  { name: "state", width: 8, value: (r) => r.state },
  { name: "pid", width: 7, align: "right", value: (r) => r.pid || null },
  { name: "pod", json: "podName", width: 16, value: (r) => r.podName, hidden: true },
  { name: "namespace", json: "podNamespace", width: 12, value: (r) => r.podNamespace, hidden: true },
  { name: "image", width: 24, value: (r) => r.image, hidden: true },
  { name: "mntns", width: 10, align: "right", value: (r) => r.mntns, hidden: true },
  { name: "cgroupid", json: "cgroupId", width: 10, align: "right", value: (r) => r.cgroupId, hidden: true },
  { name: "bundle", width: 24, value: (r) => r.bundle, hidden: true },
  { name: "created", width: 20, value: (r) => (r.createdNs ? formatTime(r.createdNs) : null), text: (r) => (r.createdNs ? formatTime(r.createdNs).slice(0, 19) + "Z" : "-") },
  { name: "cgroup", width: 40, value: (r) => r.cgroupPath },
];

export const snapshotContainers: Gadget<ContainerSnapshotRow> = {
  name: "containers",
  category: "snapshot",
  type: "one-shot",
  description: "Containers on this host: found from their cgroups, joined with what the store recorded.",
  params: [
    { name: "all", short: "a", kind: "bool", description: "include containers the store recorded as stopped" },
    { name: "runtime-root", kind: "list", description: "OCI runtime state roots (runc --root) to find containers in, besides the stock ones" },
  ],
  defaults: { sort: "runtime,name,container" },
  columns,
  async run(ctx) {
    const dir = new ContainerDirectory({ store: ctx.store, storeOptions: ctx.storeOptions, runtimeRoots: ctx.params.list("runtime-root"), warn: ctx.warn });
    dir.refresh();
    // without a recorded init pid, any process of the container's cgroup shows its mount namespace
    const mntnsOf = (v: ContainerView) => {
      const pid = v.pid || (v.live ? cgroupPids(dir.cgroupDir(v.cgroupPath))[0] : undefined);
      return pid ? (mntnsInode(pid) ?? null) : null;
    };
    ctx.publish(dir.list(ctx.params.bool("all")).map((v) => ({ ...v, mntns: mntnsOf(v) })));
  },
};
