// Gadget columns (Inspektor Gadget's pkg/columns): each column of a gadget's rows declares its name
// (what --sort and --output columns=... take, upper-cased as the table header), its JSON field name,
// its width and alignment, and how to read its value from a row. The same declaration drives the
// aligned table for people, the JSON line for machines and the sort order.
import { constants } from "node:os";
import { UsageError } from "../errors.ts";

export type CellValue = string | number | bigint | boolean | null;

export interface Column<Row> {
  /** lower case, stable: --sort and --output columns= use it */
  name: string;
  /** JSON field name, stable; default `name` */
  json?: string;
  /** display width; cells longer are cut with "…" (the last column of a table is printed whole) */
  width: number;
  align?: "left" | "right";
  /** the value for JSON and sorting */
  value(row: Row): CellValue;
  /** the text for the table; default: the value, "-" for null */
  text?(row: Row): string;
  /** not shown in the table unless named with --output columns=...; always in JSON */
  hidden?: boolean;
}

function defaultText(v: CellValue): string {
  if (v === null || v === "") return "-";
  return String(v);
}

export function cellText<Row>(c: Column<Row>, row: Row): string {
  return c.text ? c.text(row) : defaultText(c.value(row));
}

/** `text` cut to `width` characters, the last one an ellipsis when anything was cut. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return text.slice(0, width - 1) + "…";
}

function pad(text: string, width: number, align: "left" | "right"): string {
  return align === "right" ? text.padStart(width) : text.padEnd(width);
}

/** The header line of a table of these columns. */
export function tableHeader<Row>(cols: Column<Row>[]): string {
  return cols
    .map((c, i) => (i === cols.length - 1 ? c.name.toUpperCase() : pad(truncate(c.name.toUpperCase(), c.width), c.width, c.align ?? "left")))
    .join(" ")
    .trimEnd();
}

/** One row of a table: every cell at its column's width, the last one whole. */
export function tableRow<Row>(cols: Column<Row>[], row: Row): string {
  return cols
    .map((c, i) => {
      const t = cellText(c, row);
      return i === cols.length - 1 ? (c.align === "right" ? t.padStart(c.width) : t) : pad(truncate(t, c.width), c.width, c.align ?? "left");
    })
    .join(" ")
    .trimEnd();
}

export function formatTable<Row>(cols: Column<Row>[], rows: Row[]): string {
  return [tableHeader(cols), ...rows.map((r) => tableRow(cols, r))].join("\n");
}

function jsonValue(v: CellValue): unknown {
  if (typeof v !== "bigint") return v;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Every column (hidden ones too) as one JSON object, fields in declaration order. */
export function rowToJSON<Row>(cols: Column<Row>[], row: Row): string {
  const obj: Record<string, unknown> = {};
  for (const c of cols) obj[c.json ?? c.name] = jsonValue(c.value(row));
  return JSON.stringify(obj);
}

export interface SortKey {
  column: string;
  descending: boolean;
}

/** "-cpu,name" → keys; every name must be a column of `cols`. */
export function parseSort<Row>(spec: string, cols: Column<Row>[], cmd: string): SortKey[] {
  const names = new Set(cols.map((c) => c.name));
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const descending = s.startsWith("-");
      const column = s.replace(/^[-+]/, "");
      if (!names.has(column))
        throw new UsageError(`${cmd}: --sort: unknown column ${JSON.stringify(column)} (columns: ${[...names].join(", ")})`);
      return { column, descending };
    });
}

/** null sorts after every value in either direction: a row that has nothing to show goes last. */
function compareValues(a: CellValue, b: CellValue): number {
  if (a === null || b === null) return 0;
  if (typeof a === "string" || typeof b === "string") return String(a).localeCompare(String(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A stable sort of `rows` by `keys`, in place order kept for ties. */
export function sortRows<Row>(rows: Row[], keys: SortKey[], cols: Column<Row>[]): Row[] {
  const byName = new Map(cols.map((c) => [c.name, c]));
  const resolved = keys.map((k) => ({ col: byName.get(k.column)!, sign: k.descending ? -1 : 1 }));
  return rows
    .map((row, index) => ({ row, index, values: resolved.map((k) => k.col.value(row)) }))
    .sort((x, y) => {
      for (let i = 0; i < resolved.length; i++) {
        const a = x.values[i]!;
        const b = y.values[i]!;
        if (a === null && b === null) continue;
        if (a === null) return 1;
        if (b === null) return -1;
        const c = compareValues(a, b) * resolved[i]!.sign;
        if (c) return c;
      }
      return x.index - y.index;
    })
    .map((e) => e.row);
}

export type OutputMode = { kind: "json" } | { kind: "columns"; columns: string[] | undefined };

/** --output json | columns | columns=name,name,... (names checked against `cols`). */
export function parseOutput<Row>(spec: string, cols: Column<Row>[], cmd: string): OutputMode {
  if (spec === "json") return { kind: "json" };
  if (spec === "columns") return { kind: "columns", columns: undefined };
  if (spec.startsWith("columns=")) {
    const names = spec.slice("columns=".length).split(",").map((s) => s.trim()).filter(Boolean);
    const known = new Set(cols.map((c) => c.name));
    const unknown = names.find((n) => !known.has(n));
    if (unknown !== undefined)
      throw new UsageError(`${cmd}: --output: unknown column ${JSON.stringify(unknown)} (columns: ${[...known].join(", ")})`);
    if (!names.length) throw new UsageError(`${cmd}: --output: "columns=" names no column`);
    return { kind: "columns", columns: names };
  }
  throw new UsageError(`${cmd}: --output: ${JSON.stringify(spec)} is not one of json, columns, columns=NAME,...`);
}

/** The columns a table shows: the named ones in that order, else every column not hidden. */
export function visibleColumns<Row>(cols: Column<Row>[], names: string[] | undefined): Column<Row>[] {
  if (!names) return cols.filter((c) => !c.hidden);
  const byName = new Map(cols.map((c) => [c.name, c]));
  return names.map((n) => byName.get(n)!);
}

/** 1536 → "1.5Ki": binary units, as `free -h` and IG's top gadgets print memory. */
export function formatBytes(n: number | null): string {
  if (n === null) return "-";
  const units = ["", "Ki", "Mi", "Gi", "Ti", "Pi"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? String(n) : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[u]}`;
}

/** Container ids are shown as their first 12 characters, the prefix people type (docker, IG). */
export const shortId = (id: string) => (id ? id.slice(0, 12) : "-");

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** 9 → "SIGKILL"; undefined for a number with no name. */
export const signalNameOf = (signal: number): string | undefined => SIGNAL_NAMES.get(signal);

/** 9 → "SIGKILL"; an unnamed number stays a number. */
export function signalName(signal: number | null, coreDumped = false): string {
  if (signal === null) return "-";
  return (signalNameOf(signal) ?? String(signal)) + (coreDumped ? " (core)" : "");
}
