import { doMunmap, runScenarioDetailed } from "@foliolab/core";
const strategy = (await import(process.env.STRAT ?? "@foliolab/strategy-folio-batch")).default;
const folio = process.argv[2] ?? "2M-PMD";
const mthp = folio === "4K" ? {} : { [folio.replace(/-P..$/, "")]: "always" };
const extra = folio === "2M-PTE" ? [{ op: "mprotect", id: "a", offset: "4K", length: "4K", stride: "2M", prot: "r" },{ op: "mprotect", id: "a", offset: "4K", length: "4K", stride: "2M", prot: "rw" }] : [];
let tot = 0; const N = Number(process.argv[3] ?? 10);
for (let r = 0; r < N; r++) {
  const { kernel } = runScenarioDetailed({ name: "p", config: { mthp, invariants: false, memory: "1032M" }, ops: [{ op: "mmap", id: "a", size: "1G", kind: "anon" }, { op: "write", id: "a" }, ...extra] }, { strategy, invariants: false });
  const mm = kernel.procs.get("main"); const m = mm.mappings.get("a");
  const t0 = process.hrtime.bigint(); doMunmap(kernel, mm, m.start, m.start + m.nrPages); const t1 = process.hrtime.bigint();
  const ns = Number(t1 - t0) / m.nrPages; if (r >= N/2) tot += ns; console.log(folio, ns.toFixed(2));
}
console.log("mean second half", (tot / (N/2)).toFixed(2));
