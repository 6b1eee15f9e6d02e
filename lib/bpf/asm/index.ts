// A small eBPF assembler in the style of cilium/ebpf's asm package: builders, labels resolved at
// assemble time, a decoder and a disassembler whose text matches runc's golden device-filter tests.
export * from "./opcode.ts";
export * from "./helpers.ts";
export { Instruction, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, PSEUDO_CALL } from "./instruction.ts";
export * from "./builders.ts";
export { assemble, resolve, decode, disassemble, rawLength, AsmError, type AssembleOptions } from "./assemble.ts";
