// Where container runtimes live. The notifier marks the binaries that exist (after symlinks: one
// inode mark per file, however many names it has). After inspektor-gadget's runcfanotify list, plus
// the distributions it misses and the conmon locations podman uses.
import { realpathSync, statSync } from "node:fs";
import { basename } from "node:path";

export const RUNTIME_PATHS: readonly string[] = [
  // runc and crun in the usual system locations
  "/bin/runc", "/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc",
  "/bin/crun", "/usr/bin/crun", "/usr/sbin/crun", "/usr/local/bin/crun", "/usr/local/sbin/crun",
  // docker on Flatcar / CoreOS
  "/run/torcx/unpack/docker/bin/runc",
  // Kubernetes distributions that ship their own runc
  "/var/lib/rancher/k3s/data/current/bin/runc", // k3s
  "/var/lib/rancher/rke2/bin/runc", // rke2
  "/var/lib/k0s/bin/runc", // k0s
  "/usr/libexec/crio/runc", "/usr/libexec/crio/crun", "/usr/lib/cri-o-runc/sbin/runc", // CRI-O
  "/var/snap/microk8s/current/bin/runc", "/snap/microk8s/current/bin/runc", // microk8s
  "/x86_64-bottlerocket-linux-gnu/sys-root/usr/bin/runc", "/aarch64-bottlerocket-linux-gnu/sys-root/usr/bin/runc", // bottlerocket
  // conmon (podman, CRI-O): it carries the container name
  "/usr/bin/conmon", "/usr/libexec/podman/conmon", "/usr/local/libexec/podman/conmon", "/usr/libexec/crio/conmon",
];

/** What a runtime binary is, from its basename: conmon carries names, the others create containers. */
export type RuntimeKind = "conmon" | "oci";

export function runtimeKind(path: string): RuntimeKind {
  return basename(path) === "conmon" ? "conmon" : "oci";
}

export interface RuntimeBinary {
  /** the path as listed (or given with --runtime-path) */
  path: string;
  /** the file it resolves to; marks are per inode, so aliases collapse to one */
  realPath: string;
}

/**
 * The file names runtime execs go by, which the execargs program records: listed and real names, and
 * "exe", because runc starts `runc init` (and runtimes re-exec themselves) through /proc/self/exe.
 * `candidates` adds the names of listed paths with no file yet: a runtime installed there later is
 * recorded too (one that resolves to a file of another name is exec'd by its listed name anyway).
 */
export function runtimeNames(runtimes: readonly RuntimeBinary[], candidates: readonly string[] = []): string[] {
  return [...new Set([...runtimes.flatMap((r) => [basename(r.path), basename(r.realPath)]), ...candidates.map((p) => basename(p)), "exe"])];
}

/**
 * The listed paths that are regular files, one per real file. `candidates` replaces the default list
 * (the --runtime-path option) rather than extending it, so an operator can narrow the watch.
 */
export function existingRuntimes(candidates: readonly string[] = RUNTIME_PATHS): RuntimeBinary[] {
  const seen = new Set<string>();
  const out: RuntimeBinary[] = [];
  for (const path of candidates) {
    let realPath: string;
    try {
      realPath = realpathSync(path);
      if (!statSync(realPath).isFile()) continue;
    } catch {
      continue;
    }
    if (seen.has(realPath)) continue;
    seen.add(realPath);
    out.push({ path, realPath });
  }
  return out;
}
