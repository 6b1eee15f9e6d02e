// Pinning objects in bpffs, and making sure a bpffs is there to pin into.
import { mkdir } from "../sys/file.ts";
import { exists } from "../sys/stat.ts";
import { cStringBytes, isFsType, FS_MAGIC, mount } from "../sys/index.ts";
import { Attr, OBJ } from "./attr.ts";
import { Cmd } from "./constants.ts";
import { bpf } from "./syscall.ts";

export function objPin(fd: number, path: string): void {
  const attr = new Attr(OBJ, { pathname: cStringBytes(path), bpf_fd: fd });
  bpf(Cmd.OBJ_PIN, attr, path);
}

/** Open a pinned object; flags are FileFlag.RDONLY / WRONLY. */
export function objGet(path: string, flags = 0): number {
  const attr = new Attr(OBJ, { pathname: cStringBytes(path), file_flags: flags });
  return bpf(Cmd.OBJ_GET, attr, path);
}

export const DEFAULT_BPFFS = "/sys/fs/bpf";

/** Mount bpffs (mode 0700) at `path` unless one is already there. Returns true when it mounted. */
export function ensureBpffs(path: string = DEFAULT_BPFFS): boolean {
  if (isFsType(path, FS_MAGIC.BPF)) return false;
  if (!exists(path)) mkdir(path, 0o700, true);
  mount("bpf", path, "bpf", 0, "mode=0700");
  return true;
}

export function isBpffs(path: string): boolean {
  return isFsType(path, FS_MAGIC.BPF);
}
