// hookshim install: register the hooks with the runtimes on this host.
//   install [--hooks-dir DIR] [--binary PATH] [--prefix DIR]   hooks.d file for podman and CRI-O
//   install --bundle DIR [--binary PATH]                        hooks into one bundle's config.json (runc)
//   install --containerd-config F | --docker-config F [--write]  the runtime shim for containerd / dockerd
//   install --notifier-service [--unit-dir DIR] [--binary PATH]  container-notifier.service for systemd
//   ... --uninstall                                             the reverse of each
// The hooks run the compiled binary: the one running this command, or --binary. With --prefix the
// binary is first copied to PREFIX/bin/hookshim and the hooks point there.
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, symlinkSync, unlinkSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import {
  DEFAULT_HOOKS_DIR, bundleHooks, compiledExecutable, injectIntoBundle, removeFromBundle, removeHooksFile, writeHooksFile,
  type HookCommand,
} from "../lifecycle/registration.ts";
import type { GlobalOptions } from "./context.ts";
import { flag, str, type ParsedCommand } from "../options/index.ts";
import { UsageError } from "../errors.ts";

const CMD = "install";

/** Copies the binary into place atomically (a running hook keeps the old file), mode 0755. */
function installBinary(source: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    copyFileSync(source, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw new Error(`installing ${source} as ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The names the multi-call binary answers to (main.ts commandForArgv0). */
const MULTICALL_NAMES = ["hookshim-runtime", "container-notifier"];

/** hookshim-runtime and container-notifier beside the installed binary, as relative symlinks. */
function linkAliases(binary: string): string[] {
  return MULTICALL_NAMES.map((name) => {
    const link = join(dirname(binary), name);
    const tmp = `${link}.${process.pid}.tmp`;
    symlinkSync(basename(binary), tmp);
    renameSync(tmp, link);
    return link;
  });
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolve(p);
}

/** The executable the hooks run, and where it is copied from when --prefix asks for a copy. */
function hookBinary(binary: string | undefined, prefix: string | undefined): { path: string; source?: string } {
  const source = binary !== undefined ? absolute(binary) : compiledExecutable();
  if (prefix !== undefined) {
    const path = join(absolute(prefix), "bin", "hookshim");
    return { path, source: source === path ? undefined : source };
  }
  if (!source)
    throw new UsageError(`${CMD}: this is not the compiled hookshim, so there is no binary to register: give --binary PATH (npm run build makes dist/hookshim)`);
  return { path: source };
}

function printRegistration(cmd: HookCommand, hooksDir: string): void {
  console.log(`runc: add to the bundle's config.json (or run: hookshim install --bundle DIR):`);
  console.log(JSON.stringify({ hooks: bundleHooks(cmd) }, null, 2));
  console.log(`podman: reads ${hooksDir} when it is in its hooks_dir list, or: podman --hooks-dir ${hooksDir} run ...`);
  console.log(`CRI-O: [crio.runtime] hooks_dir = ["${hooksDir}"] in /etc/crio/crio.conf`);
  console.log(`containerd: has no hooks.d; put the runtime shim in front of runc (hookshim runtime)`);
}

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {

  // ---- containerd and docker: `--containerd-config F` / `--docker-config F` register the runtime
  // shim (lib/cli/install-runtime.ts); dispatched here, before anything below touches hooks. ----
  const containerdConfig = str(p, "containerd-config");
  const dockerConfig = str(p, "docker-config");
  if (containerdConfig !== undefined || dockerConfig !== undefined) {
    if (p.positionals.length) throw new UsageError(`${CMD}: unexpected argument ${p.positionals[0]}`);
    const { installRuntime, installDockerRuntime } = await import("./install-runtime.ts");
    const write = flag(p, "write");
    const binary = str(p, "binary");
    let code = 0;
    if (containerdConfig !== undefined) code ||= installRuntime({ containerdConfig, write, binary });
    if (dockerConfig !== undefined) code ||= installDockerRuntime({ dockerConfig, write, binary });
    return code;
  }

  // ---- the notifier as a systemd service (lib/cli/install-service.ts) ----
  if (flag(p, "notifier-service")) {
    if (p.positionals.length) throw new UsageError(`${CMD}: unexpected argument ${p.positionals[0]}`);
    const { installNotifierService } = await import("./install-service.ts");
    const uninstall = flag(p, "uninstall");
    const binary = uninstall ? "" : hookBinary(str(p, "binary"), str(p, "prefix")).path;
    return installNotifierService({ binary, unitDir: str(p, "unit-dir"), uninstall });
  }

  // ---- OCI hooks: hooks.d file, or one bundle's config.json ----
  const uninstall = flag(p, "uninstall");
  const bundle = str(p, "bundle");
  const hooksDir = absolute(str(p, "hooks-dir") ?? DEFAULT_HOOKS_DIR);
  const prefix = str(p, "prefix");
  if (bundle !== undefined && (str(p, "hooks-dir") !== undefined || prefix !== undefined))
    throw new UsageError(`${CMD}: --bundle edits one config.json; it does not go with --hooks-dir or --prefix`);

  const binary = hookBinary(str(p, "binary"), prefix);
  const cmd: HookCommand = { binary: binary.path, configPath: g.configPath && absolute(g.configPath), store: g.store };

  if (bundle !== undefined) {
    if (uninstall) {
      const r = removeFromBundle(bundle, cmd.binary);
      console.log(r.removed ? `removed ${r.removed} hookshim hook(s) from ${r.file}` : `${r.file} has no hook running ${cmd.binary}`);
    } else {
      const r = injectIntoBundle(bundle, cmd);
      console.log(r.added ? `added hookshim's prestart and poststop hooks to ${r.file}` : `${r.file} already runs hookshim's hooks`);
    }
    return 0;
  }

  if (uninstall) {
    console.log(removeHooksFile(hooksDir) ? `removed ${join(hooksDir, "hookshim.json")}` : `no hookshim.json in ${hooksDir}`);
    if (prefix !== undefined && existsSync(binary.path)) {
      for (const alias of MULTICALL_NAMES.map((n) => join(dirname(binary.path), n)))
        if (existsSync(alias)) unlinkSync(alias);
      unlinkSync(binary.path);
      console.log(`removed ${binary.path} and its ${MULTICALL_NAMES.join(", ")} links`);
    }
    return 0;
  }

  if (binary.source) {
    installBinary(binary.source, binary.path);
    console.log(`installed ${binary.path}`);
  }
  if (prefix !== undefined) for (const alias of linkAliases(binary.path)) console.log(`linked ${alias} -> hookshim`); else if (!existsSync(binary.path)) {
    throw new UsageError(`${CMD}: ${binary.path} does not exist: build it (npm run build) or give --binary PATH`);
  }
  console.log(`wrote ${writeHooksFile(hooksDir, cmd)}`);
  printRegistration(cmd, hooksDir);
  return 0;
}
