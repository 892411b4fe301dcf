function mk(subject: string) {
  let done = false;
  const send = (x: unknown) => { if (x === subject) done = true; };
  return { get done() { return done; }, ok(v: unknown) { send(v); }, error(e: unknown) { send(e); } };
}
class R { done = false; constructor(readonly subject: string) {} ok(v: unknown) { if (v === this.subject) this.done = true; } error(e: unknown) { this.ok(e); } }
const N = 3_000_000; let s = 0;
for (let k = 0; k < 2; k++) {
  let t0 = performance.now(); for (let i = 0; i < N; i++) { const r = mk('a'); r.ok(i); s += r.done ? 1 : 0; } const a = (performance.now() - t0) * 1e6 / N;
  t0 = performance.now(); for (let i = 0; i < N; i++) { const r = new R('a'); r.ok(i); s += r.done ? 1 : 0; } const b = (performance.now() - t0) * 1e6 / N;
  if (k) console.log(`closure replier ${a.toFixed(0)} ns, class replier ${b.toFixed(0)} ns`);
}
