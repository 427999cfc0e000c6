// Seed 004's reclaim batching variants in the bench: reclaim/lazyfree-shared, where the three
// discard the same lazyfree folios from both processes at different cost, and the strategy
// specs that run folio-batch with each side by side.

import { runScenario } from "@foliolab/core";
import { folioBatch, folioBatchReclaimAllOrNothing, folioBatchReclaimNone } from "@foliolab/strategy-folio-batch";
import { describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import type { ResultsFile } from "./results.js";
import { captureIo } from "./test-helpers.js";
import { findWorkload } from "./workloads.js";

const VARIANTS = { none: folioBatchReclaimNone, "all-or-nothing": folioBatchReclaimAllOrNothing, partial: folioBatch };

describe("reclaim/lazyfree-shared under each reclaim batching (seed 004)", () => {
  it("discards the same folios from both processes, at a different cost per variant", () => {
    const g = findWorkload("reclaim/lazyfree-shared")?.generate({ size: 4 << 20, folio: "64K", seed: 1 });
    if (!g) throw new Error("no workload reclaim/lazyfree-shared");
    const got = Object.fromEntries(
      Object.entries(VARIANTS).map(([name, strategy]) => {
        const r = runScenario(g.scenario, { strategy });
        // What the reclaim did (the same under each) and what it cost (not).
        expect([r.vmstat.pglazyfreed, r.procs.main?.RssAnon, r.procs.child?.RssAnon]).toEqual([1024, 0, 0]);
        return [name, [r.costs.nr_pages_mapped_atomic, r.costs.large_mapcount_atomic, r.costs.refcount_atomic]];
      }),
    );
    // [_nr_pages_mapped atomics, _large_mapcount updates, refcount atomics] over the whole run:
    // 64 folios of 64K, each mapped whole by main and without its first page by the child: per
    // folio 16/33/36 per PTE, 16/18/21 when v4 batches main's whole folio but not the child's 15
    // PTEs (its head is unmapped), 2/4/7 when the merged batching takes both runs whole.
    expect(got).toEqual({
      none: [1024, 2112, 2304],
      "all-or-nothing": [1024, 1152, 1344],
      partial: [128, 256, 448],
    });
  });

  it("runs folio-batch with each variant side by side in `foliolab bench`, the merged one cheapest", async () => {
    const io = captureIo();
    const code = await main(
      [
        "bench",
        "-s",
        "folio-batch,folio-batch#folioBatchReclaimNone,folio-batch#folioBatchReclaimAllOrNothing",
        "-w",
        "reclaim/lazyfree-shared",
        "--size",
        "4M",
        "-f",
        "64K",
        "--samples",
        "1",
        "--no-out",
        "--json",
      ],
      io,
    );
    expect(code).toBe(0);
    const runs = (JSON.parse(io.stdout.join("")) as ResultsFile).runs;
    const ns = Object.fromEntries(runs.map((r) => [r.strategy, r.metrics?.modelledNs ?? 0]));
    expect(Object.keys(ns).sort()).toEqual(["folio-batch", "folio-batch/reclaim-all-or-nothing", "folio-batch/reclaim-none"]);
    expect(ns["folio-batch"]).toBeLessThan(ns["folio-batch/reclaim-all-or-nothing"] as number);
    expect(ns["folio-batch/reclaim-all-or-nothing"]).toBeLessThan(ns["folio-batch/reclaim-none"] as number);
  });
});
