// The plain-code checks in front of list schemas (lib/oci/primitives.ts listOf) must accept only
// what their zod schema accepts; one assertion for all of them.
import { expect } from "bun:test";

/**
 * Asserts that every input `plain` accepts, `schemaAccepts` accepts too, and that `plain` accepted
 * at least `realInputs` of them (the real and generated inputs lead the list), so the check is not
 * vacuous.
 */
export function expectPlainCheckWithinSchema(
  inputs: readonly unknown[],
  plain: (v: unknown) => boolean,
  schemaAccepts: (v: unknown) => boolean,
  realInputs: number,
): void {
  let accepted = 0;
  for (const input of inputs) {
    if (!plain(input)) continue;
    accepted++;
    expect({ input, schemaAccepts: schemaAccepts(input) }).toEqual({ input, schemaAccepts: true });
  }
  expect(accepted).toBeGreaterThanOrEqual(realInputs);
}
