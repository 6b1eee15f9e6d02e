// Validating any of the three OCI documents hookshim reads — a config, a state, a hooks.d file —
// by kind, and telling which kind a document is.
import { check } from "./issues.ts";
import { parseHookDefinition } from "./hooksd.ts";
import { SpecSchema } from "./spec.ts";
import { StateSchema } from "./state.ts";

export const DOCUMENT_KINDS = ["config", "state", "hooks"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** A hooks.d file has `hook` and `stages`/`stage`/`version`; a state has `status` and `id`; else a config. */
export function inferKind(doc: unknown): DocumentKind {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return "config";
  const has = (k: string) => Object.hasOwn(doc, k);
  if (has("hook") && (has("stages") || has("stage") || has("version"))) return "hooks";
  if (has("status") && has("id")) return "state";
  return "config";
}

/** `path: what is wrong` lines; none when the document is valid. */
export function validateDocument(doc: unknown, kind: DocumentKind): string[] {
  if (kind === "hooks") {
    const r = parseHookDefinition(doc);
    return r.ok ? [] : r.problems;
  }
  const r = check(kind === "state" ? StateSchema : SpecSchema, doc);
  return r.ok ? [] : r.problems;
}
