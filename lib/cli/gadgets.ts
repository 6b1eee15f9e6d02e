// hookshim snapshot|trace|top <gadget> [OPTIONS]: the gadget commands. main.ts passes the category
// as args[0]; the gadget, its parameters and its output are lib/gadgets' business.
import { DEFAULT_STORE } from "../store/index.ts";
import { findGadget, gadgetsOf, runGadget, GADGET_CATEGORIES, type GadgetCategory } from "../gadgets/index.ts";
import type { GlobalOptions } from "./context.ts";
import { UsageError } from "../errors.ts";

function categoryHelp(category: GadgetCategory): string {
  const gadgets = gadgetsOf(category);
  const width = Math.max(...gadgets.map((g) => g.name.length));
  return [
    `usage: hookshim ${category} GADGET [OPTIONS]   (hookshim ${category} GADGET --help for its options)`,
    "gadgets:",
    ...gadgets.map((g) => `  ${g.name.padEnd(width)}  ${g.description}`),
  ].join("\n");
}

export async function main(args: string[], g: GlobalOptions): Promise<number> {
  const category = args[0] as GadgetCategory;
  if (!GADGET_CATEGORIES.includes(category)) throw new UsageError(`hookshim: unknown gadget category "${args[0]}"`);
  const name = args[1];
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? console.error : console.log)(categoryHelp(category));
    return name === undefined ? 2 : 0;
  }
  const gadget = findGadget(category, name);
  if (!gadget) {
    const known = gadgetsOf(category).map((x) => x.name).join(", ");
    throw new UsageError(`hookshim ${category}: unknown gadget "${name}" (${category} gadgets: ${known})`);
  }
  return runGadget(gadget, args.slice(2), { store: g.store ?? DEFAULT_STORE, tty: process.stdout.isTTY === true });
}
