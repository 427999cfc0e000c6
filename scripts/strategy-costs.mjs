// Cost events of munmap() of one anonymous mapping under a strategy, at 4K, 64K and 2M
// PTE-mapped folios (David Hildenbrand's pte-mapped-folio benchmark shape). Run after building:
//   node scripts/strategy-costs.mjs <strategy package dir> [size]   (size defaults to 1G; invariants off)

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { COST_EVENT_KEYS, runScenario } from "@foliolab/core";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/strategy-costs.mjs <strategy package dir> [size]");
  process.exit(2);
}
const strategy = (await import(pathToFileURL(resolve(dir, "dist/index.js")).href)).default;

const size = process.argv[3] ?? "1G";
const MiB = 1 << 20;
const bytes = /G$/i.test(size) ? Number.parseInt(size, 10) * 1024 * MiB : Number.parseInt(size, 10) * MiB;

/** mmap, fault every page, (for 2M: split every PMD by mprotect of one 4K page to r and back), munmap. */
function scenario(folio) {
  const config = { invariants: false };
  const ops = [{ op: "mmap", id: "a", size, kind: "anon" }];
  if (folio === "64K") config.mthp = { "64K": "always" };
  if (folio === "2M") config.mthp = { "2M": "always" };
  ops.push({ op: "write", id: "a", value: 7 });
  if (folio === "2M") {
    for (let off = 0; off < bytes; off += 2 * MiB) {
      ops.push({ op: "mprotect", id: "a", offset: off, length: "4K", prot: "r" });
      ops.push({ op: "mprotect", id: "a", offset: off, length: "4K", prot: "rw" });
    }
  }
  ops.push({ op: "munmap", id: "a" });
  return { name: `munmap-${size}-${folio}`, config, ops };
}

const rows = new Map();
for (const folio of ["4K", "64K", "2M"]) {
  const spec = scenario(folio);
  let before = null;
  let after = null;
  runScenario(spec, {
    strategy,
    invariants: false,
    onOp: (k, op, i) => {
      if (i === spec.ops.length - 2) before = Float64Array.from(k.costs);
      if (op.op === "munmap") after = Float64Array.from(k.costs);
    },
  });
  COST_EVENT_KEYS.forEach((key, i) => {
    if (!rows.has(key)) rows.set(key, {});
    rows.get(key)[folio] = after[i] - before[i];
  });
}

console.log(`${strategy.name}: cost events of munmap of ${size} anon (faults and mprotect excluded)\n`);
console.log("| cost event | 4K | 64K | 2M PTE-mapped |");
console.log("|---|---:|---:|---:|");
for (const [key, v] of rows) {
  if (v["4K"] === 0 && v["64K"] === 0 && v["2M"] === 0) continue;
  console.log(`| ${key} | ${v["4K"]} | ${v["64K"]} | ${v["2M"]} |`);
}
