// hookshim doctor: one line per capability this host needs, `ok` or `missing` with what to do.
import { existsSync, readFileSync } from "node:fs";
import { BpfMap, MapType, isBpffs, DEFAULT_BPFFS } from "../bpf/index.ts";
import { SyscallError, mountsOfType } from "../sys/index.ts";
import { cgroupMount } from "../cgroup/index.ts";
import { configFileInUse, loadConfig } from "../config/index.ts";
import type { GlobalOptions } from "./context.ts";
import type { ParsedCommand } from "../options/index.ts";
import { runProbes } from "../probe/index.ts";
import { oneLine } from "../errors.ts";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** what to do when it is missing */
  fix?: string;
}

function capEffective(): bigint {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("CapEff:"));
  return line ? BigInt("0x" + line.split(/\s+/)[1]) : 0n;
}

const CAP_SYS_ADMIN = 21n, CAP_BPF = 39n, CAP_PERFMON = 38n;

export function runChecks(): Check[] {
  const checks: Check[] = [];
  const caps = capEffective();
  const has = (c: bigint) => (caps >> c) & 1n;
  const root = process.getuid?.() === 0;
  checks.push({
    name: "privileges",
    ok: root && (has(CAP_BPF) === 1n || has(CAP_SYS_ADMIN) === 1n),
    detail: `uid ${process.getuid?.()}, CAP_BPF ${has(CAP_BPF) ? "yes" : "no"}, CAP_SYS_ADMIN ${has(CAP_SYS_ADMIN) ? "yes" : "no"}, CAP_PERFMON ${has(CAP_PERFMON) ? "yes" : "no"}`,
    fix: "run hookshim as root (the runtime runs hooks as root)",
  });

  let bpfOk = false;
  let bpfDetail = "";
  try {
    BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: "doctor" }).close();
    bpfOk = true;
    bpfDetail = "map create works";
  } catch (e) {
    bpfDetail = e instanceof SyscallError ? e.message : String(e);
  }
  checks.push({ name: "bpf syscall", ok: bpfOk, detail: bpfDetail, fix: "kernel with CONFIG_BPF_SYSCALL, and root" });

  const bpffs = isBpffs(DEFAULT_BPFFS);
  checks.push({
    name: "bpffs",
    ok: bpffs || (root && existsSync("/sys/fs")),
    detail: bpffs ? `mounted at ${DEFAULT_BPFFS}` : `not mounted at ${DEFAULT_BPFFS}; hookshim mounts it on first use`,
    fix: `mount -t bpf -o mode=0700 bpf ${DEFAULT_BPFFS}`,
  });

  let cgDetail: string;
  let cgOk = true;
  try {
    const m = cgroupMount();
    cgDetail = `${m.mountpoint} (${m.mode === "hybrid" ? `hybrid: v1 controllers ${m.v1Controllers.join(",")} beside it` : "unified"})`;
  } catch (e) {
    cgOk = false;
    cgDetail = (e as Error).message;
  }
  checks.push({
    name: "cgroup2",
    ok: cgOk,
    detail: cgDetail,
    fix: "mount -t cgroup2 none /sys/fs/cgroup/unified (hybrid) or boot with systemd.unified_cgroup_hierarchy=1",
  });

  checks.push({
    name: "BTF",
    ok: existsSync("/sys/kernel/btf/vmlinux"),
    detail: existsSync("/sys/kernel/btf/vmlinux") ? "/sys/kernel/btf/vmlinux" : "no /sys/kernel/btf/vmlinux",
    fix: "kernel with CONFIG_DEBUG_INFO_BTF=y (exit tracking needs task_struct offsets)",
  });

  const tracefs = mountsOfType("tracefs");
  const tracefsOk = tracefs.length > 0 || existsSync("/sys/kernel/tracing");
  checks.push({
    name: "tracefs",
    ok: tracefsOk,
    detail: tracefs.length ? `mounted at ${tracefs[0]}` : tracefsOk ? "not mounted; hookshim mounts /sys/kernel/tracing on first use" : "no tracefs",
    fix: "mount -t tracefs tracefs /sys/kernel/tracing",
  });

  const fan = existsSync("/proc/sys/fs/fanotify/max_user_groups");
  checks.push({
    name: "fanotify permission events",
    ok: fan,
    detail: fan ? `max_user_groups ${readFileSync("/proc/sys/fs/fanotify/max_user_groups", "utf8").trim()}` : "no fanotify",
    fix: "kernel with CONFIG_FANOTIFY and CONFIG_FANOTIFY_ACCESS_PERMISSIONS",
  });
  return checks;
}

/** The configuration every hook will read: a file that does not validate makes every hook exit 2. */
export function configCheck(explicitPath?: string): Check {
  const file = configFileInUse(explicitPath);
  try {
    loadConfig(explicitPath);
    return { name: "config", ok: true, detail: file ?? "no config file: the defaults" };
  } catch (e) {
    return { name: "config", ok: false, detail: oneLine(e), fix: `correct it (hookshim validate --kind hookshim-config ${file})` };
  }
}

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  const config = configCheck(g.configPath);
  const checks = [config, ...runChecks()];
  try {
    const { notifierSupport } = await import("../notifier/index.ts");
    const s = notifierSupport();
    checks.push({ name: "container-notifier", ok: s.ok, detail: s.ok ? "supported" : (s.reason ?? "not supported"), fix: s.reason });
  } catch {
    // the notifier module is optional in trimmed builds
  }
  // what the hooks and the notifier load and attach, tried for real and removed again
  checks.push(...runProbes());
  if (p.values.bool("json")) for (const c of checks) console.log(JSON.stringify(c));
  else
    for (const c of checks)
      console.log(`${c.ok ? "ok     " : "missing"}  ${c.name}: ${c.detail}${c.ok || !c.fix ? "" : ` — fix: ${c.fix}`}`);
  // an invalid config is bad input (2), like the hooks that would read it
  if (!config.ok) return 2;
  return checks.every((c) => c.ok) ? 0 : 1;
}
