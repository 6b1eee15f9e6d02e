// docker end to end, on a private dockerd: the runtime entry `hookshim install --docker-config`
// writes, `docker run --runtime hookshim` getting the hooks.d hooks (hookshim's own among them) and
// the device filter, the exit code in `hookshim events`, the registry naming docker's containers,
// and the notifier following containerd-shim-runc-v2's runc calls (--root, --log, a pid file).
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerFromCgroupPath, getContainerIdFromTaskDir } from "../../lib/containers/index.ts";
import { resetStore } from "../../lib/store/index.ts";
import { importBusyboxImage, privateDaemonConfig, startDockerd, type Dockerd } from "../support/dockerd.ts";
import { describeNeeds, needs } from "../support/prereq.ts";
import { rememberRuntimeCgroups, removeGroupEverywhere } from "../support/runtime-cgroups.ts";
import { DENY_DEV_ZERO, hookshimExecutable, run } from "./hooks-harness.ts";

const tmp = mkdtempSync(join(tmpdir(), `hookshim-docker-${process.pid}-`));
const store = `hookshim-test-docker-${process.pid}`;
const cgroupParent = `/hookshim-test-docker-${process.pid}`;
const image = `hookshim-test-busybox-${process.pid}`;
let counter = 0;
const uniq = (what: string) => `hs-docker-${what}-${process.pid}-${++counter}`;

let exe = "";
let configFile = "";
let hooksLog = "";
let dockerd: Dockerd | undefined;

// `events` and `ps` read the store --store names (not the config's), so both are given
function hookshimCli(args: string[]) {
  return run([exe, "--config", configFile, "--store", store, ...args]);
}

async function events(id: string): Promise<Record<string, unknown>[]> {
  const r = await hookshimCli(["events", "--json"]);
  if (r.code !== 0) throw new Error(`hookshim events: ${r.err}`);
  return r.out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((e) => e.id === id);
}

async function waitFor<T>(get: () => Promise<T> | T, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await Bun.sleep(50);
  }
}

