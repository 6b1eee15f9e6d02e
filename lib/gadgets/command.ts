// The gadgets as commands (lib/options declarations): `hookshim <category> <gadget>` takes the
// gadget's own parameters and the common ones of its type, and its help lists its columns.
import type { CommandSpec } from "../options/index.ts";
import { commonParams, type Gadget, type GadgetCategory } from "./gadget.ts";
import { gadgetsOf } from "./index.ts";

export function gadgetCommand(gadget: Gadget<never>): CommandSpec {
  const cols = gadget.columns.map((c) => c.name + (c.hidden ? "*" : "")).join(", ");
  return {
    name: gadget.name,
    summary: gadget.description,
    details: `columns (* = shown only when named in --output columns=...): ${cols}`,
    options: [...gadget.params, ...commonParams(gadget)],
  };
}

export function gadgetCommands(category: GadgetCategory): CommandSpec[] {
  return gadgetsOf(category).map(gadgetCommand);
}
