import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { COST_EVENT_KEYS } from "@foliolab/core";
import { describe, expect, it } from "vitest";
import { generateCell, measureOnce } from "./measure.js";
import { defaultProfile, describeProfile, loadProfile, modelledNs } from "./profile.js";
import { loadStrategies } from "./strategies.js";
import { PKG_DIR, tempDir } from "./test-helpers.js";
import { effectiveSize, findWorkload } from "./workloads.js";

describe("cost profiles", () => {
  it("the default profile prices every cost event kind and says where each number comes from", () => {
    const p = defaultProfile();
    for (const k of COST_EVENT_KEYS) {
      expect(p.ns[k], k).toBeGreaterThanOrEqual(0);
      expect(p.sources[k]?.length ?? 0, `source of ${k}`).toBeGreaterThan(10);
    }
    expect(describeProfile(p)).toContain("(default,");
  });

  it("a user profile overrides some kinds and keeps the rest", () => {
    const f = join(tempDir(), "p.json");
    writeFileSync(f, JSON.stringify({ name: "mine", events: { pte_clear: 10, folios_freed: { ns: 1, source: "guess" } } }));
    const p = loadProfile(f);
    expect(p.ns.pte_clear).toBe(10);
    expect(p.sources.folios_freed).toBe("guess");
    expect(p.ns.pages_freed).toBe(defaultProfile().ns.pages_freed);
    expect(p.overridden.sort()).toEqual(["folios_freed", "pte_clear"]);
    expect(modelledNs({ pte_clear: 3, folios_freed: 2 }, p).total).toBe(32);
    writeFileSync(f, "{ nope");
    expect(() => loadProfile(f)).toThrow(/not valid JSON/);
  });

  // profiles/default.json is fitted by `foliolab calibrate` on this machine: every cell records
  // the kernel's time and what the profile predicts for it. The prediction must stay what the model
  // and the profile give (deterministic, not timed): a change to the model's events or to the
  // profile that moves it means the profile needs refitting (`foliolab calibrate`).
  // Workloads of 1G are left out to keep the test quick.
  const points = defaultProfile().calibration.filter((c) => (findWorkload(c.workload)?.defaultSize ?? Infinity) <= 256 << 20);
  for (const c of points) {
    const predicted = (c as { predictedNsPerPage?: number }).predictedNsPerPage ?? c.targetNsPerPage;
    it(`calibration: ${c.strategy} ${c.workload} ${c.folio} is still modelled at ${predicted} ns/page`, async () => {
      const { loaded } = await loadStrategies([c.strategy], PKG_DIR);
      const s = loaded[0];
      if (!s) {
        console.warn(`strategy ${c.strategy} is not installed; calibration point skipped`);
        return;
      }
      const w = findWorkload(c.workload);
      if (!w) throw new Error(`unknown workload ${c.workload}`);
      const size = effectiveSize(w, undefined, c.folio);
      const g = generateCell({ workload: c.workload, folio: c.folio, size, strategy: c.strategy, seed: 1 });
      const m = measureOnce(g, s.strategy, false);
      const costs: Record<string, number> = {};
      COST_EVENT_KEYS.forEach((k, i) => {
        costs[k] = m.costs[i] as number;
      });
      const perPage = modelledNs(costs, defaultProfile()).total / (size / 4096);
      expect(Math.abs(perPage - predicted) / predicted, `${perPage.toFixed(3)} ns/page`).toBeLessThan(0.01);
    });
  }
});
