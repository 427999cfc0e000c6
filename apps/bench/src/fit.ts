/**
 * Fitting a cost profile to kernel measurements: per-event costs (ns, non-negative) such that
 * sum(events per page x ns) lands on the measured ns per page of each calibration cell.
 *
 * The problem is non-negative least squares on relative errors (each cell's row is divided by
 * its measured time, so a 10 ns/page cell weighs as much as a 5 us/page one), solved by
 * ml-fcnnls (mljs' fast combinatorial NNLS). Two things keep the fit physical:
 *  - a weak pull towards the prior profile (one extra row per event, weight `priorWeight`):
 *    events no cell separates keep their prior cost instead of an arbitrary one;
 *  - an event whose prior cost is under `minShare` of every fit cell's time is held at its
 *    prior: no cell carries enough of it to measure it, and a free value would be whatever
 *    balances the noise (and would then decide comparisons of strategies that use the event
 *    far more than folio-batch, which the kernel runs, does); an event without a prior (or a
 *    prior of 0) has no share to judge and is fitted freely: holding it would keep it at 0 for good;
 *  - a few rounds of reweighting, each multiplying the weight of the cells the last solution
 *    missed by more than the tolerance, which trades mean error for worst-case error (the
 *    goal is every cell within `tolerance`); the round with the most cells within the tolerance
 *    wins, so a cell no profile can fit does not decide the choice.
 */

import { fcnnlsVector } from "ml-fcnnls";

export interface FitCell {
  id: string;
  /** Cost events per 4K page of the cell, by event key. */
  events: Record<string, number>;
  /** Measured ns per 4K page. */
  measured: number;
}

export interface FitOptions {
  /** Event keys, the unknowns. */
  keys: readonly string[];
  /** The prior cost of each key (ns); keys without a prior (or 0) get no pull. */
  prior: Record<string, number>;
  /** Weight of the pull towards the prior (relative error units). Default 0.05. */
  priorWeight?: number;
  /** Worst relative error aimed at. Default 0.2. */
  tolerance?: number;
  /** Reweighting rounds. Default 12. */
  rounds?: number;
  /** Events whose prior share of every fit cell is below this are held at the prior. Default 0.05. */
  minShare?: number;
  /**
   * Events held at the prior whatever the cells say: one the cells cannot separate from others
   * (it moves with them in every cell), whose free value would be an artefact of the fit.
   */
  hold?: readonly string[];
}

export interface FitResult {
  ns: Record<string, number>;
  /** Keys no fit cell has (their value is the prior). */
  unseen: string[];
  /** Keys held at the prior: below minShare of every fit cell (only keys with a prior above 0). */
  held: string[];
  /** Keys held at the prior because options.hold names them (and a fit cell has them). */
  pinned: string[];
  /** Worst relative error over the fit cells. */
  worst: number;
  rounds: number;
}

/** Predicted ns per page of a cell under a profile. */
export function predict(events: Record<string, number>, ns: Record<string, number>): number {
  let t = 0;
  for (const [k, n] of Object.entries(events)) t += n * (ns[k] ?? 0);
  return t;
}

/** (predicted - measured) / measured. */
export function relativeError(predicted: number, measured: number): number {
  return measured > 0 ? (predicted - measured) / measured : predicted === 0 ? 0 : Number.POSITIVE_INFINITY;
}

function solve(cells: readonly FitCell[], weights: readonly number[], o: Required<FitOptions>): Record<string, number> {
  const { keys, prior, priorWeight } = o;
  const rows: number[][] = [];
  const rhs: number[] = [];
  cells.forEach((c, i) => {
    const w = (weights[i] as number) / c.measured;
    rows.push(keys.map((k) => (c.events[k] ?? 0) * w));
    rhs.push(weights[i] as number);
  });
  keys.forEach((k, j) => {
    const p = prior[k] ?? 0;
    if (p <= 0 || priorWeight <= 0) return;
    const row = new Array<number>(keys.length).fill(0);
    row[j] = priorWeight / p;
    rows.push(row);
    rhs.push(priorWeight);
  });
  const x = fcnnlsVector(rows, rhs).K.to1DArray();
  const ns: Record<string, number> = {};
  keys.forEach((k, j) => {
    ns[k] = Math.max(0, x[j] ?? 0);
  });
  return ns;
}

/** Fit per-event costs to the cells (see the module comment). */
export function fitProfile(cells: readonly FitCell[], options: FitOptions): FitResult {
  const o: Required<FitOptions> = { priorWeight: 0.05, tolerance: 0.2, rounds: 12, minShare: 0.05, hold: [], ...options };
  const measuredCells = cells.filter((c) => c.measured > 0 && Number.isFinite(c.measured));
  const unseen = o.keys.filter((k) => !measuredCells.some((c) => (c.events[k] ?? 0) !== 0));
  const share = (k: string) => Math.max(0, ...measuredCells.map((c) => ((c.events[k] ?? 0) * (o.prior[k] ?? 0)) / c.measured));
  const held = o.keys.filter((k) => !unseen.includes(k) && (o.prior[k] ?? 0) > 0 && share(k) < o.minShare);
  const pinned = o.keys.filter((k) => !unseen.includes(k) && !held.includes(k) && o.hold.includes(k));
  const fixed = [...unseen, ...held, ...pinned];
  // Held and unseen events keep the prior: their prior time comes off each cell's measurement.
  const usable = measuredCells
    .map((c) => {
      let rest = c.measured;
      const events: Record<string, number> = {};
      for (const [k, n] of Object.entries(c.events)) {
        if (fixed.includes(k)) rest -= n * (o.prior[k] ?? 0);
        else events[k] = n;
      }
      return { id: c.id, events, measured: rest };
    })
    .filter((c) => c.measured > 0);
  if (usable.length === 0) {
    const ns: Record<string, number> = {};
    for (const k of o.keys) ns[k] = o.prior[k] ?? 0;
    return { ns, unseen, held, pinned, worst: 0, rounds: 0 };
  }
  const seen = o.keys.filter((k) => !fixed.includes(k));
  const so = { ...o, keys: seen };
  const weights = usable.map(() => 1);
  // The round that brings the most cells within the tolerance wins (then the smaller sum of
  // errors): a cell no profile can fit would otherwise decide the choice by its worst error.
  let best: { ns: Record<string, number>; within: number; sum: number } | undefined;
  let rounds = 0;
  for (let r = 0; r < Math.max(1, o.rounds); r++) {
    rounds = r + 1;
    const ns = solve(usable, weights, so);
    const errs = usable.map((c) => relativeError(predict(c.events, ns), c.measured));
    const worst = Math.max(...errs.map(Math.abs));
    const within = errs.filter((e) => Math.abs(e) <= o.tolerance).length;
    const sum = errs.reduce((a, e) => a + Math.abs(e), 0);
    if (!best || within > best.within || (within === best.within && sum < best.sum)) best = { ns, within, sum };
    if (worst <= o.tolerance / 2) break;
    errs.forEach((e, i) => {
      const over = Math.abs(e) / o.tolerance;
      if (over > 1) weights[i] = (weights[i] as number) * Math.min(4, over);
    });
  }
  const ns: Record<string, number> = { ...(best as { ns: Record<string, number> }).ns };
  for (const k of fixed) ns[k] = o.prior[k] ?? 0;
  const errs = measuredCells.map((c) => Math.abs(relativeError(predict(c.events, ns), c.measured)));
  return { ns, unseen, held, pinned, worst: Math.max(...errs), rounds };
}
