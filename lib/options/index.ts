// The command-line option system (see spec.ts): declarations, parsing on util.parseArgs, generated
// help and bash completion. Used by every command, the gadgets included.
export type { CommandSpec, OptionKind, OptionSpec, PositionalSpec } from "./spec.ts";
export { subcommandsOf } from "./spec.ts";
export { convertValue, defaulted, formatDuration, OptionValues, parseDuration, type OptionValue } from "./values.ts";
export { HELP_OPTION, HelpRequest, parseCommandLine, flag, list, requireStr, str, type ParsedCommand, type ParseResult } from "./parse.ts";
export { helpText, optionsHelp, usageLine } from "./help.ts";
export { bashCompletion } from "./completion.ts";
