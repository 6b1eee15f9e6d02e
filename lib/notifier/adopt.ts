// Adopting the containers that run when a notifier starts (survivors.ts finds them): those a
// previous notifier reported are only followed again (or removed, if they ended meanwhile), those it
// precreated get their pid wait resumed, and the others get their `add`, each once.
import { dirname } from "node:path";
import type { Store } from "../store/index.ts";
import { cgroupOf, alive } from "./procfs.ts";
import type { Followed } from "./exits.ts";
import type { PidSource, ReportedContainers } from "./reported.ts";
import type { RunningContainer } from "./survivors.ts";
import { printable } from "./trust.ts";

/** A container's fields from the store, as survivors are followed: root's, named by id at worst. */
export type KnownContainer = Pick<Followed, "uid" | "id" | "name" | "bundle" | "runtime" | "cgroup">;

/** What adoption needs of the notifier. */
export interface Adopter {
  store: Store;
  reported: ReportedContainers;
  /** the id is followed or waited for already */
  tracks(id: string): boolean;
  /** the pid is followed already */
  followsPid(pid: number): boolean;
  resumeWait(c: KnownContainer & { path: string; source: PidSource }): void;
  follow(c: KnownContainer & { pid: number }, announce: boolean): void;
  removed(w: Followed): void;
}

export function adoptRunning(a: Adopter, candidates: readonly RunningContainer[]): void {
  const known = (id: string): KnownContainer => {
    const rec = a.store.getContainer(id);
    return { uid: 0, id, name: rec?.name || id, bundle: rec?.bundle ?? "", runtime: rec?.runtime ?? "", cgroup: rec?.cgroupPath ?? "" };
  };
  const previous = new Map(a.reported.entries());
  for (const [id, r] of previous) {
    if (a.tracks(id)) continue;
    if (r.state !== "reported") {
      a.resumeWait({ ...known(id), path: r.path, source: r.state });
      continue;
    }
    if (alive(r.pid)) {
      a.follow({ ...known(id), pid: r.pid }, false);
      continue;
    }
    // reported before, not running any more: it ended while no notifier watched
    a.removed({ ...known(id), pid: r.pid, traceId: r.traceId, ownTrace: true });
  }
  for (const c of candidates) {
    if (!c.id || !c.pid || previous.has(c.id) || a.followsPid(c.pid) || a.tracks(c.id) || !alive(c.pid)) continue;
    a.follow({ uid: 0, id: c.id, name: printable(c.name || c.id), pid: c.pid, bundle: printable(c.bundle ?? ""), runtime: c.runtime ?? "", cgroup: c.cgroup || cgroupOf(c.pid) }, true);
  }
}

/**
 * The runtime state roots (<root> of <root>/<id>/state.json) of the containers a previous notifier
 * left waiting for their pid in runc's state: other containers may have started there unseen.
 */
export function stateRootsSeen(reported: ReportedContainers): string[] {
  const roots = new Set<string>();
  for (const [, r] of reported.entries()) if (r.state === "runc-state") roots.add(dirname(dirname(r.path)));
  return [...roots];
}
