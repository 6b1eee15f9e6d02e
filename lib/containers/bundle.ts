// What a container's bundle says about it, and where that bundle is. Engines record names, pods and
// images as annotations in config.json (read here as plain JSON: enrichment must not fail on a
// config another schema would reject); the OCI runtime records the bundle path in its state dir.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fsCode } from "../cgroup/errors.ts";
import { containerNameFrom } from "../oci/annotations.ts";
import { RUNTIME_STATE, STATE_RUNTIMES, runtimeStateFile } from "./runtime-state.ts";

export interface ContainerMetadata {
  /** container name: the Kubernetes container name, else the engine's */
  name?: string;
  image?: string;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  /** the pod's sandbox (pause) container rather than a workload container */
  sandbox?: boolean;
  sandboxId?: string;
  /** the engine that wrote the config, where it says so ("io.container.manager": podman writes "libpod") */
  manager?: string;
}

type Annotations = Record<string, string>;

// Kubernetes labels kubelet sets on every container; CRI-O also copies them into annotations.
const K8S = {
  podName: "io.kubernetes.pod.name",
  podNamespace: "io.kubernetes.pod.namespace",
  podUid: "io.kubernetes.pod.uid",
} as const;

// containerd's CRI plugin (pkg/cri/annotations)
const CRI = {
  containerType: "io.kubernetes.cri.container-type",
  imageName: "io.kubernetes.cri.image-name",
  sandboxId: "io.kubernetes.cri.sandbox-id",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  sandboxUid: "io.kubernetes.cri.sandbox-uid",
} as const;

// CRI-O (pkg/annotations); podman writes some of these too (Created, TTY) for compatibility
const CRIO = {
  containerType: "io.kubernetes.cri-o.ContainerType",
  imageName: "io.kubernetes.cri-o.ImageName",
  kubeName: "io.kubernetes.cri-o.KubeName",
  labels: "io.kubernetes.cri-o.Labels",
  sandboxId: "io.kubernetes.cri-o.SandboxID",
  sandboxName: "io.kubernetes.cri-o.SandboxName",
  namespace: "io.kubernetes.cri-o.Namespace",
} as const;

function crioLabels(a: Annotations): Annotations {
  const raw = a[CRIO.labels];
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object") return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}

/** Metadata from a config.json's annotations, whichever engine wrote them. */
export function metadataFromAnnotations(annotations: Annotations): ContainerMetadata {
  const labels = crioLabels(annotations);
  const get = (k: string) => annotations[k] || labels[k] || undefined;
  const type = get(CRI.containerType) ?? get(CRIO.containerType);
  const sandboxId = get(CRI.sandboxId) ?? get(CRIO.sandboxId);
  const meta: ContainerMetadata = {
    name: containerNameFrom(get),
    image: get(CRI.imageName) ?? get(CRIO.imageName),
    podName: get(K8S.podName) ?? get(CRI.sandboxName) ?? get(CRIO.kubeName),
    podNamespace: get(K8S.podNamespace) ?? get(CRI.sandboxNamespace) ?? get(CRIO.namespace),
    podUid: get(K8S.podUid) ?? get(CRI.sandboxUid),
    sandbox: type === undefined ? undefined : type === "sandbox",
    sandboxId,
    manager: get("io.container.manager"),
  };
  for (const k of Object.keys(meta) as (keyof ContainerMetadata)[]) if (meta[k] === undefined) delete meta[k];
  return meta;
}

/** Metadata from BUNDLE/config.json. Throws when the file is missing or not JSON. */
export function readBundleMetadata(bundle: string): ContainerMetadata {
  const config: unknown = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  const annotations = (config as { annotations?: unknown } | null)?.annotations;
  if (!annotations || typeof annotations !== "object") return {};
  return metadataFromAnnotations(
    Object.fromEntries(Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === "string")),
  );
}

/** The bundle a runtime state file records: runc's state.json keeps it as a "bundle=" config label,
 * crun's status file as a "bundle" field. */
export function bundleFromStateFile(path: string): string | undefined {
  const state = JSON.parse(readFileSync(path, "utf8")) as { bundle?: unknown; config?: { labels?: unknown } };
  if (typeof state.bundle === "string") return state.bundle;
  const labels = state.config?.labels;
  if (!Array.isArray(labels)) return undefined;
  const label = labels.find((l): l is string => typeof l === "string" && l.startsWith("bundle="));
  return label?.slice("bundle=".length);
}

export interface BundleSearch {
  /** OCI runtime state roots, each holding <id>/state.json (runc) or <id>/status (crun) */
  runtimeRoots: string[];
  /** directories that are bundles' parents: <dir>/<id>/config.json, or <dir>/<id>/userdata/config.json (podman) */
  bundleParents: string[];
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

/** Where runc, crun, docker, containerd, CRI-O and podman keep state and bundles on a stock host. */
export function defaultBundleSearch(): BundleSearch {
  return {
    runtimeRoots: [
      RUNTIME_STATE.runc.root, // runc's default: podman, CRI-O
      RUNTIME_STATE.crun.root,
      "/run/docker/runtime-runc/moby",
      ...subdirs("/run/containerd/runc"), // one per containerd namespace
    ],
    bundleParents: [
      ...subdirs("/run/containerd/io.containerd.runtime.v2.task"),
      "/var/lib/containers/storage/overlay-containers",
      "/run/containers/storage/overlay-containers",
    ],
  };
}

function readIfPresent<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (fsCode(e) === "ENOENT" || fsCode(e) === "ENOTDIR" || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** The bundle directory of a container id, or undefined when no known place has it. */
export function findBundle(containerId: string, search: BundleSearch = defaultBundleSearch()): string | undefined {
  // an id is one path component; anything else cannot be a container and must not walk the tree
  if (!containerId || containerId.includes("/") || containerId === "." || containerId === "..") return undefined;
  for (const root of search.runtimeRoots) {
    for (const runtime of STATE_RUNTIMES) {
      const bundle = readIfPresent(() => bundleFromStateFile(runtimeStateFile(runtime, root, containerId)));
      if (bundle) return bundle;
    }
  }
  for (const parent of search.bundleParents) {
    for (const dir of [join(parent, containerId), join(parent, containerId, "userdata")]) {
      if (existsSync(join(dir, "config.json"))) return dir;
    }
  }
  return undefined;
}
