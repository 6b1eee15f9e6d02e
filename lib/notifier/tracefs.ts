// tracefs: where tracepoint ids and record layouts are published. Not mounted at boot on these hosts,
// so the notifier mounts it where it is missing (like ensureBpffs does for bpffs).
import { readFileSync, statSync } from "node:fs";
import { mount, isFsType, FS_MAGIC } from "../sys/index.ts";

export const TRACEFS = "/sys/kernel/tracing";
const DEBUGFS_TRACING = "/sys/kernel/debug/tracing";

/** The tracefs root, mounting it at /sys/kernel/tracing when no tracefs is reachable. */
export function ensureTracefs(path = TRACEFS): string {
  if (isFsType(path, FS_MAGIC.TRACEFS)) return path;
  if (path === TRACEFS && isFsType(DEBUGFS_TRACING, FS_MAGIC.TRACEFS)) return DEBUGFS_TRACING;
  mount("tracefs", path, "tracefs", 0, "");
  return path;
}

export interface TracepointField {
  name: string;
  offset: number;
  size: number;
}

export interface TracepointFormat {
  id: number;
  fields: Map<string, TracepointField>;
}

/** Parse an events/<system>/<event>/format file: "field:const char * filename;\toffset:16;\tsize:8;..." */
export function parseTracepointFormat(text: string): Map<string, TracepointField> {
  const fields = new Map<string, TracepointField>();
  for (const line of text.split("\n")) {
    const m = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);/.exec(line);
    if (!m) continue;
    const decl = m[1]!.replace(/\[.*\]$/, "").trim();
    const name = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(decl)?.[1];
    if (name) fields.set(name, { name, offset: Number(m[2]), size: Number(m[3]) });
  }
  return fields;
}

export function tracepointFormat(system: string, event: string, root = ensureTracefs()): TracepointFormat {
  const dir = `${root}/events/${system}/${event}`;
  try {
    statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new Error(`tracepoint ${system}/${event}: ${dir}: ${code}${code === "ENOENT" ? " (kernel built without it?)" : ""}`);
  }
  return {
    id: Number(readFileSync(`${dir}/id`, "utf8").trim()),
    fields: parseTracepointFormat(readFileSync(`${dir}/format`, "utf8")),
  };
}
