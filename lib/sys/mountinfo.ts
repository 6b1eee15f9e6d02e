// /proc/self/mountinfo, parsed once per caller: which filesystems are mounted where.
import { readText } from "./file.ts";

export interface MountLine {
  mountpoint: string;
  fstype: string;
  source: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountLine[] {
  const out: MountLine[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 5 || right.length < 3) continue;
    out.push({ mountpoint: unescape(left[4]!), fstype: right[0]!, source: right[1]!, superOptions: right[2]!.split(",") });
  }
  return out;
}

/** Mount points of one filesystem type on this host, in mount order. */
export function mountsOfType(fstype: string, text = readText("/proc/self/mountinfo")): string[] {
  return parseMountinfo(text)
    .filter((m) => m.fstype === fstype)
    .map((m) => m.mountpoint);
}
