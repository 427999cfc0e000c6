import { doMunmap, runScenarioDetailed } from "@foliolab/core";

const strategy = (await import(process.env.STRAT ?? "@foliolab/strategy-folio-batch")).default;
const folio = process.argv[2] ?? "2M-PMD";
function spec(bytes) {
  const sz = folio.startsWith("2M") ? "2M" : folio;
  const ops = [
    { op: "mmap", id: "a", size: bytes, kind: "anon" },
    { op: "madvise", id: "a", advice: folio === "4K" ? "nohugepage" : "hugepage" },
    { op: "write", id: "a", value: 1 },
  ];
  if (folio === "2M-PTE")
    for (let off = 0; off < bytes; off += 2 << 20) {
      ops.push({ op: "mprotect", id: "a", offset: off, length: 4096, prot: "r" });
      ops.push({ op: "mprotect", id: "a", offset: off, length: 4096, prot: "rw" });
    }
  return { name: "p", config: { mthp: folio === "4K" ? {} : { [sz]: "madvise" }, invariants: false }, ops };
}
function once(bytes, gc) {
  const { kernel } = runScenarioDetailed(spec(bytes), { strategy, invariants: false });
  const mm = kernel.procs.get("main");
  const m = mm.mappings.get("a");
  if (gc) globalThis.gc();
  const t0 = process.hrtime.bigint();
  doMunmap(kernel, mm, m.start, m.start + m.nrPages);
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0) / m.nrPages;
}
const w = [once(64 << 20), once(64 << 20), once(64 << 20)];
console.log(folio, "warm", w.map((x) => x.toFixed(1)).join(" "), "measured", once(1 << 30, true).toFixed(2));
