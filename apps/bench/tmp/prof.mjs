import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { doMunmap, runScenarioDetailed } from "@foliolab/core";

const strategy = (await import(process.env.STRAT ?? "@foliolab/strategy-folio-batch")).default;
const folio = process.argv[2] ?? "2M-PMD";
const sz = folio.startsWith("2M") ? "2M" : folio;
const ops = [
  { op: "mmap", id: "a", size: "1G", kind: "anon" },
  { op: "madvise", id: "a", advice: folio === "4K" ? "nohugepage" : "hugepage" },
  { op: "write", id: "a", value: 1 },
];
if (folio === "2M-PTE")
  for (let off = 0; off < 1 << 30; off += 2 << 20) {
    ops.push({ op: "mprotect", id: "a", offset: off, length: 4096, prot: "r" });
    ops.push({ op: "mprotect", id: "a", offset: off, length: 4096, prot: "rw" });
  }
const s = new Session();
s.connect();
await s.post("Profiler.enable");
const N = Number(process.argv[3] ?? 12);
const ts = [];
for (let r = 0; r < N; r++) {
  const { kernel } = runScenarioDetailed(
    { name: "p", config: { mthp: folio === "4K" ? {} : { [sz]: "madvise" }, invariants: false }, ops },
    { strategy, invariants: false },
  );
  const mm = kernel.procs.get("main");
  const m = mm.mappings.get("a");
  if (r === N - 1) {
    await s.post("Profiler.setSamplingInterval", { interval: 50 });
    await s.post("Profiler.start");
  }
  const t0 = process.hrtime.bigint();
  doMunmap(kernel, mm, m.start, m.start + m.nrPages);
  const t1 = process.hrtime.bigint();
  ts.push(Number(t1 - t0) / m.nrPages);
}
const { profile } = await s.post("Profiler.stop");
console.log(folio, ts.map((x) => x.toFixed(1)).join(" "));
const self = new Map();
const cnt = new Map();
profile.samples.forEach((id, i) => cnt.set(id, (cnt.get(id) || 0) + (profile.timeDeltas[i] || 0)));
for (const n of profile.nodes) {
  const k = n.callFrame.functionName + ":" + n.callFrame.lineNumber;
  self.set(k, (self.get(k) || 0) + (cnt.get(n.id) || 0));
}
const tot = [...self.values()].reduce((a, b) => a + b, 0);
[...self.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 18)
  .forEach(([k, v]) => console.log(((v / tot) * 100).toFixed(1) + "%", k));
