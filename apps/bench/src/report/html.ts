/**
 * report.html: one self-contained page (no script, no external file) with every table and the
 * charts inline, so it opens from disk or as a CI artifact.
 */

import type { ResultsFile } from "../results.js";
import {
  cellText,
  counterLabel,
  failureText,
  flatCounters,
  fmtNum,
  grids,
  METRIC_TITLES,
  type Metric,
  type WorkloadGrid,
} from "./model.js";
import { lineChart, stackedEvents } from "./svg.js";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function anchor(id: string): string {
  return `w-${id.replace(/[^A-Za-z0-9]+/g, "-")}`;
}

function cellClass(text: string): string {
  if (text === "FAILED") return ' class="failed"';
  if (text === "skipped") return ' class="skipped"';
  const m = /\((\d+(?:\.\d+)?)x\)$/.exec(text);
  if (!m) return "";
  const r = Number(m[1]);
  return r < 0.995 ? ' class="better"' : r > 1.005 ? ' class="worse"' : "";
}

function metricTable(g: WorkloadGrid, m: Metric): string {
  const head = `<tr><th>folio</th>${g.strategies.map((s) => `<th>${esc(s)}</th>`).join("")}</tr>`;
  const rows = g.folios
    .map((f) => {
      const cells = g.strategies.map((s) => {
        const t = cellText(g, f, s, m);
        return `<td${cellClass(t)}>${esc(t)}</td>`;
      });
      return `<tr><th>${esc(f)}</th>${cells.join("")}</tr>`;
    })
    .join("\n");
  return `<table class="grid" data-metric="${m}"><caption>${esc(METRIC_TITLES[m])}${m === "wall" ? "" : `, ratio to ${esc(g.baseline)}`}</caption>\n${head}\n${rows}\n</table>`;
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
      if (!r || r.status !== "ok") continue;
      const c = flatCounters(r);
      rows.push(`<tr><th>${esc(f)}</th><th>${esc(s)}</th>${cols.map((k) => `<td>${c[k] ?? 0}</td>`).join("")}</tr>`);
    }
  }
  return `<table class="counters"><caption>kernel-visible counters, deltas over the measured phase</caption>\n${head}\n${rows.join("\n")}\n</table>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:10px 16px 10px 0;font-size:13px;display:inline-table;vertical-align:top}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f6f6}
td.better{background:#e9f7ef}td.worse{background:#fdecea}td.failed{background:#f8d7da;color:#842029;font-weight:600}td.skipped{color:#999}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee}
.meta{font-size:13px;color:#444}.meta li{margin:2px 0}
.failures li{color:#842029}
`;

export function renderHtml(res: ResultsFile): string {
  const m = res.metadata;
  const e = res.environment;
  const gs = grids(res);
  const parts: string[] = [];
  parts.push("<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', "<title>foliolab bench report</title>");
  parts.push(`<style>${CSS}</style>`, "</head>", "<body>", "<h1>foliolab bench report</h1>");
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
    parts.push('<div class="charts">', lineChart(g, "modelled"), stackedEvents(g), "</div>");
    parts.push(metricTable(g, "modelled"), metricTable(g, "events"), metricTable(g, "wall"));
    parts.push(countersHtml(g));
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
