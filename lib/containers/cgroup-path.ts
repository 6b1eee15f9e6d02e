// Which container a cgroup belongs to, from its path alone: the naming rules of aquasecurity/tracee
// (pkg/containers parseContainerIdFromCgroupPath), which cover docker, containerd, CRI-O, podman and
// garden under both the systemd and the cgroupfs drivers, v1 and v2. Two deliberate differences:
// a runtime prefix only counts when a 64-hex id follows it, so podman's and CRI-O's conmon cgroups
// (libpod-conmon-<id>.scope, crio-conmon-<id>.scope) are not taken for containers; and the pod uid
// of a kubepods path is returned as well.
import { readFileSync } from "node:fs";
import { fsCode } from "../cgroup/errors.ts";

export type ContainerRuntime = "docker" | "containerd" | "crio" | "podman" | "garden" | "unknown";

export interface CgroupPathMatch {
  containerId: string;
  runtime: ContainerRuntime;
  /** the match is the path's last component: the container's own cgroup, not one nested in it */
  containerRoot: boolean;
  /** Kubernetes pod uid, from a kubepods ancestor (pod<uid> or kubepods-<qos>-pod<uid_with_underscores>.slice) */
  podUid?: string;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
// Garden (Cloud Foundry) container handles look like a uuid cut short: 8-4-4-4-4.
const GARDEN_ID = /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){4}$/;
// Shorter path components cannot hold an id (garden's 28 characters are the shortest).
const MIN_ID_COMPONENT = 28;

const PREFIXES: [string, ContainerRuntime][] = [
  ["docker-", "docker"],
  ["crio-", "crio"],
  ["cri-containerd-", "containerd"],
  ["libpod-", "podman"],
];
// containerd with the systemd driver, as runc sees "slice:prefix:name" paths on v1
const CRI_CONTAINERD_INFIX = ":cri-containerd:";

// cgroupfs driver: pod<uid>; systemd driver: kubepods-<qos>-pod<uid, "-" written "_">.slice.
// Static pods have a 32-hex uid without dashes.
const POD_COMPONENT = /^(?:kubepods(?:-[a-z]+)*-)?pod([0-9a-fA-F][0-9a-fA-F_-]{31,35})(?:\.slice)?$/;

function podUidOf(ancestors: string[]): string | undefined {
  if (!ancestors.some((p) => p.startsWith("kubepods"))) return undefined;
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const m = POD_COMPONENT.exec(ancestors[i]!);
    if (m) return m[1]!.replaceAll("_", "-");
  }
  return undefined;
}

/**
 * The container a cgroup path names (relative to its hierarchy or absolute, v1 or v2), or
 * undefined. The innermost container wins, as in tracee: a container nested in another is itself.
 */
export function containerFromCgroupPath(path: string): CgroupPathMatch | undefined {
  const parts = path.replace(/\/+$/, "").split("/");
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!;
    if (part.length < MIN_ID_COMPONENT) continue;
    let id = part.endsWith(".scope") ? part.slice(0, -".scope".length) : part;
    let runtime: ContainerRuntime = "unknown";
    const infix = id.lastIndexOf(CRI_CONTAINERD_INFIX);
    if (infix >= 0) {
      runtime = "containerd";
      id = id.slice(infix + CRI_CONTAINERD_INFIX.length);
    } else {
      const prefix = PREFIXES.find(([p]) => id.startsWith(p));
      if (prefix) {
        runtime = prefix[1];
        id = id.slice(prefix[0].length);
      }
    }
    const ancestors = parts.slice(0, i);
    const match = (containerId: string, rt: ContainerRuntime): CgroupPathMatch => {
      const m: CgroupPathMatch = { containerId, runtime: rt, containerRoot: i === parts.length - 1 };
      const podUid = podUidOf(ancestors);
      if (podUid) m.podUid = podUid;
      return m;
    };
    if (HEX64.test(id)) {
      if (runtime === "unknown" && i > 0) {
        const parent = parts[i - 1]!;
        // cgroupfs docker: /docker/<id>; GitHub Actions' docker: /actions_job/<id>
        if (parent === "docker" || parent === "actions_job") runtime = "docker";
        // kubepods cgroupfs paths: /kubepods/<qos>/pod<uid>/<id> is containerd (CRI-O writes crio-<id>)
        else if (parent.startsWith("pod")) runtime = "containerd";
      }
      return match(id, runtime);
    }
    if (runtime === "unknown" && GARDEN_ID.test(id)) return match(id, "garden");
  }
  return undefined;
}

/**
 * The container of a /proc/PID/cgroup text: the v2 line ("0::") first, then the v1 lines in order;
 * the first that names a container.
 */
export function containerFromProcCgroup(text: string): CgroupPathMatch | undefined {
  const paths: string[] = [];
  for (const line of text.split("\n")) {
    const second = line.indexOf(":", line.indexOf(":") + 1);
    if (second < 0) continue;
    if (line.startsWith("0::")) paths.unshift(line.slice(second + 1));
    else paths.push(line.slice(second + 1));
  }
  for (const p of paths) {
    const m = containerFromCgroupPath(p);
    if (m) return m;
  }
  return undefined;
}

/**
 * The container a task is in, from TASKDIR/cgroup (a pid means /proc/PID; a thread's directory is
 * /proc/PID/task/TID). Undefined when it is in none, or the task is gone.
 */
export function getContainerIdFromTaskDir(task: string | number): CgroupPathMatch | undefined {
  const dir = typeof task === "number" ? `/proc/${task}` : task;
  let text: string;
  try {
    text = readFileSync(`${dir}/cgroup`, "utf8");
  } catch (e) {
    if (fsCode(e) === "ENOENT" || fsCode(e) === "ESRCH") return undefined;
    throw e;
  }
  return containerFromProcCgroup(text);
}
