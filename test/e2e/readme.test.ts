// The README's examples, run as written: each ```sh block after an `<!-- e2e: NAME -->` marker runs
// in bash (-e, pipefail) as root, with the compiled hookshim (and its hookshim-runtime and
// container-notifier names) first on PATH, in the order the README gives them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeNeeds } from "../support/prereq.ts";
import { hookshimExecutable, REPO } from "./hooks-harness.ts";
import { rememberRuntimeCgroups } from "../support/runtime-cgroups.ts";
import { scaled } from "../support/time.ts";


const README = readFileSync(join(REPO, "README.md"), "utf8");

/** name -> script, in README order */
export function readmeExamples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- e2e: ([\w-]+) -->\n```sh\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.set(m[1]!, m[2]!);
  return out;
}

const examples = readmeExamples(README);
let bin = "";
let work = "";
let storeExisted = true;
const SYSTEM_HOOKS_FILE = "/usr/share/containers/oci/hooks.d/hookshim.json";
let hooksFileExisted = true;

function run(name: string, timeoutMs = 60_000): { code: number; out: string; err: string } {
  const script = examples.get(name);
  if (!script) throw new Error(`README has no e2e example "${name}"`);
  const p = Bun.spawnSync(["bash", "-e", "-o", "pipefail", "-c", script], {
    env: { ...process.env, PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
    cwd: "/",
    stdout: "pipe",
    stderr: "pipe",
    timeout: scaled(timeoutMs),
  });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

function ok(name: string, timeoutMs?: number): string {
  const r = run(name, timeoutMs);
  if (r.code !== 0) throw new Error(`README example "${name}" exited ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r.out;
}

{
  const gate = ["root", "runc", "podman", "containerd", "ctr", "dockerd", "busybox", "bpffs"] as const;
  describeNeeds([...gate], "README examples", () => {
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), "hookshim-readme-"));
      bin = join(work, "bin");
      Bun.spawnSync(["mkdir", "-p", bin]);
      const exe = hookshimExecutable(work);
      if (!exe.compiled) throw new Error(`cannot build hookshim: ${exe.buildError}`);
      for (const name of ["hookshim", "hookshim-runtime", "container-notifier"]) symlinkSync(exe.path, join(bin, name));
      storeExisted = existsSync("/sys/fs/bpf/hookshim");
      hooksFileExisted = existsSync(SYSTEM_HOOKS_FILE);
      ok("rootfs");
    }, scaled(120_000));

    afterAll(() => {
      // the examples use the default store; leave a store that was there before alone
      if (!storeExisted && bin) Bun.spawnSync([join(bin, "hookshim"), "store", "reset"]);
      // the CRI-O and containerd examples install the default hooks.d file; it points at our temporary binary
      if (!hooksFileExisted) rmSync(SYSTEM_HOOKS_FILE, { force: true });
      rmSync("/tmp/hs-rootfs", { recursive: true, force: true });
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test("every example has a marker and a runner here", () => {
      expect([...examples.keys()]).toEqual(["rootfs", "runc", "podman", "crio", "containerd", "docker", "notifier", "kubernetes"]);
    });

    test("runc: hooks in config.json record created and stopped with the exit code", () => {
      const out = ok("runc");
      expect(out).toContain("container exited with 7");
      const events = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      expect(events.map((e) => e.type)).toEqual(["created", "stopped"]);
      expect(events[1]).toMatchObject({ id: "hs-runc-demo", exitCode: 7, signal: null, source: "hook" });
    });

    test("podman --hooks-dir: the stopped event carries exit code 3", () => {
      const out = ok("podman", 120_000);
      const ev = JSON.parse(out.trim().split("\n").pop()!);
      expect(ev).toMatchObject({ type: "stopped", exitCode: 3, source: "hook" });
      expect(existsSync("/tmp/hs-hooks.d")).toBe(false);
    });

    test("CRI-O: the hooks.d file in CRI-O's default hooks_dir validates", () => {
      expect(ok("crio")).toContain("hooks.d file is valid");
      expect(JSON.parse(readFileSync(SYSTEM_HOOKS_FILE, "utf8")).hook.path).toBe(realpathSync(join(bin, "hookshim")));
    });

    test("containerd: ctr runs the container through hookshim-runtime", () => {
      const out = ok("containerd", 120_000);
      expect(out).toContain("BinaryName");
      expect(out).toContain("container exited with 5");
      // the shim injected the hooks.d hooks, so hookshim's poststop recorded the exit
      const ev = JSON.parse(out.trim().split("\n").pop()!);
      expect(ev).toMatchObject({ type: "stopped", id: "hs-ctr-demo", exitCode: 5, source: "hook" });
    });

    test("docker: install --docker-config, then docker run --runtime hookshim records exit code 8", () => {
      const out = ok("docker", 180_000);
      expect(out).toContain("docker: wrote the hookshim runtime to /tmp/hs-docker/daemon.json");
      expect(out).toContain("container exited with 8");
      const ev = JSON.parse(out.trim().split("\n").pop()!);
      expect(ev).toMatchObject({ type: "stopped", exitCode: 8, source: "hook" });
      expect(ev.id).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync("/tmp/hs-docker")).toBe(false);
    }, 200_000);

    test("container-notifier: precreate, add and remove with the exit code", () => {
      const out = ok("notifier", 120_000);
      const events = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      expect(events.map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
      expect(events[2]).toMatchObject({ id: "hs-notify-demo", exitCode: 4, source: "notifier" });
    });

    test("Kubernetes: the DaemonSet is well formed and its command runs the notifier with those mounts", async () => {
      expect(examples.get("kubernetes")!.trim()).toBe("kubectl apply -f config/k8s/container-notifier.yaml");
      // No cluster here: check the manifest, then run its container command on the host (the
      // host already has every path the DaemonSet mounts at the same place).
      const ds = Bun.YAML.parse(readFileSync(join(REPO, "config/k8s/container-notifier.yaml"), "utf8")) as any;
      expect(ds.kind).toBe("DaemonSet");
      const pod = ds.spec.template.spec;
      expect(pod.hostPID).toBe(true);
      const c = pod.containers[0];
      expect(c.securityContext.privileged).toBe(true);
      const mounts = new Set(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath));
      for (const p of ["/sys/fs/bpf", "/sys/kernel/tracing", "/run"]) expect(mounts.has(p)).toBe(true);
      const [exe, ...args] = c.command as string[];
      expect(exe).toBe("/opt/hookshim/hookshim");
      expect(args[0]).toBe("notifier");
      const metricsAddr = "127.0.0.1:39464";
      const argv = args.map((a) => (a === "127.0.0.1:9464" ? metricsAddr : a));
      const p = Bun.spawn([join(bin, "hookshim"), ...argv], { stdout: "pipe", stderr: "pipe" });
      try {
        let metrics = "";
        for (let i = 0; i < 100 && !metrics; i++) {
          await Bun.sleep(100);
          metrics = await fetch(`http://${metricsAddr}/metrics`).then((r) => r.text(), () => "");
        }
        expect(metrics).toContain("hookshim_notifier");
      } finally {
        p.kill("SIGTERM");
        await p.exited;
      }
    }, scaled(60_000));
  });
}

// podman and containerd leave /libpod_parent and /default behind in every hierarchy; registered last so
// it runs after the file's own clean-up has removed its containers
afterAll(rememberRuntimeCgroups(), 10_000);
