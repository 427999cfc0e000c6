/**
 * report.html: one self-contained page (no script, no external file) with every table and the
 * charts inline, so it opens from disk or as a CI artifact.
 */

import type { ResultsFile } from "../results.js";
import {
  breakdownRows,
  cellText,
  counterLabel,
  failureText,
  flatCounters,
  fmtNum,
  grids,
  hasKernelColumn,
  hasRatioColumn,
  headlineLines,
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
import { lineChart, stackedEvents } from "./svg.js";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function anchor(id: string): string {
  return `w-${id.replace(/[^A-Za-z0-9]+/g, "-")}`;
}

/** Better/worse shading for the deterministic metrics only: simulator wall time is never shaded like a regression. */
function cellClass(text: string, metric: Metric): string {
  if (text === "FAILED" || text === "INTERNAL ERROR") return ' class="failed"';
  if (text === "skipped") return ' class="skipped"';
  if (metric === "wall") return ' class="advisory"';
  const m = /\((\d+(?:\.\d+)?)x\)$/.exec(text);
  if (!m) return "";
  const r = Number(m[1]);
  return r < 0.995 ? ' class="better"' : r > 1.005 ? ' class="worse"' : "";
}

function metricTable(g: WorkloadGrid, m: Metric, res?: ResultsFile): string {
  const linux = m === "modelled" && res !== undefined && hasKernelColumn(res);
  const ratio = linux && hasRatioColumn(res, g);
  const head = `<tr><th>folio</th>${g.strategies.map((s) => `<th>${esc(s)}</th>`).join("")}${linux ? `<th class="linux">${esc(LINUX_COLUMN_TITLE)}</th>` : ""}${ratio ? `<th class="linux">${esc(RATIO_COLUMN_TITLE)}</th>` : ""}</tr>`;
  const rows = g.folios
    .map((f) => {
      const cells = g.strategies.map((s) => {
        const t = cellText(g, f, s, m);
        const r = g.cell(f, s);
        const title =
          r && res
            ? ` title="${esc(`${r.status === "failed" ? `${failureText(r)}\n` : ""}${regenerateCellCommand(res, r)}`)}"`
            : "";
        return `<td${cellClass(t, m)}${title}>${esc(t)}</td>`;
      });
      if (linux) {
        const t = kernelCellText(res, g.id, f);
        const k = kernelRun(res, g.id, f);
        const title =
          k?.reason ??
          (k?.measuredNs ? `median of ${k.measuredNs.samples.length} run(s) on Linux ${res.kernel?.kernel ?? ""}` : "");
        cells.push(
          `<td class="linux${t === "FAILED" ? " failed" : t === "skipped" ? " skipped" : ""}"${title ? ` title="${esc(title)}"` : ""}>${esc(t)}</td>`,
        );
      }
      if (ratio) {
        const t = ratioCellText(res, g, f);
        cells.push(`<td class="linux${t.endsWith("!") ? " worse" : ""}">${esc(t)}</td>`);
      }
      return `<tr><th>${esc(f)}</th>${cells.join("")}</tr>`;
    })
    .join("\n");
  return `<table class="grid" data-metric="${m}"><caption>${esc(METRIC_TITLES[m])}${m === "wall" ? "" : `, ratio to ${esc(g.baseline)}`}</caption>\n${head}\n${rows}\n</table>`;
}

/** Where the modelled time goes: ns per page by cost-event kind, each strategy, each folio size. */
function breakdownHtml(g: WorkloadGrid): string {
  const t = breakdownRows(g);
  if (!t) return "";
  const head = `<tr>${t.header.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const trs = t.rows.map(
    (r) =>
      `<tr>${r.map((c, i) => (i < 2 ? `<th>${esc(c)}</th>` : `<td${c === "FAILED" ? ' class="failed"' : ""}>${esc(c)}</td>`)).join("")}</tr>`,
  );
  return `<details class="breakdown"><summary>the model's costs by cost event: modelled ns per 4K page (events per page)</summary>\n<table class="breakdown">\n${head}\n${trs.join("\n")}\n</table></details>`;
}

/** The command that regenerates each cell. */
function regenerateHtml(res: ResultsFile, g: WorkloadGrid): string {
  const items = g.runs.map(
    (r) =>
      `<li><code>${esc(regenerateCellCommand(res, r))}</code>${r.status === "ok" ? "" : ` (${esc(r.status === "failed" ? "FAILED" : r.status)})`}</li>`,
  );
  return `<details class="regenerate"><summary>the command that regenerates each cell</summary>\n<ul class="meta">${items.join("")}</ul></details>`;
}

function countersHtml(g: WorkloadGrid): string {
  const names = new Set<string>();
  for (const r of g.runs) for (const k of Object.keys(flatCounters(r))) names.add(k);
  if (names.size === 0) return "<p>No kernel-visible counter moved during the measured phase.</p>";
  const cols = [...names].sort();
  const head = `<tr><th>folio</th><th>strategy</th>${cols.map((c) => `<th title="${esc(c)}">${esc(counterLabel(c))}</th>`).join("")}</tr>`;
  const rows: string[] = [];
  for (const f of g.folios) {
    for (const s of g.strategies) {
      const r = g.cell(f, s);
      if (r?.status !== "ok") continue;
      const c = flatCounters(r);
      rows.push(`<tr><th>${esc(f)}</th><th>${esc(s)}</th>${cols.map((k) => `<td>${c[k] ?? 0}</td>`).join("")}</tr>`);
    }
  }
  return `<table class="counters"><caption>kernel-visible counters, deltas over the measured phase</caption>\n${head}\n${rows.join("\n")}\n</table>`;
}

/** The sharing heuristics' false positives / negatives (the same rows as report.md). */
function sharingHtml(g: WorkloadGrid): string {
  const t = sharingRows(g);
  if (!t) return "";
  const head = `<tr>${t.header.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const trs = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join("")}</tr>`);
  return `<table class="counters"><caption>sharing heuristics against the ground truth, start of the measured phase</caption>\n${head}\n${trs.join("\n")}\n</table>`;
}

