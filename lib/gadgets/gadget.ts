// What a gadget is (Inspektor Gadget's gadgets.GadgetDesc): a name in a category, a type that says
// how it produces rows, its own typed parameters and the columns of its rows. The framework
// (run.ts) adds the parameters every gadget of a type shares, filters rows by container, sorts,
// cuts and prints them; a gadget only produces rows.
import type { Column } from "./columns.ts";
import type { StoreOptions } from "../store/index.ts";
import type { OptionSpec, OptionValues } from "../options/index.ts";

export type GadgetCategory = "snapshot" | "trace" | "top";
export const GADGET_CATEGORIES: readonly GadgetCategory[] = ["snapshot", "trace", "top"];

/**
 * one-shot: one set of rows, then done (IG TypeOneShot);
 * trace: rows one by one as things happen, until interrupted or --timeout (IG TypeTrace);
 * intervals: a fresh set of rows every --interval (IG TypeTraceIntervals).
 */
export type GadgetType = "one-shot" | "trace" | "intervals";

/** Every row names the container it belongs to, so --container and --runtime apply to all gadgets. */
export interface ContainerRow {
  /** "" when the row belongs to no container */
  containerId: string;
  containerName: string;
  runtime: string;
}

export interface ContainerFilter {
  /** a container id prefix or an exact container name; "" matches every container */
  container: string;
  /** runtimes accepted; empty accepts all */
  runtimes: string[];
}

export function matchesFilter(f: ContainerFilter, row: ContainerRow): boolean {
  if (f.container && !(row.containerId.startsWith(f.container) || row.containerName === f.container)) return false;
  if (f.runtimes.length && !f.runtimes.includes(row.runtime)) return false;
  return true;
}

export interface GadgetContext<Row> {
  /** "hookshim <category> <gadget>", for messages */
  readonly cmd: string;
  readonly params: OptionValues;
  readonly filter: ContainerFilter;
  /** the lifecycle store name (--store, else the configuration's) */
  readonly store: string;
  /** where that store is, and its capacity when a gadget creates it (hookshim's configuration) */
  readonly storeOptions: StoreOptions;
  /** aborted on SIGINT, SIGTERM or --timeout; trace and intervals gadgets return when it is */
  readonly signal: AbortSignal;
  /** trace gadgets: attached and watching; a table prints its header now */
  ready(): void;
  /** trace gadgets: one row, printed at once when it passes the filter */
  emit(row: Row): void;
  /** one-shot and intervals gadgets: a complete set of rows, filtered, sorted, cut to --max-rows */
  publish(rows: Row[]): void;
  /** a note for people on stderr: never part of the output */
  warn(message: string): void;
}

export interface Gadget<Row extends ContainerRow = ContainerRow> {
  name: string;
  category: GadgetCategory;
  type: GadgetType;
  /** one line for --help */
  description: string;
  /** the gadget's own parameters, besides the common ones of its type */
  params: OptionSpec[];
  /** defaults of the common parameters where this gadget wants others */
  defaults?: { sort?: string; maxRows?: number; interval?: string };
  columns: Column<Row>[];
  run(ctx: GadgetContext<Row>): Promise<void>;
}

/** Parameters every gadget of `gadget`'s type takes, with its defaults. */
export function commonParams(gadget: Gadget<never>): OptionSpec[] {
  const specs: OptionSpec[] = [
    { name: "output", short: "o", kind: "string", default: "columns", description: "json, columns, or columns=NAME,... to choose columns" },
    { name: "container", short: "c", kind: "string", description: "only this container (id prefix or name)" },
    { name: "runtime", kind: "list", description: "only containers of these runtimes (comma-separated or repeated)" },
  ];
  if (gadget.type !== "trace") {
    specs.push(
      { name: "sort", kind: "string", default: gadget.defaults?.sort ?? "", description: "sort by these columns, '-' before a name for descending (e.g. -cpu,name)" },
      { name: "max-rows", kind: "int", min: 0, default: String(gadget.defaults?.maxRows ?? 0), description: "print at most this many rows, 0 for all" },
    );
  }
  if (gadget.type !== "one-shot") {
    specs.push(
      { name: "interval", kind: "duration", min: 1, default: gadget.defaults?.interval ?? "1s", description: gadget.type === "trace" ? "how often to collect what happened" : "how often to refresh" },
      { name: "timeout", kind: "duration", min: 0, default: "0s", description: "stop after this long, 0 to run until interrupted" },
    );
  }
  return specs;
}
