/**
 * Terminal output: one table per workload, strategies as columns, folio sizes as rows, each
 * value followed by its ratio to the baseline column (per-page).
 */

import pc from "picocolors";
import type { ResultsFile } from "../results.js";
import {
  cellText,
  failureText,
  grids,
  hasKernelColumn,
  hasRatioColumn,
  isInternalError,
  KERNEL_MODEL_STRATEGY,
  kernelCellText,
  kernelRatioWarnings,
  kernelRun,
  LINUX_COLUMN_TITLE,
  leavesOutInRun,
  METRIC_TITLES,
  type Metric,
  modelKernelRatio,
  RATIO_COLUMN_TITLE,
  ratioCellText,
  ratioOff,
} from "./model.js";

export interface TextOptions {
  metric: Metric;
  color: boolean;
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function colorCell(text: string, color: boolean, metric: Metric): string {
  if (!color) return text;
  if (text === "FAILED" || text === "INTERNAL ERROR") return pc.red(pc.bold(text));
  if (text === "skipped") return pc.dim(text);
  // Simulator wall time is advisory: never green or red like a regression.
  if (metric === "wall") return text;
  const m = /\((\d+(?:\.\d+)?)x\)$/.exec(text);
  if (!m) return text;
  const ratio = Number(m[1]);
  if (ratio < 0.995) return text.replace(m[0], pc.green(m[0]));
  if (ratio > 1.005) return text.replace(m[0], pc.red(m[0]));
  return text;
}

/** Render the tables for every workload in the results. */
export function renderText(res: ResultsFile, o: TextOptions): string {
  const lines: string[] = [];
  for (const g of grids(res)) {
    const head = `${g.id}  ${g.sizes.join(", ")}  ${METRIC_TITLES[o.metric]}, ratio to ${g.baseline}`;
    lines.push(o.color ? pc.bold(head) : head);
    const linux = o.metric === "modelled" && hasKernelColumn(res);
    const ratio = linux && hasRatioColumn(res, g);
    const header = ["folio", ...g.strategies, ...(linux ? [LINUX_COLUMN_TITLE] : []), ...(ratio ? [RATIO_COLUMN_TITLE] : [])];
    const rows = g.folios.map((f) => [
      f,
      ...g.strategies.map((s) => cellText(g, f, s, o.metric)),
      ...(linux ? [kernelCellText(res, g.id, f)] : []),
      ...(ratio ? [ratioCellText(res, g, f)] : []),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    lines.push(header.map((h, i) => pad(h, widths[i] as number, i > 0)).join("  "));
    for (const r of rows) {
      lines.push(
        r
          .map((c, i) => {
            const padded = pad(c, widths[i] as number, i > 0);
            return i === 0 ? padded : padded.replace(c, colorCell(c, o.color, o.metric));
          })
          .join("  "),
      );
    }
    // One line per strategy and distinct failure, naming the folio sizes it hit.
    const groups = new Map<string, { failed: boolean; strategy: string; folios: string[]; text: string }>();
    for (const r of g.runs.filter((x) => x.status !== "ok")) {
      const text = failureText(r);
      const key = `${r.strategy}\u0000${text}`;
      const e = groups.get(key) ?? { failed: r.status === "failed", strategy: r.strategy, folios: [], text };
      e.folios.push(r.folio);
      groups.set(key, e);
    }
    for (const e of groups.values()) {
      const t = `  ${e.failed ? "x" : "-"} ${e.strategy} (${e.folios.join(", ")}): ${e.text}`;
      lines.push(o.color ? (e.failed ? pc.red(t) : pc.dim(t)) : t);
    }
    if (linux) {
      for (const f of g.folios) {
        const k = kernelRun(res, g.id, f);
        if (k && k.status !== "ok") {
          const t = `  ${k.status === "failed" ? "x" : "-"} ${LINUX_COLUMN_TITLE} (${f}): ${k.reason ?? k.status}`;
          lines.push(o.color ? (k.status === "failed" ? pc.red(t) : pc.dim(t)) : t);
        }
      }
    }
    if (ratio) {
      for (const f of g.folios) {
        const r = modelKernelRatio(res, g, f);
        if (r === undefined || !ratioOff(r)) continue;
        const why = leavesOutInRun(res, g, f);
        const t = `  ! ${f}: ${KERNEL_MODEL_STRATEGY} is ${r.toFixed(2)}x the kernel (off by more than 20%)${why ? `; the model leaves out: ${why}` : ""}`;
        lines.push(o.color ? pc.yellow(t) : t);
      }
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** The closing summary lines. */
export function renderSummary(res: ResultsFile, color: boolean): string {
  const s = res.summary;
  const parts = [`${s.ok} ok`, `${s.failed} failed`, `${s.skipped} skipped`];
  let line = `${parts.join(", ")} of ${s.planned} runs`;
  if (res.metadata.interrupted) line += " (interrupted: finished runs kept)";
  const out = [color ? (s.failed > 0 || res.metadata.interrupted ? pc.red(line) : pc.green(line)) : line];
  for (const f of res.strategyFailures) out.push(`strategy "${f.name}" failed to load: ${f.message}`);
  const perStrategy = new Map<string, Map<string, number>>();
  // Failures that are not the strategy's: a bug of the model, a scenario the model refuses.
  const notTheStrategys = [
    [
      "InternalError",
      "internal error in the model (a bug of @foliolab/core, not the strategy's)",
      "; please report it with the stack below",
    ],
    ["ScenarioError", "scenario error (the workload's scenario, not the strategy's)", ""],
  ] as const;
  for (const [kind, what, tail] of notTheStrategys) {
    const runs = res.runs.filter((r) => r.status === "failed" && r.error?.kind === kind);
    if (runs.length === 0) continue;
    const under = [...new Set(runs.map((r) => r.strategy))].map((s) => `"${s}"`).join(", ");
    const t = `${what}: ${runs.length} run${runs.length === 1 ? "" : "s"}, under ${under}${tail}`;
    out.push(color ? pc.red(t) : t);
  }
  for (const r of res.runs) {
    if (r.status !== "failed" || r.error?.kind === "LoadError") continue;
    if (isInternalError(r) || r.error?.kind === "ScenarioError") continue;
    const m = perStrategy.get(r.strategy) ?? new Map<string, number>();
    const kind = r.error?.invariant ? `${r.error.kind} ${r.error.invariant}` : (r.error?.kind ?? "Error");
    m.set(kind, (m.get(kind) ?? 0) + 1);
    perStrategy.set(r.strategy, m);
  }
  for (const [s, m] of perStrategy) {
    out.push(`strategy "${s}": ${[...m].map(([k, n]) => `${n} run${n === 1 ? "" : "s"} failed with ${k}`).join(", ")}`);
  }
  for (const p of res.problems) out.push(p);
  const off = kernelRatioWarnings(res);
  if (off.length > 0) {
    const t = `warning: ${off.length} cell${off.length === 1 ? "" : "s"} where ${KERNEL_MODEL_STRATEGY}'s modelled time is off the kernel's by more than 20% (marked ! in the tables)`;
    out.push(color ? pc.yellow(t) : t);
  }
  return out.join("\n");
}
