// hooks.d patterns are Go (RE2) regular expressions, matched unanchored like regexp.MatchString.
// JavaScript's syntax covers the common subset; this bridges the Go-only forms people write in
// hooks.d files: leading flag groups like (?i), POSIX classes like [[:digit:]], \A and \z.
const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const LEADING_FLAGS = /^\(\?([ims]+)\)/;

/** Compiles a Go regular expression; throws a SyntaxError for an invalid one. */
export function compileGoRegExp(pattern: string): RegExp {
  let source = pattern;
  let flags = "";
  const lead = LEADING_FLAGS.exec(source);
  if (lead) {
    flags = [...new Set(lead[1]!)].join("");
    source = source.slice(lead[0].length);
  }
  source = source
    .replace(/\[:(\^?)([a-z]+):\]/g, (whole, negated: string, name: string) => {
      const cls = POSIX_CLASSES[name];
      if (!cls || negated) throw new SyntaxError(`unsupported character class ${whole}`);
      return cls;
    })
    .replace(/\\A/g, "(?<![\\s\\S])")
    .replace(/\\z/g, "(?![\\s\\S])");
  return new RegExp(source, flags);
}
