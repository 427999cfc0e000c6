/**
 * report.md: the run's metadata, then per workload the three tables (modelled time, cost
 * events, advisory wall time), the kernel-visible counters and links to the charts.
 */

import type { ResultsFile } from "../results.js";
import {
  breakdownRows,
  cellText,
  chartBaseName,
  counterLabel,
  failureText,
  flatCounters,
  fmtNum,
  grids,
  hasKernelColumn,
  hasRatioColumn,
  headlineLines,
  isUnchecked,
  kernelCellText,
  kernelHeadline,
  kernelRatioWarnings,
  kernelRun,
  LINUX_COLUMN_TITLE,
  METRIC_TITLES,
  type Metric,
  RATIO_COLUMN_TITLE,
  ratioCellText,
  regenerateCellCommand,
  sharingRows,
  type WorkloadGrid,
} from "./model.js";

function mdEscape(s: string): string {
  return s.replace(/\|/g, "\\|");
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.map(mdEscape).join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(mdEscape).join(" | ")} |`),
  ];
}

function metricTable(g: WorkloadGrid, m: Metric, res?: ResultsFile): string[] {
  const linux = res !== undefined && hasKernelColumn(res);
  const ratio = linux && hasRatioColumn(res, g);
  const rows = g.folios.map((f) => [
    f,
    ...g.strategies.map((s) => cellText(g, f, s, m)),
    ...(linux ? [kernelCellText(res, g.id, f)] : []),
    ...(ratio ? [ratioCellText(res, g, f)] : []),
  ]);
  const out = table(
    ["folio", ...g.strategies, ...(linux ? [LINUX_COLUMN_TITLE] : []), ...(ratio ? [RATIO_COLUMN_TITLE] : [])],
    rows,
  );
  if (ratio) {
    const warn = kernelRatioWarnings(res).filter((w) => w.startsWith(`${g.id} `));
    if (warn.length > 0) out.push("", ...warn.map((w) => `> **warning** ${mdEscape(w)}`));
  }
  return out;
}

/** The kernel column's details: per folio size the measured time, spread, per-op times, counters, notes. */
export function kernelTable(res: ResultsFile, g: WorkloadGrid): string[] {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const f of g.folios) {
    const r = kernelRun(res, g.id, f);
    if (!r) continue;
    if (r.status !== "ok" || !r.measuredNs) {
      rows.push([f, r.status === "failed" ? "FAILED" : r.status, "", "", "", ""]);
      notes.push(`${f}: ${r.reason ?? r.status}`);
      continue;
    }
    const mt = r.measuredNs;
    const ops = (r.ops ?? []).length;
    const opsText =
      ops <= 3
        ? (r.ops ?? [])
            .map(
              (o) =>
                `ops[${o.op}] ${o.name} ${fmtNum(o.median / 1e6)} ms${o.nsPerPage === null ? "" : ` (${fmtNum(o.nsPerPage)} ns/page of the op)`}`,
            )
            .join("; ")
        : `${ops} ops`;
    const counters = [
      ...Object.entries(r.counters?.mthp ?? {}).flatMap(([dir, row]) =>
        Object.entries(row).map(([k, v]) => `${counterLabel(`mthp.${dir}.${k}`)} ${v}`),
      ),
      ...Object.entries(r.counters?.vmstat ?? {}).map(([k, v]) => `${k} ${v}`),
    ].join(", ");
    rows.push([
      f,
      fmtNum(r.nsPerPage ?? 0),
      `${fmtNum(mt.median / 1e6)} [${fmtNum(mt.min / 1e6)}-${fmtNum(mt.max / 1e6)}] n=${mt.samples.length}`,
      opsText,
      counters || "-",
      r.warnings.length > 0 ? String(r.warnings.length) : "0",
    ]);
    for (const w of r.warnings) if (!notes.includes(w)) notes.push(w);
  }
  if (rows.length === 0) return ["Not run on the kernel."];
  const out = table(
    [
      "folio",
      "ns per 4K page",
      "measured ops, ms (median [min-max])",
      "per op",
      "machine-wide counters (whole scenario)",
      "warnings",
    ],
    rows,
  );
  if (notes.length > 0) out.push("", ...notes.map((n) => `- ${n}`));
  return out;
}

function wallTable(g: WorkloadGrid): string[] {
  const rows = g.folios.map((f) => [
    f,
    ...g.strategies.map((s) => {
      const r = g.cell(f, s);
      const w = r?.metrics?.wall.phase;
      if (r?.status !== "ok") return cellText(g, f, s, "wall");
      if (!w) return "n/a";
      return `${isUnchecked(r, g.baseline) ? "unchecked " : ""}${fmtNum(w.median)} [${fmtNum(w.min)}-${fmtNum(w.max)}] n=${w.samples.length}`;
    }),
  ]);
  return table(["folio", ...g.strategies], rows);
}

export function countersTable(g: WorkloadGrid): string[] {
  const names = new Set<string>();
  for (const r of g.runs) for (const k of Object.keys(flatCounters(r))) names.add(k);
  if (names.size === 0) return ["No kernel-visible counter moved during the measured phase."];
  const cols = [...names].sort();
  const rows: string[][] = [];
  for (const f of g.folios) {
    for (const s of g.strategies) {
      const r = g.cell(f, s);
      if (r?.status !== "ok") continue;
      const c = flatCounters(r);
      rows.push([f, s, ...cols.map((k) => (c[k] === undefined ? "0" : String(c[k])))]);
    }
  }
  return table(["folio", "strategy", ...cols.map(counterLabel)], rows);
}

/** The sharing heuristics' false positives and negatives at the start of the measured phase. */
export function sharingTable(g: WorkloadGrid): string[] {
  const t = sharingRows(g);
  return t ? table(t.header, t.rows) : [];
}

export function renderMarkdown(res: ResultsFile, chartDir = "charts"): string {
  const m = res.metadata;
  const e = res.environment;
  const out: string[] = [];
  out.push("# foliolab bench report", "");
  out.push("## Headline: modelled time against the baseline (lower is better)", "");
  for (const l of headlineLines(res)) out.push(`- ${l}`);
  if (res.summary.failed > 0) out.push(`- ${res.summary.failed} run(s) FAILED: see Failures`);
  out.push("");
  out.push(`- foliolab ${m.version}, results schema ${res.schemaVersion}, started ${m.startedAt}, finished ${m.finishedAt}`);
  out.push(`- command: \`${m.command.join(" ")}\``);
  out.push(
    `- matrix: ${m.matrix.strategies.length} strategies (${m.matrix.strategies.join(", ")}), ${m.matrix.workloads.length} workloads, folio sizes ${m.matrix.folios.join(", ")}; seed ${m.seed}${m.shard ? `, shard ${m.shard}` : ""}`,
  );
  out.push(`- cost profile: ${m.profile.name} (${m.profile.origin === "default" ? "default" : m.profile.origin})`);
  out.push(
    `- gate metric: exact cost events (deterministic). Modelled time = cost events x profile. Wall time: ${m.samples} samples per run, advisory.`,
  );
  out.push(`- environment: Node ${e.node}, ${e.platform}/${e.arch}, ${e.cpus} x ${e.cpuModel}, core ${e.corePackageVersion}`);
  const kh = kernelHeadline(res);
  if (kh) out.push(`- ${kh}`);
  out.push(
    `- runs: ${res.summary.ok} ok, ${res.summary.failed} failed, ${res.summary.skipped} skipped of ${res.summary.planned}${m.interrupted ? " (interrupted)" : ""}`,
  );
  out.push("");
  const bad = res.runs.filter((r) => r.status === "failed");
  if (bad.length > 0 || res.strategyFailures.length > 0 || res.problems.length > 0) {
    out.push("## Failures", "");
    for (const f of res.strategyFailures) out.push(`- strategy \`${f.name}\` failed to load: ${f.message}`);
    for (const p of res.problems) out.push(`- ${p}`);
    for (const r of bad) out.push(`- \`${r.id}\`: ${failureText(r)}`);
    out.push("");
  }
  for (const g of grids(res)) {
    const base = chartBaseName(g.id);
    out.push(`## ${g.id}: ${g.title}`, "");
    if (g.origin) out.push(`Origin: ${g.origin}. ${g.description}. Region: ${g.sizes.join(", ")}.`, "");
    out.push(`### ${METRIC_TITLES.modelled} (ratio to ${g.baseline})`, "", ...metricTable(g, "modelled", res), "");
    if (hasKernelColumn(res)) out.push(`### ${LINUX_COLUMN_TITLE}: measured on the kernel`, "", ...kernelTable(res, g), "");
    out.push(`### ${METRIC_TITLES.events} (ratio to ${g.baseline})`, "", ...metricTable(g, "events"), "");
    out.push(`### ${METRIC_TITLES.wall}`, "", ...wallTable(g), "");
    const bd = breakdownRows(g);
    if (bd)
      out.push(
        "### The model's costs by cost event (modelled ns per 4K page, events per page)",
        "",
        ...table(bd.header, bd.rows),
        "",
      );
    out.push("### Kernel-visible counters (deltas over the measured phase)", "", ...countersTable(g), "");
    const sharing = sharingTable(g);
    if (sharing.length > 0)
      out.push("### Sharing heuristics against the ground truth (start of the measured phase)", "", ...sharing, "");
    out.push(`![${g.id} modelled time](${chartDir}/${base}.modelled.svg)`, "");
    out.push(`![${g.id} cost events by kind](${chartDir}/${base}.events.svg)`, "");
    out.push(
      "<details><summary>The command that regenerates each cell</summary>",
      "",
      ...g.runs.map(
        (r) =>
          `- \`${regenerateCellCommand(res, r)}\`${r.status === "ok" ? "" : ` (${r.status === "failed" ? "FAILED" : r.status})`}`,
      ),
      "",
      "</details>",
      "",
    );
    const skipped = g.runs.filter((r) => r.status === "skipped");
    if (skipped.length > 0) out.push(`Skipped: ${failureText(skipped[0] as (typeof skipped)[number])}`, "");
  }
  return out.join("\n");
}
