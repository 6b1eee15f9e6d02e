// The annotations engines use to name a container, in the one order every reader follows (the hooks'
// store record, the notifier's events, the registry's metadata), so one container never gets two
// names. kubelet's label first (CRI-O copies it into annotations), then containerd's CRI plugin,
// CRI-O's own, nerdctl, podman, and the OCI spec's suggested key.
export const NAME_ANNOTATIONS = [
  "io.kubernetes.container.name",
  "io.kubernetes.cri.container-name",
  "io.kubernetes.cri-o.ContainerName",
  "nerdctl/name",
  "io.podman.annotations.name",
  "org.opencontainers.container.name",
] as const;

/** The first non-empty name `get` finds under NAME_ANNOTATIONS; undefined when none. */
export function containerNameFrom(get: (key: string) => unknown): string | undefined {
  for (const key of NAME_ANNOTATIONS) {
    const v = get(key);
    if (typeof v === "string" && v) return v;
  }
  return undefined;
}

/** The container's name in a config.json's (untrusted) annotations object; undefined when none. */
export function containerNameOf(annotations: unknown): string | undefined {
  if (!annotations || typeof annotations !== "object") return undefined;
  return containerNameFrom((k) => (Object.hasOwn(annotations, k) ? (annotations as Record<string, unknown>)[k] : undefined));
}
