import { CgroupError } from "./errors.ts";

/** Drop undefined members in place, so absent values are absent keys. */
export function prune<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The pruned object, or undefined when nothing was set. */
export function nonEmpty<T extends object>(o: T): T | undefined {
  return Object.keys(prune(o)).length ? o : undefined;
}

/**
 * Poll `done` with exponential backoff (1 ms doubling to 50 ms) until it holds or `timeoutMs`
 * passes. The kernel signals these states through files we would otherwise have to watch with
 * inotify; short waits (freeze, kill, rmdir after exit) are cheaper polled.
 */
export async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; !done(); delay = Math.min(delay * 2, 50)) {
    if (Date.now() >= deadline) throw new CgroupError("timeout", `timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(delay);
  }
}
