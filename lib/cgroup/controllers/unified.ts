import { controllerOfFile } from "../files.ts";
import type { Setting } from "../types.ts";

export function unifiedSettings(unified: Record<string, string> | undefined): Setting[] {
  return Object.entries(unified ?? {}).map(([file, value]) => ({ controller: controllerOfFile(file), file, value }));
}
