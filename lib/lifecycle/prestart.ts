// prestart / createRuntime: runs in the runtime's namespaces after the container's init exists and
// before the user program starts. Everything that can be checked without changing the host is
// checked first (state, config.json, device rules), so bad input leaves the host and the store as
// they were; a failure after hookshim created a cgroup gives the init back to its old group.
import { attachContainerFilter, type AttachResult } from "../devices/index.ts";
import { containerNameOf } from "../oci/annotations.ts";
import { readHookConfig } from "../oci/hook-config.ts";
import type { State } from "../oci/state.ts";
import { makeEvent, newContainerRecord, nsInode, type ContainerRecord } from "../store/index.ts";
import { applyResources, containerCgroupIn, releaseCreatedCgroup, type ContainerCgroup } from "./cgroup.ts";
import { step, type HookContext } from "./context.ts";
import { readText } from "../sys/file.ts";
import { readlink } from "../sys/stat.ts";
import { containerDeviceFilter } from "./devices.ts";

export interface PrestartResult {
  record: ContainerRecord;
  /** the group's directory */
  cgroup: string;
  created: boolean;
  filter: AttachResult;
  /** controllers whose resources this hierarchy could not apply */
  skippedControllers: string[];
}

/** The container's name from the annotations the managers set; "" when none does. */
export function containerName(annotations: Record<string, string> | undefined): string {
  return containerNameOf(annotations) ?? "";
}

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/**
 * Which runtime ran the hook: the parent's executable (runc, crun), else its argv[0] (crun 1.8 runs
 * from a sealed copy of itself whose /proc/PID/exe reads "/"), or "" when neither can be read.
 */
export function callingRuntime(ppid = process.ppid): string {
  try {
    const exe = basename(readlink(`/proc/${ppid}/exe`)).replace(/ \(deleted\)$/, "");
    if (exe && !exe.startsWith("memfd:")) return exe;
    const argv0 = readText(`/proc/${ppid}/cmdline`).split("\0")[0] ?? "";
    return basename(argv0).slice(0, 32);
  } catch {
    return "";
  }
}

export async function prestart(state: State, ctx: HookContext): Promise<PrestartResult> {
  const pid = state.pid!;
  const { spec, raw } = step(`reading the bundle ${state.bundle}`, () => readHookConfig(state.bundle));
  ctx.timing.mark("bundle");
  const filter = step("building the device filter", () => containerDeviceFilter(raw, ctx.config.devices));
  ctx.timing.mark("filter");

  const cg: ContainerCgroup = await step(`finding the cgroup of pid ${pid}`, () => containerCgroupIn(pid, state.id, ctx.config));
  ctx.timing.mark("cgroup");
  try {
    const dir = cg.manager.path;
    if (cg.created) ctx.log.info(`pid ${pid} was in the root cgroup: moved it to ${dir}`);
    const attached = step(`attaching the device filter to ${dir}`, () => attachContainerFilter(dir, filter));
    const how = attached.atomic ? "atomically, BPF_F_REPLACE" : "attach, then detach";
    ctx.log.debug(`device program ${attached.progId} on ${dir}${attached.replaced.length ? ` (replaced ${attached.replaced.join(", ")}: ${how})` : ""}`);
    ctx.timing.mark("attach");

    let skipped: string[] = [];
    if (cg.created) {
      skipped = step(`applying resources to ${dir}`, () => applyResources(cg, spec.linux?.resources));
      for (const c of skipped) ctx.log.warn(`controller ${c} is not available in the cgroup v2 hierarchy: its linux.resources are not applied`);
    }

    const cgroupId = step(`reading the id of ${dir}`, () => cg.manager.id());
    ctx.timing.mark("resources");
    const store = await step(`opening store ${ctx.storeName}`, () => ctx.openStore());
    ctx.timing.mark("store");
    try {
      const record = step(`recording container ${state.id} in store ${ctx.storeName}`, () => {
        const runtime = callingRuntime();
        const task = store.trace(pid);
        if (task.replaced) ctx.log.info(`pid ${pid}: replaced the tracing entry (trace id ${task.replaced.traceId}) an earlier process with this pid left`);
        const known = store.getContainer(state.id);
        // runc 1.1 runs prestart twice for a container without a mount namespace of its own, and a
        // bundle may list hookshim as both prestart and createRuntime: the second run finds this
        // very process traced and recorded, and records nothing more.
        if (task.existing && known && known.state !== "stopped" && known.pid === pid && known.traceId === task.traceId) {
          ctx.log.debug(`container ${state.id} is recorded already (trace id ${task.traceId}): this hook ran before for it`);
          return known;
        }
        try {
          const rec = newContainerRecord({
            id: state.id, name: containerName(state.annotations ?? spec.annotations), pid, pidnsIno: task.pidnsIno,
            mntnsIno: nsInode(pid, "mnt"), cgroupId, cgroupPath: dir, bundle: state.bundle, runtime, state: "created",
            cgroupCreated: cg.created, source: "hook", traceId: task.traceId, pidStartTicks: task.startTicks,
          });
          for (const w of store.putContainer(rec)) ctx.log.warn(w);
          store.filterCgroup(cgroupId);
          const appended = store.append(makeEvent({
            type: "created", id: rec.id, name: rec.name, pid, bundle: rec.bundle, runtime, cgroup: dir, source: "hook",
          }));
          for (const w of appended.warnings) ctx.log.warn(w);
          return rec;
        } catch (e) {
          // undo only what this run added: a trace the notifier made stays its own
          if (store.getContainer(state.id)?.traceId === task.traceId) store.deleteContainer(state.id);
          if (!task.existing) store.tracing.untrace(pid, task.traceId);
          store.unfilterCgroup(cgroupId);
          throw e;
        }
      });
      return { record, cgroup: dir, created: cg.created, filter: attached, skippedControllers: skipped };
    } finally {
      store.close();
      ctx.timing.mark("record");
    }
  } catch (e) {
    if (cg.created) {
      await releaseCreatedCgroup(cg).catch((undo) => ctx.log.warn(`could not undo the cgroup ${cg.manager.path}: ${(undo as Error).message}`));
    }
    throw e;
  }
}
