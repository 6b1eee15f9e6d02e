// Parse + validate + re-serialise of a real podman config.json through lib/oci, against plain
// JSON.parse + JSON.stringify of the same text in the same run: what a hook pays per start for
// the schema. Also the first call in this process (schemas are built at import, compiled on first use).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { check, parseJson, SpecSchema, stringifyJson } from "../../lib/oci/index.ts";
import { median, report, rounds, us } from "./util.ts";

const FILE = join(import.meta.dir, "../../../shared/fixtures/bundles/podman-4.3.json");
const text = readFileSync(FILE, "utf8");
const ITERATIONS = 2_000;
const ROUNDS = 7;

function hookshim(): string {
  const doc = parseJson(text);
  const r = check(SpecSchema, doc);
  if (!r.ok) throw new Error(r.problems.join("; "));
  return stringifyJson(r.value);
}

function plain(): string {
  return JSON.stringify(JSON.parse(text));
}

/** ns per call, median over rounds of ITERATIONS calls */
function perCall(f: () => string): number {
  let sink = 0;
  const samples = rounds(ROUNDS, () => {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < ITERATIONS; i++) sink += f().length;
    return (Bun.nanoseconds() - t0) / ITERATIONS;
  });
  if (sink === 0) throw new Error("nothing serialised");
  return median(samples);
}

const t0 = Bun.nanoseconds();
if (hookshim() !== plain()) throw new Error("round trip changed the config");
const first = Bun.nanoseconds() - t0;

const base = perCall(plain);
const ours = perCall(hookshim);
const validateOnly = perCall(() => (check(SpecSchema, JSON.parse(text)).ok ? "ok" : ""));

report(`config.json round trip (${text.length} bytes, median of ${ROUNDS} x ${ITERATIONS} calls)`, [
  ["JSON.parse + JSON.stringify (baseline)", us(base)],
  ["lib/oci parse + validate + stringify", us(ours)],
  ["ratio", `${(ours / base).toFixed(2)}x baseline`],
  ["of which JSON.parse + validate", us(validateOnly)],
  ["first call in the process", us(first)],
]);
