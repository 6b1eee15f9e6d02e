// Gates tests on what the host provides. Outside CI a missing prerequisite skips the test with a
// message naming it; in CI (CI=true) the test runs and fails, so a broken CI machine cannot pass.
import { test, describe } from "bun:test";
import { existsSync, readFileSync, accessSync, constants } from "node:fs";

export const inCI = process.env.CI === "true" || process.env.CI === "1";

function which(bin: string): string | undefined {
  for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    const p = `${dir}/${bin}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

function mounted(fstype: string): boolean {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" - ")[1]?.startsWith(fstype + " "));
  } catch {
    return false;
  }
}

const checks: Record<string, () => boolean> = {
  root: () => process.getuid?.() === 0,
  cgroup2: () => mounted("cgroup2"),
  btf: () => existsSync("/sys/kernel/btf/vmlinux"),
  // bpffs and tracefs are mounted by .ci/run (and by the code itself where it needs them).
  bpffs: () => mounted("bpf"),
  tracefs: () => mounted("tracefs") || existsSync("/sys/kernel/tracing/events"),
  fanotify: () => existsSync("/proc/sys/fs/fanotify/max_user_groups"),
  "cgroup-v1-devices": () => existsSync("/sys/fs/cgroup/devices/devices.allow"),
  // a pure cgroup v2 host (the VM lanes): cgroup2 mounted at /sys/fs/cgroup itself, no v1 hierarchies
  "cgroup2-pure": () => {
    try {
      return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === "/sys/fs/cgroup" && l.split(" - ")[1]?.startsWith("cgroup2 "));
    } catch {
      return false;
    }
  },
  crun: () => !!which("crun"),
  runc: () => !!which("runc"),
  podman: () => !!which("podman"),
  containerd: () => !!which("containerd"),
  ctr: () => !!which("ctr"),
  dockerd: () => !!which("dockerd") && !!which("docker"),
  "systemd-analyze": () => !!which("systemd-analyze"),
  // systemd as PID 1 with its D-Bus API on the system bus (the vm-systemd lane)
  systemd: () => {
    try {
      return readFileSync("/proc/1/comm", "utf8").trim() === "systemd" && existsSync("/run/dbus/system_bus_socket");
    } catch {
      return false;
    }
  },
  busybox: () => existsSync("/bin/busybox") || !!which("busybox"),
  cc: () => !!which("cc"),
  bpftool: () => !!which("bpftool") || existsSync("/usr/sbin/bpftool"),
  // linux-libc-dev: the kernel's syscall tables, to check hookshim's against
  "asm-generic-headers": () => existsSync("/usr/include/asm-generic/unistd.h"),
  "x86-64-headers": () => existsSync("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
};

export type Prerequisite = keyof typeof checks;

const cache = new Map<string, boolean>();
export function has(req: Prerequisite): boolean {
  let v = cache.get(req);
  if (v === undefined) {
    v = checks[req]!();
    cache.set(req, v);
  }
  return v;
}

export function missing(reqs: Prerequisite[]): Prerequisite[] {
  return reqs.filter((r) => !has(r));
}

type TestFn = () => void | Promise<unknown>;

/** `needs("root", "runc")("name", fn)` — a bun:test `test` gated on prerequisites. */
export function needs(...reqs: Prerequisite[]) {
  const miss = missing(reqs);
  const gated = (name: string, fn: TestFn, timeout?: number) => {
    if (miss.length === 0) return test(name, fn, timeout);
    if (inCI)
      return test(name, () => {
        throw new Error(`missing prerequisite in CI: ${miss.join(", ")}`);
      });
    return test.skip(`${name} [skipped: missing ${miss.join(", ")}]`, fn);
  };
  return gated;
}

/** Same gate for a whole describe block. */
export function describeNeeds(reqs: Prerequisite[], name: string, body: () => void) {
  const miss = missing(reqs);
  if (miss.length === 0) return describe(name, body);
  if (inCI)
    return describe(name, () => {
      test("prerequisites", () => {
        throw new Error(`missing prerequisite in CI: ${miss.join(", ")}`);
      });
    });
  return describe.skip(`${name} [skipped: missing ${miss.join(", ")}]`, body);
}

export { which };
