/**
 * The summary line puts each failure on whom it is about: the strategy's own failures are
 * counted per strategy; a bug of the model and a scenario the model refuses are not.
 */

import { describe, expect, it } from "vitest";
import type { CellError } from "../measure.js";
import { reportFixture } from "./report-fixture.js";
import { renderSummary } from "./text.js";

function withFailure(kind: CellError["kind"], message: string) {
  const res = reportFixture();
  const r = res.runs.find((x) => x.strategy === "per-page-copy" && x.status === "failed");
  if (!r) throw new Error("the fixture lacks its failed cell");
  r.error = { kind, phase: "check", message };
  return res;
}

describe("renderSummary", () => {
  it("counts a strategy's own failure against the strategy", () => {
    const text = renderSummary(withFailure("StrategyError", 'strategy "per-page-copy": boom'), false);
    expect(text).toMatch(/strategy "per-page-copy": 1 run failed with StrategyError/);
  });

  it("calls a bug of the model an internal error in the model, not the strategy's failure", () => {
    const text = renderSummary(withFailure("InternalError", "internal error in @foliolab/core during ops[2] (munmap)"), false);
    expect(text).toMatch(
      /internal error in the model \(a bug of @foliolab\/core, not the strategy's\): 1 run, under "per-page-copy"/,
    );
    expect(text).not.toMatch(/strategy "per-page-copy": .*failed with/);
  });

  it("puts a scenario error on the scenario, not on the strategy", () => {
    const text = renderSummary(withFailure("ScenarioError", "ops[1] (write): unknown id"), false);
    expect(text).toMatch(/scenario error \(the workload's scenario, not the strategy's\): 1 run, under "per-page-copy"/);
    expect(text).not.toMatch(/strategy "per-page-copy": .*failed with/);
  });
});