describeNeeds(["root", "dockerd", "runc", "busybox", "bpffs", "fanotify"], "docker with hookshim-runtime", () => {
  beforeAll(async () => {
    const built = hookshimExecutable(tmp);
    if (!built.compiled) throw new Error(`cannot build hookshim: ${built.buildError}`);
    exe = built.path;
    const bin = join(tmp, "bin");
    mkdirSync(bin);
    symlinkSync(exe, join(bin, "hookshim-runtime"));

    // hookshim's config: this test's store and parent, the default policy (deny /dev/zero), and a
    // hooks.d directory of our own that the shim reads
    const hooksDir = join(tmp, "hooks.d");
    hooksLog = join(tmp, "hooks.log");
    configFile = join(tmp, "hookshim.json");
    writeFileSync(configFile, JSON.stringify({
      store, cgroupParent, hooksDirs: [hooksDir],
      devices: { rules: [DENY_DEV_ZERO], requests: { allowed: false, permitted: [] } },
    }));
    const installed = await hookshimCli(["install", "--hooks-dir", hooksDir, "--binary", exe]);
    if (installed.code !== 0) throw new Error(`hookshim install --hooks-dir: ${installed.err}`);
    // a second hooks.d hook, to see the shim inject more than hookshim's own
    writeFileSync(join(hooksDir, "50-log.json"), JSON.stringify({
      version: "1.0.0",
      hook: { path: "/bin/sh", args: ["sh", "-c", `echo "$(cat | head -c 200 | grep -o '"id":"[0-9a-f]*"') prestart" >> ${hooksLog}`] },
      when: { always: true },
      stages: ["prestart"],
    }));

    // daemon.json: the private daemon's settings, then hookshim's runtime merged in by install
    dockerd = await startDockerd(join(tmp, "dockerd"), {
      env: { HOOKSHIM_CONFIG: configFile },
      writeConfig: (file) => {
        writeFileSync(file, JSON.stringify(privateDaemonConfig(join(tmp, "dockerd"), { "log-level": "warn" }), null, 2));
        const r = Bun.spawnSync([exe, "install", "--docker-config", file, "--write", "--binary", join(bin, "hookshim-runtime")], { stderr: "pipe" });
        if (r.exitCode !== 0) throw new Error(`hookshim install --docker-config: ${r.stderr}`);
      },
    });
    importBusyboxImage(dockerd, image);
  }, 180_000);

  afterAll(async () => {
    if (dockerd) {
      const ids = dockerd.docker(["ps", "-aq"]).out.split("\n").filter(Boolean);
      if (ids.length) dockerd.docker(["rm", "-f", ...ids]);
      dockerd.docker(["rmi", "-f", image]);
      await dockerd.stop();
    }
    resetStore(store);
    removeGroupEverywhere(cgroupParent);
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  needs("root")("install --docker-config kept the daemon's own settings and added the runtime", () => {
    const doc = JSON.parse(readFileSync(dockerd!.configFile, "utf8"));
    expect(doc).toMatchObject({ bridge: "none", iptables: false, "log-level": "warn" });
    expect(doc.runtimes).toEqual({ hookshim: { path: join(tmp, "bin", "hookshim-runtime") } });
    expect(dockerd!.docker(["info", "--format", "{{json .Runtimes}}"]).out).toContain('"hookshim"');
  });

  needs("root")("docker run --runtime hookshim: hooks.d hooks run, /dev/zero is denied, exit 6 lands in hookshim events", async () => {
    const name = uniq("exit");
    const cidfile = join(tmp, `${name}.cid`);
    const r = dockerd!.docker(["run", "--runtime", "hookshim", "--network", "none", "--name", name, "--cidfile", cidfile, image,
      "sh", "-c", "head -c 1 /dev/zero >/dev/null && echo READ-ZERO; head -c 1 /dev/null; exit 6"]);
    expect(r.out).not.toContain("READ-ZERO");
    expect(r.err).toContain("/dev/zero");
    expect(r.code).toBe(6);
    const id = readFileSync(cidfile, "utf8").trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(hooksLog, "utf8")).toContain(`"id":"${id}" prestart`);

    const evs = await waitFor(() => events(id), (e) => e.some((x) => x.type === "stopped"), "the stopped event");
    expect(evs.map((e) => e.type)).toEqual(["created", "stopped"]);
    expect(evs[1]).toMatchObject({ exitCode: 6, signal: null, source: "hook" });
    // docker's cgroupfs driver: /docker/<id>, named docker by the registry's path rules
    expect(evs[0]!.cgroup).toEndWith(`/docker/${id}`);
    expect(containerFromCgroupPath(evs[0]!.cgroup as string)).toMatchObject({ runtime: "docker", containerId: id, containerRoot: true });
    dockerd!.docker(["rm", name]);
  }, 120_000);

  needs("root")("a running docker container: the registry names it docker with its 64-hex id; hookshim ps lists it", async () => {
    const name = uniq("running");
    const r = dockerd!.docker(["run", "-d", "--runtime", "hookshim", "--network", "none", "--name", name, image, "sleep", "60"]);
    expect(r.code).toBe(0);
    const id = r.out.trim();
    const pid = Number(dockerd!.docker(["inspect", "--format", "{{.State.Pid}}", id]).out.trim());
    expect(pid).toBeGreaterThan(0);
    expect(getContainerIdFromTaskDir(pid)).toMatchObject({ runtime: "docker", containerId: id, containerRoot: true });
    const ps = await hookshimCli(["ps", "--json"]);
    const row = ps.out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((c) => c.id === id);
    expect(row).toMatchObject({ id, pid });
    expect(dockerd!.docker(["rm", "-f", id]).code).toBe(0);
    const evs = await waitFor(() => events(id), (e) => e.some((x) => x.type === "stopped"), "the stopped event");
    expect(evs.at(-1)).toMatchObject({ type: "stopped", signal: 9, source: "hook" });
  }, 120_000);

  needs("root")("the notifier follows docker's containers: precreate, add and remove with the exit code", async () => {
    const notifierStore = `${store}-notifier`;
    const n = Bun.spawn([exe, "--store", notifierStore, "notifier", "--json"], { stdout: "pipe", stderr: "pipe" });
    const lines: string[] = [];
    const errs: string[] = [];
    const collect = async (s: ReadableStream<Uint8Array>, into: string[]) => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of s) {
        buf += dec.decode(chunk, { stream: true });
        const parts = buf.split("\n");
        buf = parts.pop()!;
        into.push(...parts.filter(Boolean));
      }
    };
    void collect(n.stdout as ReadableStream<Uint8Array>, lines);
    void collect(n.stderr as ReadableStream<Uint8Array>, errs);
    try {
      await waitFor(() => errs.some((l) => l.includes("watching")), (v) => v, "the notifier to start");
      // docker's default runtime: containerd-shim-runc-v2 runs /usr/sbin/runc with --root, --log and --pid-file
      const name = uniq("notified");
      const r = dockerd!.docker(["run", "--network", "none", "--name", name, image, "sh", "-c", "exit 9"]);
      expect(r.code).toBe(9);
      const id = dockerd!.docker(["inspect", "--format", "{{.Id}}", name]).out.trim();
      const mine = () => lines.map((l) => JSON.parse(l)).filter((e) => e.id === id);
      const evs = await waitFor(mine, (e) => e.some((x) => x.type === "remove"), `the notifier's remove event (stderr: ${errs.slice(-3).join(" | ")})`);
      expect(evs.map((e) => e.type)).toEqual(["precreate", "add", "remove"]);
      expect(evs[1]).toMatchObject({ runtime: "runc", source: "notifier" });
      expect(evs[1].pid).toBeGreaterThan(0);
      expect(evs[2]).toMatchObject({ exitCode: 9, source: "notifier" });
      dockerd!.docker(["rm", name]);
    } finally {
      n.kill("SIGTERM");
      await n.exited;
      resetStore(notifierStore);
    }
  }, 120_000);
});

// dockerd leaves /docker behind in every hierarchy; registered last so it runs after the clean-up above
afterAll(rememberRuntimeCgroups(), 10_000);
