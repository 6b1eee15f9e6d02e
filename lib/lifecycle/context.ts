// What every hook stage shares: hookshim's configuration, a logger that only ever writes stderr (a
// runtime may treat a hook's stdout as its own), the store to record into, and errors that say which
// step failed.
import { writeAll } from "../sys/io.ts";
import { utf8Bytes } from "../sys/struct.ts";
import type { HookshimConfig } from "../config/index.ts";
import { exitCodeOf, oneLine } from "../errors.ts";
import type { Store } from "../store/index.ts";
import type { HookStage } from "./state.ts";
import type { PhaseTimer } from "./timing.ts";

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * One line to fd 2, synchronously: process.stderr would load Node's stream machinery first, a few
 * milliseconds a hook pays on every start it logs in. A stderr that is gone loses the line.
 */
function writeStderr(line: string): void {
  try {
    writeAll(2, utf8Bytes(line + "\n"));
  } catch {
    // nowhere left to report it
  }
}

export class HookLogger {
  constructor(
    readonly level: LogLevel,
    /** "prestart 3f2a…": who is speaking, on every line */
    private prefix: string,
    private readonly sink: (line: string) => void = writeStderr,
  ) {}

  /** Names the container once the state has been read. */
  setPrefix(prefix: string): void {
    this.prefix = prefix;
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] <= LEVELS[this.level];
  }

  log(level: LogLevel, message: string): void {
    if (this.enabled(level)) this.write(`${level === "error" ? "" : level + ": "}${message}`);
  }

  /** A line whatever the level (asked for explicitly, as HOOKSHIM_TRACE_TIMING's is). */
  write(message: string): void {
    this.sink(`hookshim: ${this.prefix}: ${message}`);
  }

  error(m: string) {
    this.log("error", m);
  }
  warn(m: string) {
    this.log("warn", m);
  }
  info(m: string) {
    this.log("info", m);
  }
  debug(m: string) {
    this.log("debug", m);
  }
}

export interface HookContext {
  stage: HookStage;
  config: HookshimConfig;
  /** store name: --store, else the config's */
  storeName: string;
  log: HookLogger;
  /** opens the store (creating it and loading the exit program on first use) */
  openStore: () => Promise<Store>;
  /** the stage marks its phases here (HOOKSHIM_TRACE_TIMING) */
  timing: PhaseTimer;
}

/**
 * A failure with the step it happened in ("attaching the device filter to /sys/fs/…: …"). Keeps the
 * cause's exit code, so bad input still exits 2.
 */
export class StepError extends Error {
  readonly exitCode: number;
  constructor(readonly step: string, cause: unknown) {
    super(`${step}: ${oneLine(cause)}`, { cause });
    this.name = "StepError";
    this.exitCode = exitCodeOf(cause);
  }
}

/** Runs one step, labelling whatever it throws. */
export function step<T>(what: string, fn: () => T): T {
  try {
    const r = fn();
    if (r instanceof Promise) return r.catch((e) => Promise.reject(e instanceof StepError ? e : new StepError(what, e))) as T;
    return r;
  } catch (e) {
    throw e instanceof StepError ? e : new StepError(what, e);
  }
}

/** The store as the configuration describes it (lib/config/store.ts, shared with every store user). */
export async function storeOpener(config: HookshimConfig, storeName: string): Promise<Store> {
  const [{ openStore }, { storeLocation }] = await Promise.all([import("../store/index.ts"), import("../config/store.ts")]);
  const where = storeLocation(config, storeName);
  return openStore(where.name, where.options);
}
