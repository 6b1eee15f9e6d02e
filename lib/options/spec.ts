// Declarations of commands and their options: the one source the parser, --help, `hookshim help`
// and the bash completion are generated from. Data only, so a command table costs nothing to load.

export type OptionKind = "bool" | "string" | "int" | "duration" | "enum" | "list";

export interface OptionSpec {
  /** long name without dashes */
  name: string;
  short?: string;
  kind: OptionKind;
  description: string;
  /** as it would be typed; bools default to false, lists to empty */
  default?: string;
  /** int and duration (milliseconds): the smallest value accepted */
  min?: number;
  /** enum: the values accepted (and completed) */
  values?: readonly string[];
  /** the value's name in help ("FILE", "DIR"); FILE, DIR and PATH values complete as paths */
  placeholder?: string;
  /** string: may repeat, values collected in order (list: may repeat, and each is split at commas) */
  repeat?: boolean;
}

export interface PositionalSpec {
  /** as shown in the usage line: "FILE", "RULE", "[ID...]" */
  synopsis: string;
  min: number;
  /** undefined: any number */
  max?: number;
  /** what to complete: files, or nothing */
  complete?: "file";
}

export interface CommandSpec {
  name: string;
  /** one line, shown in the parent's list */
  summary: string;
  /** more lines after the usage line */
  details?: string;
  options?: OptionSpec[];
  positionals?: PositionalSpec;
  /**
   * Subcommands, or a loader for them (gadgets come from lib/gadgets' registry, which is loaded only
   * when a gadget command, its help or the completion needs it).
   */
  subcommands?: CommandSpec[] | (() => Promise<CommandSpec[]>);
  /** arguments are handed over untouched: no option parsing, no --help (the runtime shim's runc argv) */
  passThrough?: boolean;
  /** hidden from listings and completion */
  hidden?: boolean;
}

export async function subcommandsOf(spec: CommandSpec): Promise<CommandSpec[]> {
  if (!spec.subcommands) return [];
  return typeof spec.subcommands === "function" ? spec.subcommands() : spec.subcommands;
}
