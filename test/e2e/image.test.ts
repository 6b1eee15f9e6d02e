// The DaemonSet's image, built for real: config/image/Containerfile with `podman build` (no registry
// pull: FROM scratch, the compiled binary and the libraries ldd names), then run as the DaemonSet
// runs it — privileged, the host's pid namespace and network, the manifest's host mounts and
// command — and asked to report a runc container started on the host. Everything short of a cluster.
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resetStore } from "../../lib/store/index.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { rememberRuntimeCgroups, removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { busyboxRootfs, hookshimExecutable, REPO, runc, runcBundle } from "./hooks-harness.ts";

const tmp = mkdtempSync(join(tmpdir(), `hookshim-image-${process.pid}-`));
const image = `localhost/hookshim-test-image:${process.pid}`;
const name = `hookshim-test-notifier-${process.pid}`;
const store = `hookshim-test-image-${process.pid}`;
const parent = `/hookshim-test-image-${process.pid}`;
// The notifier reads bundles, pid files and runc's state in its own mount namespace: they go under
// /run, which the DaemonSet mounts (where containerd and CRI-O keep theirs), not under /tmp.
const runBundles = `/run/hookshim-test-image-${process.pid}`;
const runcRoot = join(runBundles, "runc-root");
// podman on these hosts (no systemd, hybrid cgroups): see README
const PODMAN = ["podman", "--cgroup-manager=cgroupfs", "--runtime=runc"];

interface Mount { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }
interface Volume { name: string; hostPath: { path: string } }

/** The DaemonSet's volumeMounts as podman -v options: host path, container path, ro, propagation. */
function podmanVolumes(mounts: Mount[], volumes: Volume[]): string[] {
  const host = new Map(volumes.map((v) => [v.name, v.hostPath.path]));
  const propagation: Record<string, string> = { Bidirectional: "rshared", HostToContainer: "rslave" };
  return mounts.flatMap((m) => {
    const opts = [m.readOnly ? "ro" : "rw", propagation[m.mountPropagation ?? ""] ?? "rprivate"];
    return ["-v", `${host.get(m.name)}:${m.mountPath}:${opts.join(",")}`];
  });
}

function podman(args: string[], timeout = 120_000): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([...PODMAN, ...args], { stdout: "pipe", stderr: "pipe", timeout });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

describeNeeds(["root", "podman", "runc", "busybox", "bpffs", "fanotify", "tracefs"], "the DaemonSet image", () => {
  const cleanCgroups = rememberRuntimeCgroups();
  beforeAll(() => {
    const exe = hookshimExecutable(tmp);
    if (!exe.compiled) throw new Error(`cannot build hookshim: ${exe.buildError}`);
    const ctx = join(tmp, "context");
    mkdirSync(ctx);
    const prep = Bun.spawnSync([join(REPO, "config/image/prepare-context.sh"), exe.path, ctx], { stderr: "pipe" });
    if (prep.exitCode !== 0) throw new Error(`prepare-context.sh: ${prep.stderr}`);
  }, 180_000);

  afterAll(async () => {
    podman(["rm", "-f", "--ignore", name]);
    podman(["rmi", "-f", image]);
    const listed = await runc(runcRoot, "list", "-q");
    for (const id of listed.out.split("\n").filter(Boolean)) await runc(runcRoot, "delete", "-f", id);
    removeGroupEverywhere(parent);
    resetStore(store);
    rmSync(tmp, { recursive: true, force: true });
    rmSync(runBundles, { recursive: true, force: true });
    await cleanCgroups();
  }, 60_000);

  needs("root")("podman build makes the image offline: the binary and its libraries, nothing else", () => {
    const b = podman(["build", "--network=none", "--pull=never", "-f", join(REPO, "config/image/Containerfile"), "-t", image, join(tmp, "context")], 300_000);
    expect(b.err).not.toContain("Error");
    expect(b.code).toBe(0);
    const help = podman(["run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("notifier");
  }, 300_000);

  needs("root")("run as the DaemonSet runs it, it reports a runc container started on the host, with the exit code", async () => {
    const ds = Bun.YAML.parse(readFileSync(join(REPO, "config/k8s/container-notifier.yaml"), "utf8")) as any;
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.hostPID && pod.hostNetwork && c.securityContext.privileged).toBe(true);
    const [exe, ...args] = c.command as string[];
    // the manifest's command, with this test's store and a metrics port no other test uses
    const argv = [exe!, "--store", store, ...args.map((a) => (a === "127.0.0.1:9464" ? "127.0.0.1:39465" : a))];
    const run = podman(["run", "-d", "--pull=never", "--name", name, "--privileged", "--pid=host", "--network=host",
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
      ...podmanVolumes(c.volumeMounts, pod.volumes), "--entrypoint", argv[0]!, image, ...argv.slice(1)]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    const logs = () => podman(["logs", name]);
    for (let i = 0; i < 300 && !logs().err.includes("watching"); i++) await Bun.sleep(100);
    expect(logs().err).toContain("watching");

    const rootfs = busyboxRootfs(tmp);
    const id = `hs-image-${process.pid}`;
    const bundle = runcBundle(runBundles, id, rootfs, ["sh", "-c", "exit 4"], `${parent}/${id}`);
    // runc's --root exists before runc runs, as /run/runc and containerd's roots do on a node (the
    // notifier does not yet follow a `runc run` whose --root directory runc itself creates)
    mkdirSync(runcRoot, { recursive: true });
    expect((await runc(runcRoot, "run", "--bundle", bundle, id)).code).toBe(4);
    const mine = () => logs().out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((e) => e.id === id);
    for (let i = 0; i < 200 && !mine().some((e) => e.type === "remove"); i++) await Bun.sleep(100);
    const evs = mine();
    expect(evs.map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
    expect(evs[1]).toMatchObject({ runtime: "runc", bundle, source: "notifier" });
    expect(evs[2]).toMatchObject({ exitCode: 4, source: "notifier" });
    const metrics = await fetch("http://127.0.0.1:39465/metrics").then((r) => r.text(), () => "");
    expect(metrics).toContain("hookshim_notifier");
  }, 120_000);
});
