// Reading and writing cgroupfs interface files. Each value is written with one write(2): the kernel
// parses per write, so a split value would be two (wrong) settings.
import { readText } from "../sys/file.ts";
import { O, open, close, write } from "../sys/io.ts";
import { utf8Bytes } from "../sys/struct.ts";
import { exists } from "../sys/stat.ts";
import { CgroupError, cgroupDeleted, fsCode, notSupported } from "./errors.ts";

/** The controller owning an interface file ("memory.max" -> "memory"); core files are "cgroup". */
export function controllerOfFile(file: string): string {
  if (file.endsWith(".pressure")) return "cgroup"; // PSI files live in every group, controller or not
  const dot = file.indexOf(".");
  return dot < 0 ? file : file.slice(0, dot);
}

// Core files (cgroup.kill, cgroup.freeze) are named themselves: "cgroup not supported" would mislead.
function notSupportedFile(file: string) {
  const controller = controllerOfFile(file);
  return notSupported(controller === "cgroup" ? file : controller);
}

function describeWrite(dir: string, file: string, value: string): string {
  return `writing ${JSON.stringify(value)} to ${dir}/${file}`;
}

export function writeCgroupFile(dir: string, file: string, value: string): void {
  let fd: number;
  try {
    // No O_CREAT: interface files exist, or the controller is missing. O_TRUNC as runc does; kernfs
    // ignores it, and plain files (scratch roots in tests) then hold exactly the last value.
    fd = open(`${dir}/${file}`, O.WRONLY | O.TRUNC);
  } catch (e) {
    if (fsCode(e) === "ENOENT") {
      if (!exists(dir)) throw cgroupDeleted(dir);
      throw notSupportedFile(file);
    }
    throw new CgroupError("io", `${describeWrite(dir, file, value)}: ${(e as Error).message}`, { cause: e });
  }
  try {
    write(fd, utf8Bytes(value));
  } catch (e) {
    throw mapWriteError(e, dir, file, value);
  } finally {
    close(fd);
  }
}

function mapWriteError(e: unknown, dir: string, file: string, value: string): CgroupError {
  const what = describeWrite(dir, file, value);
  switch (fsCode(e)) {
    case "EINVAL":
      return new CgroupError("invalid-value", `${what}: invalid value (EINVAL)`, { cause: e });
    case "ERANGE":
      return new CgroupError("invalid-value", `${what}: value out of range (ERANGE)`, { cause: e });
    case "EOPNOTSUPP":
    case "ENOTSUP":
    case "ENOTSUPP":
      return new CgroupError("invalid-value", `${what}: operation not supported by this kernel or group type`, {
        cause: e,
      });
    case "EBUSY":
      if (file === "cgroup.subtree_control")
        return new CgroupError(
          "busy",
          `${what}: device or resource busy (EBUSY): the group has processes of its own, and v2 delegates controllers only from groups without them`,
          { cause: e },
        );
      return new CgroupError("busy", `${what}: device or resource busy (EBUSY)`, { cause: e });
    case "ENODEV":
      return new CgroupError("invalid-value", `${what}: no such device (ENODEV)`, { cause: e });
    case "ENOENT":
      // A controller named in subtree_control that this cgroup does not have available.
      return new CgroupError("not-supported", `${what}: not available here (ENOENT)`, { cause: e });
    case "ESRCH":
      return new CgroupError("invalid-value", `${what}: no such process (ESRCH)`, { cause: e });
    default:
      return new CgroupError("io", `${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** File content, or undefined if the file does not exist (controller not enabled). */
export function readCgroupFileIfExists(dir: string, file: string): string | undefined {
  try {
    return readText(`${dir}/${file}`);
  } catch (e) {
    if (fsCode(e) === "ENOENT") {
      if (!exists(dir)) throw cgroupDeleted(dir);
      return undefined;
    }
    throw new CgroupError("io", `reading ${dir}/${file}: ${(e as Error).message}`, { cause: e });
  }
}

export function readCgroupFile(dir: string, file: string): string {
  const text = readCgroupFileIfExists(dir, file);
  if (text === undefined) throw notSupportedFile(file);
  return text;
}

/** Whitespace-separated words of a file such as cgroup.controllers. */
export function readList(dir: string, file: string): string[] {
  return readCgroupFile(dir, file).split(/\s+/).filter(Boolean);
}
