// Debian's LTS kernel packages for the VM lane: found through their meta packages, downloaded with
// `apt-get download`, unpacked with `dpkg-deb -x` and indexed with `depmod -b`, once, into a cache
// that outlives the run (HOOKSHIM_VM_CACHE, default /var/cache/hookshim-vm).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";

export const KERNELS = {
  // Debian 12's stock kernel.
  "6.1": { meta: "linux-image-amd64", accel: "tcg" },
  // Debian 12's backported LTS kernel. Multi-threaded TCG oopses it (int3 in kernel text patching).
  "6.12": { meta: "linux-image-6.12-amd64", accel: "tcg,thread=single" },
} as const;
export type KernelName = keyof typeof KERNELS;

export interface Kernel {
  name: KernelName;
  /** The versioned package, e.g. linux-image-6.1.0-57-amd64. */
  pkg: string;
  /** `uname -r` of the guest. */
  release: string;
  vmlinuz: string;
  /** The unpacked package; lib/modules/<release> below it holds the modules, indexed by depmod. */
  root: string;
}

export const CACHE = process.env.HOOKSHIM_VM_CACHE || "/var/cache/hookshim-vm";

function run(argv: string[], cwd?: string): string {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().trim().split("\n").slice(-3).join(" | ")}`);
  return r.stdout.toString();
}

/** The versioned kernel package a meta package depends on (updating apt's lists once if it knows none). */
function resolvePackage(meta: string): string {
  const find = () => /Depends: (linux-image-[^\s]+)/.exec(run(["apt-cache", "depends", meta]))?.[1];
  let pkg: string | undefined;
  try {
    pkg = find();
  } catch {}
  if (!pkg) {
    run(["apt-get", "update", "-qq"]);
    pkg = find();
  }
  if (!pkg) throw new Error(`apt-cache depends ${meta} names no kernel package`);
  return pkg;
}

export async function ensureKernel(name: KernelName): Promise<Kernel> {
  const pkg = resolvePackage(KERNELS[name].meta);
  const root = join(CACHE, pkg);
  if (!existsSync(join(root, ".ready"))) {
    mkdirSync(CACHE, { recursive: true });
    const work = mkdtempSync(join(CACHE, `.${pkg}-`));
    try {
      console.log(`test:vm: downloading ${pkg}`);
      run(["apt-get", "download", "-q", pkg], work);
      const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
      if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
      const tree = join(work, "root");
      run(["dpkg-deb", "-x", join(work, deb), tree]);
      const release = readdirSync(join(tree, "lib/modules"))[0]!;
      run(["depmod", "-b", tree, release]);
      writeFileSync(join(tree, ".ready"), release + "\n");
      rmSync(root, { recursive: true, force: true });
      renameSync(tree, root);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const release = readdirSync(join(root, "lib/modules"))[0]!;
  if (!release.startsWith(name + ".")) throw new Error(`${pkg} is kernel ${release}, not ${name}`);
  return { name, pkg, release, vmlinuz: join(root, "boot", `vmlinuz-${release}`), root };
}
