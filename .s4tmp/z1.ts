const f = (a:number,b:number)=>((b-a)/1e3).toFixed(0);
const t0 = Bun.nanoseconds();
const ho = await import("../lib/oci/hook-config.ts");
const t1 = Bun.nanoseconds();
const cfg = await import("../lib/config/index.ts");
const t2 = Bun.nanoseconds();
const sp = await import("../lib/oci/spec.ts");
const t3 = Bun.nanoseconds();
console.error(`start ${(t0/1e6).toFixed(2)} hook-config ${f(t0,t1)} config ${f(t1,t2)} spec ${f(t2,t3)} total ${(Bun.nanoseconds()/1e6).toFixed(2)}`);
