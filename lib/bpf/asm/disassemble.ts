// Program text in cilium/ebpf's Instructions.Format("%v"), the format of runc's golden
// device-filter tests: `label:` lines, comments as `; text`, instructions as `\t<slot>: <insn>`.
import type { Instruction } from "./instruction.ts";

export function disassemble(insns: readonly Instruction[]): string {
  if (insns.length === 0) return "";
  // cilium sizes the slot column as if every instruction were two slots wide
  const width = Math.ceil(Math.log10(insns.length * 2));
  let out = "";
  let slot = 0;
  for (const i of insns) {
    if (i.symbol !== undefined) out += `${i.symbol}:\n`;
    const comment = i.comment?.trim();
    if (comment) out += `\t${" ".padStart(width)}; ${comment}\n`;
    out += `\t${String(slot).padStart(width)}: ${i}\n`;
    slot += i.width;
  }
  return out;
}
