// hookshim install --containerd-config F [--write]: register the runtime shim with containerd (and
// show docker's entry). containerd 1.6 reads config version 2; the shim goes in as a runc v2 runtime
// whose BinaryName is the shim, so containerd-shim-runc-v2 calls it wherever it would call runc.
// hookshim install --docker-config F [--write]: the same for dockerd's daemon.json `runtimes`.
//
// The TOML is edited as text, table by table: the hookshim runtime tables (and their subtables)
// are replaced or appended, every other line stays byte for byte, comments included. daemon.json
// is JSON: every other key is kept, in its order, and integers too long for a double digit for digit.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../oci/bundle.ts";
import { readJsonFile, stringifyJson } from "../oci/json.ts";
import { InputError } from "../errors.ts";

export const DEFAULT_SHIM_BINARY = "/usr/local/bin/hookshim-runtime";
export const RUNTIME_NAME = "hookshim";
const CRI_RUNTIMES = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes';
export const CONTAINERD_RUNTIME_TABLE = `${CRI_RUNTIMES}.${RUNTIME_NAME}`;

function tomlString(s: string): string {
  return JSON.stringify(s); // a TOML basic string escapes like JSON for everything a path holds
}

/** The containerd 1.6 (config version 2) runtime entry for the shim. */
export function containerdRuntimeToml(binary = DEFAULT_SHIM_BINARY): string {
  return [
    `[${CONTAINERD_RUNTIME_TABLE}]`,
    `  runtime_type = "io.containerd.runc.v2"`,
    `[${CONTAINERD_RUNTIME_TABLE}.options]`,
    `  BinaryName = ${tomlString(binary)}`,
    "",
  ].join("\n");
}

export const DOCKER_CONFIG = "/etc/docker/daemon.json";
/** daemon.json is a few hundred bytes; anything past this is not one. */
const DOCKER_CONFIG_LIMIT = 1 << 20;

/** docker's daemon.json `runtimes` entry (merge it into /etc/docker/daemon.json). */
export function dockerRuntimeJson(binary = DEFAULT_SHIM_BINARY): string {
  return `${JSON.stringify({ runtimes: { [RUNTIME_NAME]: { path: binary } } }, null, 2)}\n`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A daemon.json document (undefined: no file yet) with `runtimes.hookshim` set to the shim; every
 * other key and runtime is kept. `file` names the input in errors.
 */
export function withDockerRuntime(doc: unknown, file: string, binary = DEFAULT_SHIM_BINARY): Record<string, unknown> {
  if (doc === undefined) return { runtimes: { [RUNTIME_NAME]: { path: binary } } };
  if (!isPlainObject(doc)) throw new InputError(`${file}: daemon.json must be a JSON object, not ${Array.isArray(doc) ? "an array" : doc === null ? "null" : typeof doc}`);
  const runtimes = doc.runtimes ?? {};
  if (!isPlainObject(runtimes)) throw new InputError(`${file}: runtimes: must be an object of runtime name -> {"path": ...}`);
  return { ...doc, runtimes: { ...runtimes, [RUNTIME_NAME]: { path: binary } } };
}

/**
 * The `--docker-config` part of `hookshim install`: prints the merged daemon.json, or with `write`
 * replaces the file atomically (its mode and owner kept). Returns the exit code.
 */
export function installDockerRuntime(opts: { dockerConfig: string; write: boolean; binary?: string }): number {
  const binary = opts.binary ?? DEFAULT_SHIM_BINARY;
  const file = opts.dockerConfig;
  const doc = existsSync(file) ? readJsonFile(file, DOCKER_CONFIG_LIMIT) : undefined;
  const updated = `${stringifyJson(withDockerRuntime(doc, file, binary), 2)}\n`;
  if (opts.write) {
    writeFileAtomic(file, updated, { mode: 0o644 });
    console.log(`docker: wrote the ${RUNTIME_NAME} runtime to ${file}; reload dockerd (kill -HUP, or systemctl reload docker), then docker run --runtime ${RUNTIME_NAME}`);
  } else {
    console.log(`docker: ${file} with the ${RUNTIME_NAME} runtime (rerun with --write to replace it):`);
    process.stdout.write(updated);
  }
  return 0;
}

// `[a . "b"]` and `[a."b"]` name one table: whitespace outside quotes does not count.
function normalizeKey(key: string): string {
  let out = "";
  let quote: string | undefined;
  for (const c of key) {
    if (quote) {
      if (c === quote) quote = undefined;
      out += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

const HEADER = /^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$/;
const VERSION = /^\s*version\s*=\s*(\d+)\s*(#.*)?$/;

function configVersion(lines: string[]): number | undefined {
  for (const line of lines) {
    if (HEADER.test(line)) return undefined;
    const m = VERSION.exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * `text` (a containerd config.toml, possibly empty) with the shim's runtime entry in it: existing
 * hookshim runtime tables are dropped and the entry appended. `file` names the input in errors.
 */
export function withContainerdRuntime(text: string, file: string, binary = DEFAULT_SHIM_BINARY): string {
  const lines = text.split("\n");
  if (text.trim() === "") return `version = 2\n\n${containerdRuntimeToml(binary)}`;
  const version = configVersion(lines);
  if (version !== 2)
    throw new InputError(`${file}: containerd config ${version === undefined ? "without a version (version 1)" : `version ${version}`}: hookshim writes version 2 entries; convert it with \`containerd config migrate\``);
  const ours = normalizeKey(CONTAINERD_RUNTIME_TABLE);
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    const m = HEADER.exec(line);
    if (m) {
      const key = normalizeKey(m[1]!);
      skipping = key === ours || key.startsWith(`${ours}.`);
    }
    if (!skipping) kept.push(line);
  }
  while (kept.length && kept[kept.length - 1]!.trim() === "") kept.pop();
  return `${kept.join("\n")}\n\n${containerdRuntimeToml(binary)}`;
}

export interface RuntimeInstallOptions {
  /** the containerd config.toml to update */
  containerdConfig: string;
  /** write it (atomically) instead of printing the entries */
  write: boolean;
  /** the shim executable containerd and docker run; default /usr/local/bin/hookshim-runtime */
  binary?: string;
}

/**
 * The `--containerd-config` part of `hookshim install`. Without `write`, prints the containerd
 * entry and docker's; with it, rewrites the file and prints docker's entry as advice. Returns the
 * exit code.
 */
export function installRuntime(opts: RuntimeInstallOptions): number {
  const binary = opts.binary ?? DEFAULT_SHIM_BINARY;
  const file = opts.containerdConfig;
  let text = "";
  if (existsSync(file)) {
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const updated = withContainerdRuntime(text, file, binary);
  if (opts.write) {
    writeFileAtomic(file, updated, { mode: 0o644 });
    console.log(`containerd: wrote the ${RUNTIME_NAME} runtime to ${file}; restart containerd, then use runtime "${RUNTIME_NAME}" (ctr run --runc-binary ${binary} also works without it)`);
  } else {
    console.log(`containerd: add to ${file} (or rerun with --write):`);
    process.stdout.write(containerdRuntimeToml(binary));
  }
  console.log(`docker: merge into ${DOCKER_CONFIG} (or run: hookshim install --docker-config ${DOCKER_CONFIG} --write), then docker run --runtime ${RUNTIME_NAME}:`);
  process.stdout.write(dockerRuntimeJson(binary));
  return 0;
}
