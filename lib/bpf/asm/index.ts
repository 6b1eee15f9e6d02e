// A small eBPF assembler in the style of cilium/ebpf's asm package: builders, labels and map names
// resolved at assemble time, a decoder, and a disassembler whose text matches runc's golden
// device-filter tests.
export * from "./opcode.ts";
export { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, RFP, type Register } from "./register.ts";
export * from "./helpers.ts";
export { Instruction, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, PSEUDO_CALL, PSEUDO_KFUNC_CALL } from "./instruction.ts";
export * from "./alu.ts";
export * from "./load_store.ts";
export * from "./jump.ts";
export { assemble, resolve, decode, rawLength, AsmError, type AssembleOptions } from "./assemble.ts";
export { disassemble } from "./disassemble.ts";
