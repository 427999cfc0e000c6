import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { COST_EVENT_KEYS } from "@foliolab/core";
import { describe, expect, it } from "vitest";
import { generateCell, measureOnce } from "./measure.js";
import { defaultProfile, describeProfile, loadProfile, modelledNs } from "./profile.js";
import { loadStrategies } from "./strategies.js";
import { PKG_DIR, tempDir } from "./test-helpers.js";

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

  // The calibration points of profiles/default.json, on the model (deterministic, not timed).
  // 256M instead of 1G keeps the test quick; fixed costs move the result by well under 1%.
  const points = defaultProfile().calibration;
  for (const c of points) {
    it(`calibration: ${c.strategy} ${c.workload} ${c.folio} lands near ${c.targetNsPerPage} ns/page`, async () => {
      const { loaded } = await loadStrategies([c.strategy], PKG_DIR);
      const s = loaded[0];
      if (!s) {
        console.warn(`strategy ${c.strategy} is not installed; calibration point skipped`);
        return;
      }
      const size = 256 << 20;
      const g = generateCell({ workload: c.workload, folio: c.folio, size, strategy: c.strategy, seed: 1 });
      const m = measureOnce(g, s.strategy, false);
      const costs: Record<string, number> = {};
      COST_EVENT_KEYS.forEach((k, i) => {
        costs[k] = m.costs[i] as number;
      });
      const perPage = modelledNs(costs, defaultProfile()).total / (size / 4096);
      expect(Math.abs(perPage - c.targetNsPerPage) / c.targetNsPerPage, `${perPage.toFixed(2)} ns/page`).toBeLessThan(0.1);
    });
  }
});
