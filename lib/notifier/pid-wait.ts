// Waiting for a created container's pid: the runtime writes it to its --pid-file (or runc to its
// state.json) some time after the exec. The wait watches the file (or, while its directory does not
// exist yet, the nearest ancestor that does), the runtime process (its exit means nothing more will
// be written) and a deadline, and reports exactly once: the pid read, or a typed error.
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { close, isErrno, pidfdOpen } from "../sys/index.ts";
import { ContainerInfoError, errText } from "./container-info.ts";
import type { Poller } from "./poller.ts";
import { printable } from "./trust.ts";

/** The pid file could not be read or watched, or holds no pid in time. */
export class PidFileError extends ContainerInfoError {
  constructor(message: string) {
    super("pidfile", message);
    this.name = "PidFileError";
  }
}

/** The runtime exited without writing the pid. */
export class RuntimeEndedError extends ContainerInfoError {
  constructor(message: string) {
    super("runtime", message);
    this.name = "RuntimeEndedError";
  }
}

export interface PidWaitSpec {
  /** the container, for messages */
  id: string;
  runtime: string;
  path: string;
  /** reads the pid from `path`: undefined while it is not written yet; throws when it is garbage */
  read: (path: string, ownerUid?: number) => number | undefined;
  /** a non-root claim reads only files its uid owns */
  ownerUid?: number;
  /** the runtime process, whose exit ends the wait (unknown for a wait resumed after a restart) */
  runtimePid?: number;
  timeoutMs: number;
}

export interface PidWaitHandlers {
  pid(pid: number): void;
  error(e: ContainerInfoError): void;
}

export class PidWait {
  private runtimeFd = -1;
  private unwatchFile?: () => void;
  private unwatchRuntime?: () => void;
  private timer?: ReturnType<typeof setTimeout>;
  private ended = false;

  constructor(
    private readonly poller: Poller,
    private readonly spec: PidWaitSpec,
    private readonly on: PidWaitHandlers,
  ) {}

  /** Whether the wait has reported (or was cancelled). */
  get done(): boolean {
    return this.ended;
  }

  /** Starts watching; may report before it returns (the pid is there already, the runtime is gone). */
  start(): void {
    const { path, runtimePid } = this.spec;
    if (!this.watchPath()) this.watchTowards(dirname(path));
    if (this.ended || this.check(false)) return;
    if (runtimePid !== undefined) {
      try {
        this.runtimeFd = pidfdOpen(runtimePid);
        // `run` keeps the runtime alive as long as the container; `create` returns once the pid file is written.
        this.unwatchRuntime = this.poller.watchFd(this.runtimeFd, () => this.check(true));
      } catch {
        // the runtime already exited: what it wrote is all there will be
        if (this.check(true)) return;
      }
    }
    this.timer = setTimeout(() => {
      if (!this.check(false)) this.fail(new PidFileError(`container ${this.spec.id}: no pid in ${printable(path)} after ${this.spec.timeoutMs} ms`));
    }, this.spec.timeoutMs);
  }

  /** Stops watching without reporting. */
  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.unwatchFile?.();
    this.unwatchRuntime?.();
    clearTimeout(this.timer);
    close(this.runtimeFd);
  }

  private fail(e: ContainerInfoError): void {
    this.cancel();
    this.on.error(e);
  }

  /** Reads the file: reports and returns true once settled; `final` when the runtime has exited. */
  private check(final: boolean): boolean {
    if (this.ended) return true;
    const { id, runtime, runtimePid, path } = this.spec;
    let pid: number | undefined;
    try {
      pid = this.spec.read(path, this.spec.ownerUid);
    } catch (e) {
      this.fail(new PidFileError(errText(e)));
      return true;
    }
    if (pid === undefined) {
      if (final) this.fail(new RuntimeEndedError(`container ${id}: ${runtime} (pid ${runtimePid}) ended without writing ${printable(path)}`));
      return final;
    }
    this.cancel();
    this.on.pid(pid);
    return true;
  }

  private watchPath(): boolean {
    try {
      this.unwatchFile = this.poller.watchFile(this.spec.path, () => this.check(false));
      return true;
    } catch (e) {
      if (isErrno(e, "ENOENT", "ENOTDIR")) return false;
      this.fail(new PidFileError(`pid file ${printable(this.spec.path)}: cannot watch: ${errText(e)}`));
      return true;
    }
  }

  // The file's directory may not exist yet: runc and crun make <root>/<id>/ during create, and
  // <root> itself on their first run after boot. Watch the nearest existing ancestor for the next
  // directory down, then start over from the file.
  private watchTowards(dir: string): void {
    const arrived = () => {
      this.unwatchFile?.();
      this.unwatchFile = undefined;
      if (this.ended) return;
      if (this.watchPath()) this.check(false);
      else this.watchTowards(dirname(this.spec.path));
    };
    try {
      this.unwatchFile = this.poller.watchFile(dir, arrived);
    } catch (e) {
      if (isErrno(e, "ENOENT", "ENOTDIR") && dirname(dir) !== dir) this.watchTowards(dirname(dir));
      return;
    }
    if (isDirectory(dir)) arrived(); // made while the watch was being set up
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
