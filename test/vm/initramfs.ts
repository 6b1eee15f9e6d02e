// The VM's initramfs: static busybox, init.sh, and the modules that reach the host root (virtio PCI,
// 9p, overlay) in dependency order taken from the kernel's modules.dep. busybox's insmod cannot read
// compressed modules (6.12 ships .ko.xz), so they are decompressed here.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, rmSync, chmodSync, existsSync } from "node:fs";
import { basename, join } from "node:path";
import { tmpdir } from "node:os";
import type { Kernel } from "./kernels";

/** What the guest needs before it can see the host root, in the order they must load. */
const WANTED = ["virtio_pci", "netfs", "9pnet_virtio", "9p", "overlay"];

/** Module paths (relative to lib/modules/<release>) in load order: dependencies first. */
export function loadOrder(modulesDep: string, wanted: string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split("\n")) {
    const [mod, rest] = line.split(":");
    if (mod && rest !== undefined) deps.set(mod, rest.trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map<string, string>();
  for (const mod of deps.keys()) byName.set(basename(mod).replace(/\.ko(\.xz|\.zst|\.gz)?$/, "").replaceAll("-", "_"), mod);
  const order: string[] = [];
  const visit = (mod: string) => {
    if (order.includes(mod)) return;
    // modules.dep lists a module's dependencies so that the last must load first.
    for (const d of [...(deps.get(mod) ?? [])].reverse()) visit(d);
    order.push(mod);
  };
  for (const w of wanted) {
    const mod = byName.get(w);
    if (mod) visit(mod); // absent: built into this kernel
  }
  return order;
}

function busybox(): string {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    if (existsSync(p) && Bun.spawnSync(["file", "-b", p]).stdout?.toString().includes("statically") !== false) return p;
  }
  throw new Error("static busybox not found (apt-get install busybox-static)");
}

export async function buildInitramfs(k: Kernel, initScript: string, outfile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "hookshim-initramfs-"));
  try {
    for (const d of ["bin", "proc", "sys", "dev", "tmp", "modules"]) mkdirSync(join(dir, d));
    copyFileSync(busybox(), join(dir, "bin/busybox"));
    chmodSync(join(dir, "bin/busybox"), 0o755);
    copyFileSync(initScript, join(dir, "init"));
    chmodSync(join(dir, "init"), 0o755);
    const moddir = join(k.root, "lib/modules", k.release);
    const order = loadOrder(readFileSync(join(moddir, "modules.dep"), "utf8"), WANTED);
    const names: string[] = [];
    for (const mod of order) {
      const name = basename(mod).replace(/\.xz$/, "");
      const src = join(moddir, mod);
      if (mod.endsWith(".xz")) {
        const r = Bun.spawnSync(["xz", "-dc", src], { stdout: "pipe" });
        if (r.exitCode !== 0) throw new Error(`xz -dc ${src} failed`);
        writeFileSync(join(dir, "modules", name), r.stdout);
      } else copyFileSync(src, join(dir, "modules", name));
      names.push(name);
    }
    writeFileSync(join(dir, "modules/order"), names.join("\n") + "\n");
    writeFileSync(join(dir, "modules/tree"), moddir + "\n");
    const r = Bun.spawnSync(["sh", "-c", `find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > '${outfile}'`], { cwd: dir, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`cpio: ${r.stderr.toString().trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
