/**
 * The anonymous families of the kernel's cow.c selftest (no leak from parent into child, no
 * leak from child into parent, long-term R/W and R/O pins stay reliable) on every backing the
 * model builds, under every strategy in the repo, with every invariant checked.
 */

import { observe, runScenarioDetailed } from "@foliolab/core";
import { cowSelftestScenarios } from "@foliolab/core/internals";
import { describe, expect, it } from "vitest";
import { ALL, perPage } from "./scenarios.js";

describe("cow.c anonymous families under every strategy", () => {
  for (const scenario of cowSelftestScenarios()) {
    it(scenario.name, () => {
      const reference = runScenarioDetailed(scenario, { strategy: perPage });
      for (const strategy of ALL) {
        const { result, kernel } = runScenarioDetailed(scenario, { strategy });
        expect(
          result.expects.filter((e) => !e.ok),
          strategy.name,
        ).toEqual([]);
        expect(observe(kernel), strategy.name).toEqual(observe(reference.kernel));
      }
    });
  }
});
