// hookshim snapshot|trace|top <gadget> [OPTIONS]: the gadget commands. main.ts has parsed the
// gadget's parameters against its declaration (lib/gadgets/command.ts); the gadget runs on the store
// hookshim's configuration names.
import { findGadget, runGadget, type GadgetCategory } from "../gadgets/index.ts";
import type { ParsedCommand } from "../options/index.ts";
import { configuredStore, type GlobalOptions } from "./context.ts";

export async function main(p: ParsedCommand, g: GlobalOptions): Promise<number> {
  const [, category, name] = p.path as [string, GadgetCategory, string];
  const gadget = findGadget(category, name)!;
  const { name: store, options } = await configuredStore(g);
  return runGadget(gadget, p.values, { store, storeOptions: options, tty: process.stdout.isTTY === true });
}
