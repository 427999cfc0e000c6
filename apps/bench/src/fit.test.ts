import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FitCell, fitProfile, predict, relativeError } from "./fit.js";

const KEYS = ["a", "b", "c", "d"];

function cellsFor(truth: Record<string, number>, rows: Array<Record<string, number>>): FitCell[] {
  return rows.map((events, i) => ({ id: `c${i}`, events, measured: predict(events, truth) }));
}

/** Per-event costs and cells that determine them exactly. */
const TRUTH = { a: 3.5, b: 120, c: 0.25, d: 40 };
const ROWS: Array<Record<string, number>> = [
  { a: 1, b: 0.01, c: 10 },
  { a: 1, b: 1, d: 1 },
  { c: 4096, d: 0.5 },
  { a: 2, b: 0.2, c: 100, d: 3 },
  { b: 0.5, d: 2 },
];

describe("fitProfile", () => {
  it("recovers the per-event costs exactly when the cells determine them", () => {
    const truth = TRUTH;
    const rows = ROWS;
    const fit = fitProfile(cellsFor(truth, rows), { keys: KEYS, prior: {}, priorWeight: 0, minShare: 0 });
    for (const k of KEYS) expect(fit.ns[k]).toBeCloseTo(truth[k as keyof typeof truth], 4);
    expect(fit.worst).toBeLessThan(1e-6);
  });

  it("a cell no profile can fit does not pull the others off: the round with the most cells within tolerance wins", () => {
    const truth = TRUTH;
    const rows = [...ROWS, { a: 1.5, b: 0.6, c: 50, d: 1.5 }];
    const cells = cellsFor(truth, rows);
    // 10 a-events measured at 10x what they cost in every other cell: fitting it drags a (and so
    // every cell with a) off; picking the round by its worst error did (2 of 6 cells within 20%)
    const outlier = { id: "outlier", events: { a: 10 }, measured: 10 * 10 * truth.a };
    const fit = fitProfile([...cells, outlier], { keys: KEYS, prior: {}, priorWeight: 0, minShare: 0 });
    const within = cells.filter((c) => Math.abs(relativeError(predict(c.events, fit.ns), c.measured)) <= 0.2);
    expect(within.length).toBeGreaterThanOrEqual(5);
  });

  it("never returns a negative cost, even when the data would want one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: fc.double({ min: 0, max: 10, noNaN: true }), b: fc.double({ min: 0, max: 10, noNaN: true }) }), {
          minLength: 2,
          maxLength: 8,
        }),
        fc.array(fc.double({ min: 0.1, max: 1000, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (rows, measured) => {
          const cells = rows.map((events, i) => ({ id: String(i), events, measured: measured[i] as number }));
          const fit = fitProfile(cells, { keys: ["a", "b"], prior: { a: 1, b: 1 } });
          return Object.values(fit.ns).every((v) => v >= 0 && Number.isFinite(v));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("keeps the prior for events no cell has, and names them", () => {
    const fit = fitProfile([{ id: "x", events: { a: 2 }, measured: 10 }], {
      keys: KEYS,
      prior: { a: 1, b: 7, c: 0 },
      priorWeight: 0,
    });
    expect(fit.ns.a).toBeCloseTo(5);
    expect(fit.ns.b).toBe(7);
    expect(fit.unseen).toEqual(["b", "c", "d"]);
  });

  it("holds at the prior an event too small in every cell to be measured, and fits the rest on what is left", () => {
    // b's prior time is 1% of each cell: held at 2; a absorbs the rest exactly
    const cells = [
      { id: "1", events: { a: 1, b: 0.5 }, measured: 100 },
      { id: "2", events: { a: 2, b: 1 }, measured: 200 },
    ];
    const fit = fitProfile(cells, { keys: ["a", "b"], prior: { a: 50, b: 2 }, priorWeight: 0, minShare: 0.05 });
    expect(fit.held).toEqual(["b"]);
    expect(fit.ns.b).toBe(2);
    expect(fit.ns.a).toBeCloseTo(99, 6);
    const free = fitProfile(cells, { keys: ["a", "b"], prior: { a: 50, b: 2 }, priorWeight: 0, minShare: 0 });
    expect(free.held).toEqual([]);
  });

  it("fits an event whose prior is 0 instead of holding it there for good", () => {
    // b costs 30 ns in truth; a prior of 0 gives it a share of 0 in every cell, which the
    // min-share rule used to read as "too small to measure" and kept at 0 forever
    const truth = { a: 10, b: 30 };
    const cells = cellsFor(truth, [
      { a: 1, b: 1 },
      { a: 3, b: 1 },
      { a: 1, b: 4 },
    ]);
    const fit = fitProfile(cells, { keys: ["a", "b"], prior: { a: 10, b: 0 }, priorWeight: 0.05, minShare: 0.05 });
    expect(fit.held).toEqual([]);
    expect(fit.ns.b).toBeCloseTo(30, 1);
    expect(fit.worst).toBeLessThan(0.01);
  });

  it("holds the events named in `hold` at the prior, and fits the rest on what is left", () => {
    // a and b always come together; held at its prior of 2, b leaves a the rest (a + b = 10)
    const cells = [
      { id: "1", events: { a: 1, b: 1 }, measured: 10 },
      { id: "2", events: { a: 2, b: 2 }, measured: 20 },
    ];
    const free = fitProfile(cells, { keys: ["a", "b"], prior: { a: 1, b: 2 }, priorWeight: 0, minShare: 0 });
    const fit = fitProfile(cells, { keys: ["a", "b"], prior: { a: 1, b: 2 }, priorWeight: 0, minShare: 0, hold: ["b"] });
    expect(fit.pinned).toEqual(["b"]);
    expect(fit.ns.b).toBe(2);
    expect(fit.ns.a).toBeCloseTo(8, 6);
    expect(free.pinned).toEqual([]);
  });

  it("the pull towards the prior decides between events no cell tells apart", () => {
    // a and b always come together: only a + b = 10 is known; the prior splits it
    const cells = [
      { id: "1", events: { a: 1, b: 1 }, measured: 10 },
      { id: "2", events: { a: 2, b: 2 }, measured: 20 },
    ];
    const fit = fitProfile(cells, { keys: ["a", "b"], prior: { a: 8, b: 2 }, priorWeight: 0.01, minShare: 0 });
    expect((fit.ns.a as number) + (fit.ns.b as number)).toBeCloseTo(10, 1);
    expect(fit.ns.a as number).toBeGreaterThan(fit.ns.b as number);
  });

  it("reweighting lowers the worst error below plain least squares", () => {
    // one event, cells that disagree: plain LSQ on relative errors sits between; minimax in the middle
    const cells = [
      { id: "1", events: { a: 1 }, measured: 10 },
      { id: "2", events: { a: 1 }, measured: 10 },
      { id: "3", events: { a: 1 }, measured: 10 },
      { id: "4", events: { a: 1 }, measured: 16 },
    ];
    const plain = fitProfile(cells, { keys: ["a"], prior: {}, priorWeight: 0, rounds: 1, minShare: 0 });
    const weighted = fitProfile(cells, { keys: ["a"], prior: {}, priorWeight: 0, minShare: 0 });
    expect(weighted.worst).toBeLessThanOrEqual(plain.worst);
  });
});

describe("relativeError", () => {
  it("is signed, relative to the measurement", () => {
    expect(relativeError(120, 100)).toBeCloseTo(0.2);
    expect(relativeError(80, 100)).toBeCloseTo(-0.2);
    expect(relativeError(0, 0)).toBe(0);
  });
});
