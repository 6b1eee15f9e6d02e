// A private dockerd for a test: its own data root, exec root, socket and daemon.json, no bridge and
// no iptables rules (the test machines have no network to give containers), and an image imported
// offline from a busybox root filesystem. Nothing of the host's docker (if any) is touched.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxRootfs } from "./bundle.ts";

export interface Dockerd {
  dir: string;
  /** daemon.json; the test may edit it and call reload() */
  configFile: string;
  /** environment for the docker client: DOCKER_HOST is this daemon's socket */
  env: Record<string, string>;
  /** docker CLI against this daemon */
  docker(args: string[], opts?: { timeoutMs?: number }): { code: number; out: string; err: string };
  /** SIGHUP: dockerd re-reads daemon.json (runtimes included) */
  reload(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/** daemon.json settings that keep the daemon inside DIR and off the network. */
export function privateDaemonConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "data-root": join(dir, "root"),
    "exec-root": join(dir, "exec"),
    pidfile: join(dir, "dockerd.pid"),
    hosts: [`unix://${join(dir, "docker.sock")}`],
    bridge: "none",
    iptables: false,
    ip6tables: false,
    "ip-forward": false,
    "ip-masq": false,
    ...extra,
  };
}

/**
 * Starts dockerd with DIR/daemon.json as written by `writeConfig` (the default: privateDaemonConfig),
 * and `env` added to its environment (it reaches containerd, its shims and the runtimes they run).
 */
export async function startDockerd(dir: string, opts: { env?: Record<string, string>; writeConfig?: (file: string) => void } = {}): Promise<Dockerd> {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, "daemon.json");
  if (opts.writeConfig) opts.writeConfig(configFile);
  else writeFileSync(configFile, JSON.stringify(privateDaemonConfig(dir), null, 2));
  const logFile = join(dir, "dockerd.log");
  const proc = Bun.spawn(["dockerd", "--config-file", configFile], {
    env: { ...process.env, ...opts.env },
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  const env = { ...(process.env as Record<string, string>), DOCKER_HOST: `unix://${join(dir, "docker.sock")}` };
  const docker: Dockerd["docker"] = (args, o = {}) => {
    const r = Bun.spawnSync(["docker", ...args], { env, stdout: "pipe", stderr: "pipe", timeout: o.timeoutMs ?? 60_000 });
    return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  for (let i = 0; i < 300 && docker(["version"]).code !== 0; i++) {
    if (proc.exitCode !== null) throw new Error(`dockerd exited ${proc.exitCode}: ${log().split("\n").slice(-5).join(" | ")}`);
    await Bun.sleep(100);
  }
  if (docker(["version"]).code !== 0) {
    proc.kill("SIGKILL");
    throw new Error(`dockerd did not answer within 30 s: ${log().split("\n").slice(-5).join(" | ")}`);
  }
  return {
    dir,
    configFile,
    env,
    docker,
    log,
    async reload() {
      const before = log().length;
      proc.kill("SIGHUP");
      for (let i = 0; i < 100 && !log().slice(before).includes("Reloaded configuration"); i++) await Bun.sleep(50);
    },
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** A docker image NAME made offline: `tar -C rootfs -c . | docker import - NAME` from busybox. */
export function importBusyboxImage(d: Dockerd, name: string): void {
  const rootfs = busyboxRootfs(join(d.dir, `image-${name.replace(/[^\w.-]/g, "_")}`));
  const r = Bun.spawnSync(["sh", "-c", `tar -C '${rootfs}' -c . | docker import - '${name}'`], { env: d.env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`docker import ${name}: ${r.stderr}`);
}
