import * as z from "zod/mini";
let built = 0;
const lazyMem = z.lazy(() => { built++; return z.looseObject({ limit: z.optional(z.int()) }); });
const S = z.looseObject({ devices: z.optional(z.array(z.string())), memory: z.optional(lazyMem) });
console.log("after construct", built);
console.log(S.safeParse({ devices: ["a"] }, { jitless: true }).success, "after parse without memory", built);
console.log(S.safeParse({ memory: { limit: 5 } }, { jitless: true }).success, "after parse with memory", built);
console.log(S.safeParse({ memory: { limit: "x" } }, { jitless: true }).error?.issues[0]?.path, built);