function kernelHtml(res: ResultsFile, g: WorkloadGrid): string {
  const rows: string[] = [];
  const notes: string[] = [];
  for (const f of g.folios) {
    const r = kernelRun(res, g.id, f);
    if (!r) continue;
    if (r.status !== "ok" || !r.measuredNs) {
      rows.push(
        `<tr><th>${esc(f)}</th><td class="${r.status === "failed" ? "failed" : "skipped"}">${esc(r.status === "failed" ? "FAILED" : r.status)}</td><td></td><td></td><td></td></tr>`,
      );
      notes.push(`${f}: ${r.reason ?? r.status}`);
      continue;
    }
    const mt = r.measuredNs;
    const ops = (r.ops ?? [])
      .map(
        (o) =>
          `ops[${o.op}] ${o.name} ${fmtNum(o.median / 1e6)} ms${o.nsPerPage === null ? "" : ` (${fmtNum(o.nsPerPage)} ns/page)`}`,
      )
      .join("; ");
    const counters = [
      ...Object.entries(r.counters?.mthp ?? {}).flatMap(([dir, row]) =>
        Object.entries(row).map(([k, v]) => `${counterLabel(`mthp.${dir}.${k}`)} ${v}`),
      ),
      ...Object.entries(r.counters?.vmstat ?? {}).map(([k, v]) => `${k} ${v}`),
    ].join(", ");
    rows.push(
      `<tr><th>${esc(f)}</th><td>${esc(fmtNum(r.nsPerPage ?? 0))}</td><td>${esc(`${fmtNum(mt.median / 1e6)} [${fmtNum(mt.min / 1e6)}-${fmtNum(mt.max / 1e6)}] n=${mt.samples.length}`)}</td><td class="text">${esc((r.ops ?? []).length <= 3 ? ops : `${(r.ops ?? []).length} ops`)}</td><td class="text">${esc(counters || "-")}</td></tr>`,
    );
    for (const w of r.warnings) if (!notes.includes(w)) notes.push(w);
  }
  if (rows.length === 0) return "";
  const head =
    "<tr><th>folio</th><th>ns per 4K page</th><th>measured ops, ms (median [min-max])</th><th>per op</th><th>machine-wide counters (whole scenario)</th></tr>";
  const table = `<table class="linux"><caption>${esc(LINUX_COLUMN_TITLE)}: measured on the kernel</caption>\n${head}\n${rows.join("\n")}\n</table>`;
  return notes.length > 0 ? `${table}\n<ul class="meta">${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : table;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:10px 16px 10px 0;font-size:13px;display:inline-table;vertical-align:top}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f6f6}
td.better{background:#e9f7ef}td.worse{background:#fdecea}td.advisory{color:#555}td.failed{background:#f8d7da;color:#842029;font-weight:600}td.skipped{color:#999}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee}
.meta{font-size:13px;color:#444}.meta li{margin:2px 0}
.failures li{color:#842029}
.headline{background:#f4f8fb;border:1px solid #d6e4f0;padding:8px 14px;margin:12px 0}.headline h2{margin:0 0 6px;border:0;font-size:16px}.headline li{margin:3px 0}
details{margin:6px 0;font-size:13px}details summary{cursor:pointer;color:#1a5276}table.breakdown td{white-space:nowrap}
`;

/** Extra rules, only in reports that have the kernel column (so reports without it are unchanged). */
const LINUX_CSS = "td.linux,th.linux{background:#eef4fb}td.text{text-align:left}";

export function renderHtml(res: ResultsFile): string {
  const m = res.metadata;
  const e = res.environment;
  const gs = grids(res);
  const parts: string[] = [];
  parts.push("<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', "<title>foliolab bench report</title>");
  parts.push(
    `<style>${CSS}${hasKernelColumn(res) ? `${LINUX_CSS}\n` : ""}</style>`,
    "</head>",
    "<body>",
    "<h1>foliolab bench report</h1>",
  );
  const hl = headlineLines(res);
  parts.push(
    '<section class="headline" id="headline"><h2>Headline: modelled time against the baseline (lower is better)</h2><ul>',
  );
  for (const l of hl) parts.push(`<li>${esc(l)}</li>`);
  if (res.summary.failed > 0) parts.push(`<li class="failed">${res.summary.failed} run(s) FAILED: see Failures</li>`);
  const kh0 = kernelHeadline(res);
  if (kh0) parts.push(`<li>${esc(kh0)}</li>`);
  parts.push("</ul></section>");
  parts.push('<ul class="meta">');
  parts.push(`<li>foliolab ${esc(m.version)}, started ${esc(m.startedAt)}, finished ${esc(m.finishedAt)}</li>`);
  parts.push(`<li>command: <code>${esc(m.command.join(" "))}</code></li>`);
  parts.push(
    `<li>strategies: ${esc(m.matrix.strategies.join(", "))}; folio sizes ${esc(m.matrix.folios.join(", "))}; seed ${m.seed}</li>`,
  );
  parts.push(
    `<li>cost profile: ${esc(m.profile.name)} (${esc(m.profile.origin === "default" ? "default" : m.profile.origin)})</li>`,
  );
  parts.push(
    `<li>gate metric: exact cost events; modelled time = cost events x profile; wall time advisory (${m.samples} samples per run)</li>`,
  );
  parts.push(`<li>environment: Node ${esc(e.node)}, ${esc(e.platform)}/${esc(e.arch)}, ${e.cpus} x ${esc(e.cpuModel)}</li>`);
  const kh = kernelHeadline(res);
  if (kh) parts.push(`<li>${esc(kh)}</li>`);
  parts.push(
    `<li>runs: ${res.summary.ok} ok, ${res.summary.failed} failed, ${res.summary.skipped} skipped of ${res.summary.planned}${m.interrupted ? " (interrupted)" : ""}</li>`,
  );
  parts.push("</ul>");
  const bad = res.runs.filter((r) => r.status === "failed");
  if (bad.length > 0 || res.strategyFailures.length > 0 || res.problems.length > 0) {
    parts.push('<h2 id="failures">Failures</h2>', '<ul class="failures">');
    for (const f of res.strategyFailures)
      parts.push(`<li>strategy <code>${esc(f.name)}</code> failed to load: ${esc(f.message)}</li>`);
    for (const p of res.problems) parts.push(`<li>${esc(p)}</li>`);
    for (const r of bad) parts.push(`<li><code>${esc(r.id)}</code>: ${esc(failureText(r))}</li>`);
    parts.push("</ul>");
  }
  parts.push("<nav><ul>");
  for (const g of gs) parts.push(`<li><a href="#${anchor(g.id)}">${esc(g.id)}</a>: ${esc(g.title)}</li>`);
  parts.push("</ul></nav>");
  for (const g of gs) {
    parts.push(`<section id="${anchor(g.id)}" class="workload">`);
    parts.push(`<h2>${esc(g.id)}: ${esc(g.title)}</h2>`);
    if (g.origin) parts.push(`<p>Origin: ${esc(g.origin)}. ${esc(g.description)}. Region: ${esc(g.sizes.join(", "))}.</p>`);
    const kernelLine = hasKernelColumn(res) ? g.folios.map((f) => kernelRun(res, g.id, f)?.nsPerPage) : undefined;
    parts.push('<div class="charts">', lineChart(g, "modelled", kernelLine), stackedEvents(g), "</div>");
    parts.push(metricTable(g, "modelled", res), metricTable(g, "events", res), metricTable(g, "wall", res));
    const off = kernelRatioWarnings(res).filter((w) => w.startsWith(`${g.id} `));
    if (off.length > 0)
      parts.push(`<ul class="meta warnings">${off.map((w) => `<li><b>warning</b> ${esc(w)}</li>`).join("")}</ul>`);
    parts.push(breakdownHtml(g));
    if (hasKernelColumn(res)) parts.push(kernelHtml(res, g));
    parts.push(countersHtml(g));
    const sharing = sharingHtml(g);
    if (sharing) parts.push(sharing);
    parts.push(regenerateHtml(res, g));
    const wallNote = g.runs.find((r) => r.metrics?.wall.phase);
    if (wallNote?.metrics?.wall.phase) {
      parts.push(
        `<p class="meta">Wall time is the simulator's, not the kernel's: median of ${wallNote.metrics.wall.phase.samples.length} samples, e.g. ${fmtNum(wallNote.metrics.wall.phase.median)} ms; advisory.</p>`,
      );
    }
    parts.push("</section>");
  }
  parts.push("</body>", "</html>", "");
  return parts.join("\n");
}
