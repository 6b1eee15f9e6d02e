// hookshim validate [--kind config|state|hooks|hookshim-config] FILE: quiet and 0 when valid;
// otherwise exit 2 and one `FILE: path: what is wrong` line per problem on stderr. The OCI kinds
// are told apart by their fields; hookshim's own config file is only checked when asked for.
import type { GlobalOptions } from "./context.ts";
import type { ParsedCommand } from "../options/index.ts";
import { UsageError } from "../errors.ts";
import { configProblems } from "../config/index.ts";
import { CONFIG_SIZE_LIMIT, DOCUMENT_KINDS, inferKind, readJsonFile, validateDocument, type DocumentKind } from "../oci/index.ts";

const COMMAND = "hookshim validate";
const HOOKSHIM_CONFIG = "hookshim-config";
const KINDS = [...DOCUMENT_KINDS, HOOKSHIM_CONFIG];

export async function main(p: ParsedCommand, _g: GlobalOptions): Promise<number> {
  const kindArg = p.values.str("kind");
  if (kindArg !== undefined && !KINDS.includes(kindArg))
    throw new UsageError(`${COMMAND}: --kind must be one of ${KINDS.join(", ")}, not "${kindArg}"`);
  const file = p.positionals[0]!;
  // unreadable, oversized and malformed files are InputErrors naming the file: main prints them
  const doc = readJsonFile(file, CONFIG_SIZE_LIMIT);
  const problems = kindArg === HOOKSHIM_CONFIG ? configProblems(doc) : validateDocument(doc, (kindArg as DocumentKind | undefined) ?? inferKind(doc));
  for (const line of problems) console.error(`${file}: ${line}`);
  return problems.length ? 2 : 0;
}
