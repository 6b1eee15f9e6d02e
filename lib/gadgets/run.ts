// Running a gadget from a command line: parameters parsed and checked, rows filtered by container,
// sorted, cut to --max-rows and printed as a table (people) or JSON lines (machines).
import {
  formatTable, parseOutput, parseSort, rowToJSON, sortRows, tableHeader, tableRow, visibleColumns,
  type Column, type OutputMode, type SortKey,
} from "./columns.ts";
import { matchesFilter, type ContainerRow, type Gadget, type GadgetContext } from "./gadget.ts";
import { defaulted, helpText, parseCommandLine, type OptionValues } from "../options/index.ts";
import { gadgetCommand } from "./command.ts";
import type { StoreOptions } from "../store/index.ts";

export interface RunOptions {
  store: string;
  /** where that store is and its capacity (hookshim's configuration); default: the store's defaults */
  storeOptions?: StoreOptions;
  /** where rows go; default stdout */
  write?: (text: string) => void;
  /** where notes go; default stderr */
  warn?: (text: string) => void;
  /** stop from outside (tests); SIGINT and SIGTERM always stop a running gadget */
  signal?: AbortSignal;
  /** an interactive terminal: intervals redraw the screen instead of appending tables */
  tty?: boolean;
}

/** `hookshim <category> <gadget> --help`, as the CLI prints it. */
export function gadgetHelp(gadget: Gadget<never>): string {
  return helpText(gadgetCommand(gadget), ["hookshim", gadget.category, gadget.name], [], []);
}

/** Parses a gadget's arguments (after `hookshim <category> <name>`) as the CLI does; for tests and callers without main.ts. */
export async function gadgetValues(gadget: Gadget<never>, argv: string[]): Promise<OptionValues> {
  const root = { name: "hookshim", summary: "", subcommands: [{ name: gadget.category, summary: "", subcommands: [gadgetCommand(gadget)] }] };
  return (await parseCommandLine(root, [gadget.category, gadget.name, ...argv], [])).values;
}

/** A printer for one output mode: header, single rows, whole tables. */
class Printer<Row> {
  private headerDone = false;
  private tables = 0;
  constructor(
    private readonly mode: OutputMode,
    private readonly all: Column<Row>[],
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  private get shown(): Column<Row>[] {
    return visibleColumns(this.all, this.mode.kind === "columns" ? this.mode.columns : undefined);
  }

  header(): void {
    if (this.mode.kind !== "columns" || this.headerDone) return;
    this.headerDone = true;
    this.write(tableHeader(this.shown) + "\n");
  }

  row(row: Row): void {
    if (this.mode.kind === "json") this.write(rowToJSON(this.all, row) + "\n");
    else {
      this.header();
      this.write(tableRow(this.shown, row) + "\n");
    }
  }

  table(rows: Row[], repeating: boolean): void {
    if (this.mode.kind === "json") {
      if (rows.length) this.write(rows.map((r) => rowToJSON(this.all, r)).join("\n") + "\n");
      return;
    }
    // top redraws in place on a terminal; piped, each refresh is its own table after a blank line
    const lead = repeating && this.tty ? "\x1b[H\x1b[2J" : repeating && this.tables > 0 ? "\n" : "";
    this.tables++;
    this.write(lead + formatTable(this.shown, rows) + "\n");
  }
}

/** Run `gadget` with its parsed parameters (gadgetValues, or main.ts's parse). Returns the exit code. */
export async function runGadget<Row extends ContainerRow>(gadget: Gadget<Row>, p: OptionValues, opts: RunOptions): Promise<number> {
  const cmd = `hookshim ${gadget.category} ${gadget.name}`;
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const warn = opts.warn ?? ((t: string) => console.error(`${cmd}: ${t}`));
  const mode = parseOutput(defaulted(p.str("output"), "output"), gadget.columns, cmd);
  const sortSpec = p.str("sort");
  const sort: SortKey[] = sortSpec !== undefined ? parseSort(sortSpec, gadget.columns, cmd) : [];
  const maxRows = p.int("max-rows") ?? 0;
  const filter = { container: p.str("container") ?? "", runtimes: p.list("runtime") };
  const printer = new Printer(mode, gadget.columns, write, opts.tty ?? false);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const onOuter = () => stop.abort();
  opts.signal?.addEventListener("abort", onOuter, { once: true });
  if (opts.signal?.aborted) stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const timeoutMs = p.duration("timeout") ?? 0;
  const timer = timeoutMs > 0 ? setTimeout(() => stop.abort(), timeoutMs) : undefined;

  const ctx: GadgetContext<Row> = {
    cmd,
    params: p,
    filter,
    store: opts.store,
    storeOptions: opts.storeOptions ?? {},
    signal: stop.signal,
    ready: () => printer.header(),
    emit: (row) => {
      if (matchesFilter(filter, row)) printer.row(row);
    },
    publish: (rows) => {
      let shown = sortRows(rows.filter((r) => matchesFilter(filter, r)), sort, gadget.columns);
      if (maxRows > 0) shown = shown.slice(0, maxRows);
      printer.table(shown, gadget.type === "intervals");
    },
    warn,
  };
  try {
    await gadget.run(ctx);
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    opts.signal?.removeEventListener("abort", onOuter);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
