/**
 * CI tracker formats.
 *   benchmark-action.json: github-action-benchmark, tool customSmallerIsBetter
 *     ([{name, unit, value, range?, extra?}]); names use "/" so dashboards group them.
 *   bmf.json: Bencher Metric Format ({benchmark: {measure: {value, lower_value?, upper_value?}}}).
 */

import type { ResultsFile } from "../results.js";

export interface BenchmarkActionEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

function round(v: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function benchmarkAction(res: ResultsFile): BenchmarkActionEntry[] {
  const out: BenchmarkActionEntry[] = [];
  for (const r of res.runs) {
    if (r.status !== "ok" || !r.metrics) continue;
    const base = `${r.id} (${r.sizeLabel})`;
    out.push({
      name: `${base} cost events`,
      unit: "events",
      value: r.metrics.costEventsTotal,
      extra: "exact and deterministic: gate on this",
    });
    out.push({
      name: `${base} modelled time`,
      unit: "ns/page",
      value: round(r.metrics.modelledNsPerPage, 4),
      extra: `cost events x profile ${res.metadata.profile.name}`,
    });
    const w = r.metrics.wall.phase;
    if (w) {
      out.push({
        name: `${base} simulator wall time`,
        unit: "ms",
        value: round(w.median, 4),
        range: `± ${round(w.sd, 4)}`,
        extra: `advisory; median of ${w.samples.length} samples`,
      });
    }
  }
  return out;
}

export type Bmf = Record<string, Record<string, { value: number; lower_value?: number; upper_value?: number }>>;

export function bmf(res: ResultsFile): Bmf {
  const out: Bmf = {};
  for (const r of res.runs) {
    if (r.status !== "ok" || !r.metrics) continue;
    const m: Bmf[string] = {
      "cost-events": { value: r.metrics.costEventsTotal },
      "modelled-ns-per-page": { value: round(r.metrics.modelledNsPerPage, 4) },
    };
    const w = r.metrics.wall.phase;
    if (w) m["wall-time-ms"] = { value: round(w.median, 4), lower_value: round(w.min, 4), upper_value: round(w.max, 4) };
    out[`${r.id} (${r.sizeLabel})`] = m;
  }
  return out;
}
