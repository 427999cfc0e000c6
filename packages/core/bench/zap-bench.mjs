#!/usr/bin/env node
// Model speed and memory: populate 1 GiB of anon memory per folio size, zap it with munmap
// under the per-page strategy with invariants off, print ns per 4 KiB page and model bytes per
// simulated page. Run from the repo after `npm run build`:
//   node packages/core/bench/zap-bench.mjs [--size 1G] [--reps 5] [--strategy <package>]
import { doMunmap, MemMap, parseSize, runScenarioDetailed } from "@foliolab/core";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const size = opt("size", "1G");
const reps = Number(opt("reps", "5"));
const strategyName = opt("strategy", "@foliolab/strategy-per-page");
const strategy = (await import(strategyName)).default;
const bytes = parseSize(size);
const memory = `${bytes / (1 << 20) + 8}M`;

const SIZES = [
  { label: "4K", mthp: {}, ops: [] },
  { label: "16K", mthp: { "16K": "always" }, ops: [] },
  { label: "64K", mthp: { "64K": "always" }, ops: [] },
  {
    label: "2M PTE-mapped",
    mthp: { "2M": "always" },
    ops: [
      { op: "mprotect", id: "a", offset: "4K", length: "4K", stride: "2M", prot: "r" },
      { op: "mprotect", id: "a", offset: "4K", length: "4K", stride: "2M", prot: "rw" },
    ],
  },
  { label: "2M PMD-mapped", mthp: { "2M": "always" }, ops: [] },
];

const only = opt("only", null);
if (only === null) {
  // Each folio size in its own process, so one size's JIT state does not tax the next.
  const { spawnSync } = await import("node:child_process");
  console.log(`foliolab core zap benchmark: munmap of ${size} anon, strategy ${strategy.name}, invariants off, ${reps} reps`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}; one process per folio size`);
  console.log("");
  console.log("folio size      ns/page (median [min-max])   model bytes per simulated page (struct pages + PTE tables)");
  for (const s of SIZES) {
    const r = spawnSync(process.execPath, [process.argv[1], ...args, "--only", s.label], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    process.stdout.write(r.stdout);
  }
  console.log("");
  console.log(`struct page arrays: ${MemMap.bytesPerPage()} bytes/page; PTE tables: 4 bytes per PTE-mapped page`);
  process.exit(0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const s of SIZES.filter((x) => x.label === only)) {
  const times = [];
  let bytesPerPage = 0;
  for (let r = 0; r < reps; r++) {
    // No forced GC between reps: a full collection makes V8 drop the zap path's optimized code,
    // and the timed munmap then measures recompilation.
    const spec = {
      name: `bench-${s.label}`,
      config: { mthp: s.mthp, invariants: false, memory },
      ops: [{ op: "mmap", id: "a", size, kind: "anon" }, { op: "write", id: "a" }, ...s.ops],
    };
    const { kernel } = runScenarioDetailed(spec, { strategy, invariants: false });
    const mm = kernel.procs.get("main");
    // Model memory: every typed array of struct page state plus the PTE tables in use.
    const mem = kernel.mem;
    const arrays = [mem.mapcount, mem.refcount, mem.flags, mem.order, mem.content, mem.aux0, mem.aux1, mem.aux2];
    let used = arrays.reduce((s, a) => s + a.byteLength, 0);
    for (const t of mm.pgtables.pte.values()) used += t.byteLength;
    const m = mm.mappings.get("a");
    const t0 = process.hrtime.bigint();
    doMunmap(kernel, mm, m.start, m.start + m.nrPages);
    const t1 = process.hrtime.bigint();
    if (kernel.mem.nrFree !== kernel.config.memoryPages - 1024) throw new Error("munmap did not free everything");
    times.push(Number(t1 - t0) / m.nrPages);
    bytesPerPage = used / m.nrPages;
  }
  console.log(
    `${s.label.padEnd(15)} ${median(times).toFixed(1).padStart(7)} [${Math.min(...times).toFixed(1)}-${Math.max(...times).toFixed(1)}]`.padEnd(
      45,
    ) + `${bytesPerPage.toFixed(1)}`,
  );
}
