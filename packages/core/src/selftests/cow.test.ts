import { describe, expect, it } from "vitest";
import { runScenario } from "../run-scenario.js";
import { reference } from "../testing/per-pte.js";
import { COW_BACKINGS, cowSelftestScenarios } from "./cow.js";

describe("cow.c anonymous families", () => {
  const all = cowSelftestScenarios();
  it("covers seven families on every backing", () => {
    expect(all.length).toBe(7 * COW_BACKINGS.length);
  });
  for (const s of all) {
    it(s.name, () => {
      const r = runScenario(s, { strategy: reference });
      expect(r.expects.filter((e) => !e.ok)).toEqual([]);
      expect(r.expects.length).toBeGreaterThan(0);
    });
  }
});
