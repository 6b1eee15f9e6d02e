// The systemd cgroup driver, after containerd/cgroups' cgroup2 NewSystemd/LoadSystemd: systemd makes
// and removes the group (a transient scope, or slice, started over D-Bus with the processes in it and
// Delegate=yes); hookshim then reads and writes the files under it with the cgroupfs manager, which
// is what delegation allows. The D-Bus client (@particle/dbus-next, plain JavaScript) is imported
// only here and only when this driver is used, so nothing on the hooks' usual start path loads it.
import { existsSync, readFileSync } from "node:fs";
import { CgroupError } from "./errors.ts";
import { CgroupManager, type ManagerOptions } from "./manager.ts";
import type { DeviceRule } from "../devices/rule.ts";
import { deviceProperties, majorNameIn, unitGroupPath, unitResources, type UnitProperty } from "./systemd-units.ts";
import type { Resources } from "./types.ts";

const SYSTEMD = "org.freedesktop.systemd1";
const SYSTEMD_PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
const DEFAULT_SLICE = "system.slice";
const JOB_TIMEOUT_MS = 30_000;

/** systemd is the init (sd_booted(3): /run/systemd/system exists). */
export function systemdBooted(): boolean {
  return existsSync("/run/systemd/system");
}

/** A systemd method call failed; `dbusError` is the D-Bus error name (org.freedesktop.systemd1.NoSuchUnit). */
export class SystemdCallError extends CgroupError {
  constructor(
    readonly member: string,
    readonly dbusError: string | undefined,
    text: string,
  ) {
    super("systemd", `systemd ${member}: ${dbusError ? `${dbusError}: ` : ""}${text}`);
    this.name = "SystemdCallError";
  }
}

type DBus = typeof import("@particle/dbus-next");
type Bus = ReturnType<DBus["systemBus"]>;

/** One system-bus connection with JobRemoved subscribed, so a started job's end is never missed. */
class SystemdConnection {
  private readonly jobs = new Map<string, (result: string) => void>();
  private readonly finished = new Map<string, string>();

  private constructor(
    private readonly dbus: DBus,
    private readonly bus: Bus,
  ) {
    bus.on("message", (m) => {
      if (m.interface !== MANAGER || m.member !== "JobRemoved") return;
      const [, job, , result] = m.body as [number, string, string, string];
      const waiter = this.jobs.get(job);
      if (waiter) waiter(result);
      else this.finished.set(job, result);
    });
  }

  static async open(): Promise<SystemdConnection> {
    const dbus = await import("@particle/dbus-next");
    const bus = dbus.systemBus();
    const c = new SystemdConnection(dbus, bus);
    try {
      await c.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [
        `type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`,
      ]);
      await c.manager("Subscribe", "", []);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  async call(destination: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    const msg = new this.dbus.Message({ destination, path, interface: iface, member, signature, body });
    try {
      const reply = await this.bus.call(msg);
      return (reply?.body ?? []) as unknown[];
    } catch (e) {
      const name = (e as { type?: string }).type;
      throw new SystemdCallError(member, name, (e as Error).message);
    }
  }

  manager(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.call(SYSTEMD, SYSTEMD_PATH, MANAGER, member, signature, body);
  }

  /** Waits for the job's JobRemoved; a result other than "done" is an error naming the unit. */
  async waitJob(job: string, unit: string, what: string): Promise<void> {
    const result = this.finished.get(job) ?? await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.jobs.delete(job);
        reject(new CgroupError("systemd", `systemd did not finish ${what} ${unit} within ${JOB_TIMEOUT_MS / 1000} s`));
      }, JOB_TIMEOUT_MS);
      this.jobs.set(job, (r) => {
        clearTimeout(timer);
        this.jobs.delete(job);
        resolve(r);
      });
    });
    this.finished.delete(job);
    if (result !== "done") throw new CgroupError("systemd", `systemd ${what} ${unit}: job ${result}`);
  }

  /** A unit's ActiveState, or undefined when systemd has no such unit loaded. */
  async activeState(unit: string): Promise<string | undefined> {
    let path: string;
    try {
      [path] = (await this.manager("GetUnit", "s", [unit])) as [string];
    } catch (e) {
      if (e instanceof SystemdCallError && e.dbusError === "org.freedesktop.systemd1.NoSuchUnit") return undefined;
      throw e;
    }
    const [v] = (await this.call(SYSTEMD, path, "org.freedesktop.DBus.Properties", "Get", "ss", ["org.freedesktop.systemd1.Unit", "ActiveState"])) as [{ value: string }];
    return v.value;
  }

  variants(props: UnitProperty[]): [string, unknown][] {
    return props.map((p) => [p.name, new this.dbus.Variant(p.signature, p.value)]);
  }

  close(): void {
    this.bus.disconnect();
  }
}

