const f = (a:number,b:number)=>((b-a)/1e3).toFixed(0);
const t0 = Bun.nanoseconds();
try { const F = Function; new F(""); } catch {}
const t1 = Bun.nanoseconds();
try { const F = Function; new F("return 1"); } catch {}
const t2 = Bun.nanoseconds();
console.error(`newFunction ${f(t0,t1)} again ${f(t1,t2)}`);
