import { doMunmap, runScenarioDetailed } from "@foliolab/core";

const strategy = (await import(process.env.STRAT ?? "@foliolab/strategy-folio-batch")).default;
const folio = process.argv[2] ?? "4K";
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
const ts = [];
for (let r = 0; r < 10; r++) {
  const { kernel } = runScenarioDetailed(
    { name: "p", config: { mthp: folio === "4K" ? {} : { [sz]: "madvise" }, invariants: false }, ops },
    { strategy, invariants: false },
  );
  const mm = kernel.procs.get("main");
  const m = mm.mappings.get("a");
  const t0 = process.hrtime.bigint();
  doMunmap(kernel, mm, m.start, m.start + m.nrPages);
  const t1 = process.hrtime.bigint();
  ts.push((Number(t1 - t0) / m.nrPages).toFixed(1));
}
console.log(folio, ts.join(" "));