async function withSystemd<T>(f: (c: SystemdConnection) => Promise<T>): Promise<T> {
  const c = await SystemdConnection.open();
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

export interface SystemdUnitOptions {
  /** the slice the unit goes in; default system.slice */
  slice?: string;
  /** processes to move into a scope (a scope needs at least one) */
  pids?: number[];
  description?: string;
  /** OCI device rules, as DevicePolicy/DeviceAllow where they map (the device filter enforces them regardless) */
  devices?: DeviceRule[];
  /** cgroupfs manager options for the files under the unit (tests pass a root) */
  manager?: ManagerOptions;
}

function procDevices(): string {
  try {
    return readFileSync("/proc/devices", "utf8");
  } catch {
    return "";
  }
}

/** StartTransientUnit properties: the unit's place, its processes, delegation, accounting, resources. */
export function transientProperties(unit: string, resources: Resources, o: SystemdUnitOptions): { properties: UnitProperty[]; rest: Resources } {
  const { properties: res, rest } = unitResources(resources);
  const props: UnitProperty[] = [{ name: "Description", signature: "s", value: o.description ?? `hookshim ${unit}` }];
  if (!unit.endsWith(".slice")) props.push({ name: "Slice", signature: "s", value: o.slice ?? DEFAULT_SLICE });
  if (o.pids?.length) props.push({ name: "PIDs", signature: "au", value: o.pids });
  props.push(
    { name: "Delegate", signature: "b", value: true },
    { name: "DefaultDependencies", signature: "b", value: false },
    { name: "MemoryAccounting", signature: "b", value: true },
    { name: "CPUAccounting", signature: "b", value: true },
    { name: "IOAccounting", signature: "b", value: true },
    { name: "TasksAccounting", signature: "b", value: true },
  );
  if (o.devices) {
    const devs = deviceProperties(o.devices, (type, major) => majorNameIn(procDevices(), type, major));
    if (devs) props.push(...devs);
  }
  return { properties: [...props, ...res], rest };
}

/**
 * A cgroup that systemd owns: `unit` (NAME.scope or NAME.slice) in `slice`. The group's files are
 * read and written through `manager`; creating and removing the group is systemd's.
 */
export class SystemdCgroup {
  private constructor(
    readonly unit: string,
    readonly slice: string,
    readonly manager: CgroupManager,
  ) {}

  /**
   * NewSystemd: starts the transient unit with the pids in it and the resources that map to
   * properties, waits for the job, then writes the rest under it through the cgroupfs manager.
   * The slice is started first as a transient slice when systemd does not know it.
   */
  static async create(unit: string, resources: Resources = {}, o: SystemdUnitOptions = {}): Promise<SystemdCgroup> {
    const slice = o.slice ?? DEFAULT_SLICE;
    const group = unitGroupPath(slice, unit); // validates the names before systemd hears of them
    if (unit.endsWith(".scope") && !o.pids?.length) throw new CgroupError("invalid-value", `${unit}: a scope needs at least one process`);
    const { properties, rest } = transientProperties(unit, resources, { ...o, slice });
    await withSystemd(async (c) => {
      if (slice !== "-.slice" && slice !== DEFAULT_SLICE && (await c.activeState(slice)) !== "active") {
        const [job] = (await c.manager("StartTransientUnit", "ssa(sv)a(sa(sv))", [slice, "replace", c.variants([
          { name: "Description", signature: "s", value: `hookshim slice ${slice}` },
          { name: "DefaultDependencies", signature: "b", value: false },
        ]), []])) as [string];
        await c.waitJob(job, slice, "starting");
      }
      const [job] = (await c.manager("StartTransientUnit", "ssa(sv)a(sa(sv))", [unit, "replace", c.variants(properties), []])) as [string];
      await c.waitJob(job, unit, "starting");
    });
    const cg = new SystemdCgroup(unit, slice, CgroupManager.load(group, o.manager));
    if (Object.keys(rest).length) cg.manager.update(rest);
    return cg;
  }

  /** LoadSystemd: the unit's group as it is now (no D-Bus call: the path follows from the names). */
  static load(unit: string, slice = DEFAULT_SLICE, options: ManagerOptions = {}): SystemdCgroup {
    return new SystemdCgroup(unit, slice, CgroupManager.load(unitGroupPath(slice, unit), options));
  }

  /** Resource changes: properties through SetUnitProperties (runtime), the rest through cgroupfs. */
  async update(resources: Resources): Promise<void> {
    const { properties, rest } = unitResources(resources);
    if (properties.length) await withSystemd((c) => c.manager("SetUnitProperties", "sba(sv)", [this.unit, true, c.variants(properties)]));
    if (Object.keys(rest).length) this.manager.update(rest);
  }

  /** systemd's ActiveState of the unit ("active", ...), undefined once systemd has dropped it. */
  activeState(): Promise<string | undefined> {
    return withSystemd((c) => c.activeState(this.unit));
  }

  /**
   * Stop and Delete in one (containerd's DeleteSystemd): StopUnit kills what is left in the unit and
   * systemd removes the group; a unit that ended failed is reset so its name is free again.
   */
  async delete(): Promise<void> {
    await withSystemd(async (c) => {
      const state = await c.activeState(this.unit);
      if (state === undefined) return;
      if (state !== "inactive" && state !== "failed") {
        const [job] = (await c.manager("StopUnit", "ss", [this.unit, "replace"])) as [string];
        await c.waitJob(job, this.unit, "stopping");
      }
      if ((await c.activeState(this.unit)) === "failed") await c.manager("ResetFailedUnit", "s", [this.unit]);
    });
  }
}
