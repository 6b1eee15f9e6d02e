// hookshim validate [--kind config|state|hooks] FILE: quiet and 0 when valid; otherwise exit 2 and
// one `FILE: path: what is wrong` line per problem on stderr.
import type { GlobalOptions } from "./context.ts";
import type { ParsedCommand } from "../options/index.ts";
import { UsageError } from "../errors.ts";
import { CONFIG_SIZE_LIMIT, DOCUMENT_KINDS, inferKind, readJsonFile, validateDocument, type DocumentKind } from "../oci/index.ts";

const COMMAND = "hookshim validate";

export async function main(p: ParsedCommand, _g: GlobalOptions): Promise<number> {
  const kindArg = p.values.str("kind");
  if (kindArg !== undefined && !(DOCUMENT_KINDS as readonly string[]).includes(kindArg))
    throw new UsageError(`${COMMAND}: --kind must be one of ${DOCUMENT_KINDS.join(", ")}, not "${kindArg}"`);
  const file = p.positionals[0]!;
  // unreadable, oversized and malformed files are InputErrors naming the file: main prints them
  const doc = readJsonFile(file, CONFIG_SIZE_LIMIT);
  const kind = (kindArg as DocumentKind | undefined) ?? inferKind(doc);
  const problems = validateDocument(doc, kind);
  for (const line of problems) console.error(`${file}: ${line}`);
  return problems.length ? 2 : 0;
}
