import { parseScenario, runScenario } from "@foliolab/core";
import { perPage } from "@foliolab/strategy-per-page";
import { describe, expect, it } from "vitest";
import { DEFAULT_FOLIOS } from "./sizes.js";
import { defaultWorkloads, effectiveSize, foliosFor, WORKLOADS, workloadNeeds } from "./workloads.js";

const ISSUE_IDS = [
  "pmfb/munmap",
  "pmfb/fork",
  "pmfb/cow",
  "pmfb/cow-reuse",
  "pmfb/dontneed",
  "pmfb/pte-dontneed",
  "pmfb/munmap-swapped-forked",
  "wis/page_fault1",
  "wis/tlb_flush2",
  "vms/anon-cow-seq",
  "mmtests/time-unmap",
  "reclaim/lazyfree-pageout",
  "reclaim/lazyfree-shared",
  "exit/mixed-orders",
  "file/shared-dirty-munmap",
  "partial/unmap-1-per-folio",
];
/** Workloads beyond the issue's list. */
const EXTRA_IDS = ["sharing/disjoint-halves"];
/** Workloads of issue 17 (shmem). */
const SHMEM_IDS = ["shmem/munmap", "shmem/exit", "file/exit-readonly"];

describe("workloads", () => {
  it("has every workload the issue names, and the extra ones", () => {
    expect(WORKLOADS.map((w) => w.id).sort()).toEqual([...ISSUE_IDS, ...EXTRA_IDS, ...SHMEM_IDS].sort());
  });

  for (const w of WORKLOADS) {
    it(`${w.id}: generates valid scenarios with a measured teardown phase`, () => {
      for (const folio of foliosFor(w, DEFAULT_FOLIOS)) {
        const size = effectiveSize(w, w.minSize, folio);
        const g = w.generate({ size, folio, seed: 1 });
        const parsed = parseScenario(JSON.parse(JSON.stringify(g.scenario)));
        expect(parsed.ops.length).toBe(g.scenario.ops.length);
        expect(g.measured.length).toBeGreaterThan(0);
        expect(g.measured[0]).toBeGreaterThan(0);
        for (const i of g.measured) expect(i).toBeLessThan(g.scenario.ops.length);
        // deterministic for a seed
        expect(JSON.stringify(w.generate({ size, folio, seed: 1 }))).toBe(JSON.stringify(g));
      }
    });
  }

  it("leaves out of the default matrix exactly the workloads whose ops core does not support yet", async () => {
    const defaults = (await defaultWorkloads()).map((w) => w.id);
    for (const w of WORKLOADS) {
      const needs = await workloadNeeds(w);
      for (const n of needs) expect(n).toBe("swap");
      expect(defaults.includes(w.id)).toBe(needs.length === 0);
    }
    expect(defaults).toContain("pmfb/munmap");
  });

  it("the file workloads' cells: 4K stays order-0 (MADV_RANDOM), mixed is the readahead ramp, 2M is PMD-sized", () => {
    const w = WORKLOADS.find((x) => x.id === "file/exit-readonly");
    expect(w?.fixedFolios).toEqual(["4K", "mixed", "2M-PTE", "2M-PMD"]);
    const counters = (folio: string) => {
      const g = w?.generate({ size: 32 << 20, folio, seed: 1 });
      const setup = { ...g?.scenario, ops: g?.scenario.ops.filter((o) => o.op !== "exit") };
      return runScenario(setup, { strategy: perPage, invariants: false });
    };
    expect(counters("4K").vmstat.pgmajfault).toBe(8192);
    expect(counters("4K").meminfo.FileHugePages).toBe(0);
    const mixed = counters("mixed");
    // One major fault, then 8M each of 4K, 16K, 64K and 256K folios: no PMD-sized one in 32M.
    expect(mixed.vmstat.pgmajfault).toBe(1);
    expect(mixed.vmstat.pgfault).toBe((3 * 2048) / 16 + 32);
    expect(counters("2M-PMD").meminfo.FilePmdMapped).toBe(32 << 10);
  });

  it("exit/mixed-orders depends on the seed", () => {
    const w = WORKLOADS.find((x) => x.id === "exit/mixed-orders");
    const a = w?.generate({ size: 16 << 20, folio: "mixed", seed: 1 });
    const b = w?.generate({ size: 16 << 20, folio: "mixed", seed: 2 });
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b));
  });
});

describe("sharing/disjoint-halves", () => {
  it("shows folio_likely_mapped_shared and folio_estimated_sharers missing every folio MM_ID catches (example E2)", async () => {
    const { measureOnce } = await import("./measure.js");
    const { perPage } = await import("@foliolab/strategy-per-page");
    const w = WORKLOADS.find((x) => x.id === "sharing/disjoint-halves");
    if (!w) throw new Error("workload missing");
    const g = w.generate({ size: 4 << 20, folio: "64K", seed: 1 });
    const m = measureOnce(g, perPage, true, true);
    const folios = (4 << 20) / (64 << 10);
    expect(m.sharing).toEqual({
      folios,
      shared: folios,
      maybeMappedShared: { falsePositives: 0, falseNegatives: 0 },
      likelyMappedShared: { falsePositives: 0, falseNegatives: folios },
      estimatedSharers: { falsePositives: 0, falseNegatives: folios },
    });
  });
});
