#!/usr/bin/env node
/**
 * The conformance kit's mutation score: every deliberately broken strategy in MUTANTS runs
 * through the kit's checks in order (invariants, equivalence, replays, property with 300 runs,
 * seed 42) until one rejects it. Prints each mutant with the check that caught it and ends with
 * "rejects N of M mutants"; exits 1 when any survives.
 *
 *   npx turbo run build && node packages/testkit/scripts/mutation-score.mjs
 */

import { firstRejection, MUTANTS, MUTATION_SCORE_RUNS } from "@foliolab/testkit";

let rejected = 0;
const t0 = performance.now();
for (const m of MUTANTS) {
  const r = firstRejection(m.strategy, MUTATION_SCORE_RUNS);
  if (r) rejected++;
  const first = r
    ? r.message.split("\n").find((l) => l.trim() !== "" && !l.startsWith("property failed") && !l.includes("replay:"))
    : "";
  console.log(`${r ? "rejected" : "SURVIVED"}  ${m.strategy.name}: ${m.bug}`);
  if (r) console.log(`          by ${r.title.split(":")[0]}: ${(first ?? "").trim().slice(0, 160)}`);
}
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(`rejects ${rejected} of ${MUTANTS.length} mutants (${secs} s)`);
process.exit(rejected === MUTANTS.length ? 0 : 1);
