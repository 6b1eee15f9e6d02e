// What the store tests share: a bpffs of their own with one store per test, removed afterwards, and
// child processes that exit on cue.
import { afterAll, afterEach, beforeAll } from "bun:test";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBpffs } from "../../lib/bpf/index.ts";
import { umount } from "../../lib/sys/index.ts";
import { openStore, resetStore, type Store, type StoreOptions } from "../../lib/store/index.ts";

export interface StoreFixture {
  /** the bpffs mounted for this file */
  readonly bpffs: string;
  /** a store name removed after the current test */
  newStoreName(): string;
  /** a new store in the fixture's bpffs, closed and removed after the current test */
  open(opts?: StoreOptions): Store;
  /** closes `s` after the current test */
  track(s: Store): Store;
}

/** Registers the hooks (call inside a describe): a bpffs for the file, stores per test. */
export function storeFixture(prefix: string): StoreFixture {
  let bpffs = "";
  let counter = 0;
  const opened: Store[] = [];
  const names: string[] = [];
  beforeAll(() => {
    bpffs = mkdtempSync(join(tmpdir(), `${prefix}-bpffs-`));
    ensureBpffs(bpffs);
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    for (const name of names.splice(0)) resetStore(name, { bpffs });
  });
  afterAll(() => {
    if (!bpffs) return;
    umount(bpffs);
    rmdirSync(bpffs);
  });
  const f: StoreFixture = {
    get bpffs() {
      return bpffs;
    },
    newStoreName() {
      const name = `${prefix}-${process.pid}-${++counter}`;
      names.push(name);
      return name;
    },
    open(opts = {}) {
      return f.track(openStore(f.newStoreName(), { bpffs, ...opts }));
    },
    track(s) {
      opened.push(s);
      return s;
    },
  };
  return f;
}

/** A child that waits for a line on stdin, then does `script`'s exit (sh -c). */
export function waitingShell(script: string) {
  return Bun.spawn(["/bin/sh", "-c", `read x; ${script}`], { stdin: "pipe", stdout: "ignore", stderr: "inherit" });
}

export async function release(p: ReturnType<typeof waitingShell>): Promise<void> {
  p.stdin.write("\n");
  await p.stdin.end();
  await p.exited;
}
