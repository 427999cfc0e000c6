/**
 * SVG charts, written directly (deterministic text, no DOM, no dependency):
 *   - lineChart: a metric against folio size, one line per strategy (log scale);
 *   - stackedEvents: cost events per page by kind, one bar per strategy in each folio group.
 */

import type { RunRecord } from "../measure.js";
import { fmtNum, METRIC_TITLES, type Metric, metricValue, type WorkloadGrid } from "./model.js";

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
export const STRATEGY_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
const KIND_COLORS = [
  "#4E79A7",
  "#F28E2B",
  "#E15759",
  "#76B7B2",
  "#59A14F",
  "#EDC948",
  "#B07AA1",
  "#FF9DA7",
  "#9C755F",
  "#BAB0AC",
];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function n(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function frame(width: number, height: number, title: string, body: string[], label: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" data-chart="${esc(label)}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600" ${FONT} fill="#222">${esc(title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** Tick values for a log axis between lo and hi: 1, 2, 5 x 10^k. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function linTicks(hi: number): number[] {
  if (hi <= 0) return [0];
  const raw = hi / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let i = 0; out.length === 0 || (out[out.length - 1] as number) < hi; i++) out.push(Math.round(i * step * 1e6) / 1e6);
  return out;
}

/** Axis labels: 1000, 500, 2.5, 0.05 (no trailing zeros). */
function tick(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

/** A metric against folio size, one line per strategy. Log y axis when values span > 10x. */
export function lineChart(g: WorkloadGrid, metric: Metric): string {
  const W = 680;
  const H = 380;
  const L = 70;
  const R = 170;
  const T = 40;
  const B = 50;
  const pw = W - L - R;
  const ph = H - T - B;
  const values: number[] = [];
  for (const f of g.folios)
    for (const s of g.strategies) {
      const v = metricValue(g.cell(f, s), metric);
      if (v !== undefined && v > 0) values.push(v);
    }
  const title = `${g.id}: ${METRIC_TITLES[metric]}`;
  const body: string[] = [];
  if (values.length === 0) {
    body.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="13" ${FONT} fill="#888">no data</text>`);
    return frame(W, H, title, body, `${g.id} ${metric} line chart`);
  }
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const log = hi / lo > 10;
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
  } else {
    lo = 0;
    hi = linTicks(hi * 1.05).at(-1) as number;
  }
  const y = (v: number) =>
    log ? T + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph : T + ph - (v / hi) * ph;
  const xs = g.folios.length;
  const x = (i: number) => L + (xs === 1 ? pw / 2 : (i / (xs - 1)) * pw);
  // axes and grid
  const ticks = log ? logTicks(lo, hi) : linTicks(hi * 0.9999);
  for (const t of ticks) {
    const ty = n(y(t));
    body.push(`<line x1="${L}" y1="${ty}" x2="${L + pw}" y2="${ty}" stroke="#e5e5e5" stroke-width="1"/>`);
    body.push(`<text x="${L - 6}" y="${n(y(t) + 4)}" text-anchor="end" font-size="11" ${FONT} fill="#555">${tick(t)}</text>`);
  }
  body.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${T + ph}" stroke="#333" stroke-width="1"/>`);
  body.push(`<line x1="${L}" y1="${T + ph}" x2="${L + pw}" y2="${T + ph}" stroke="#333" stroke-width="1"/>`);
  g.folios.forEach((f, i) => {
    body.push(`<text x="${n(x(i))}" y="${T + ph + 18}" text-anchor="middle" font-size="11" ${FONT} fill="#333">${esc(f)}</text>`);
  });
  body.push(`<text x="${L + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12" ${FONT} fill="#333">folio size</text>`);
  body.push(
    `<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT} fill="#333">${esc(metric === "modelled" ? "ns / page" : metric === "events" ? "events / page" : "ms")}${log ? " (log)" : ""}</text>`,
  );
  // lines
  g.strategies.forEach((s, si) => {
    const color = STRATEGY_COLORS[si % STRATEGY_COLORS.length] as string;
    const pts: Array<[number, number]> = [];
    g.folios.forEach((f, i) => {
      const v = metricValue(g.cell(f, s), metric);
      if (v !== undefined && v > 0) pts.push([x(i), y(v)]);
    });
    if (pts.length > 1) {
      body.push(
        `<polyline class="series" data-strategy="${esc(s)}" fill="none" stroke="${color}" stroke-width="2.5" points="${pts.map(([a, b]) => `${n(a)},${n(b)}`).join(" ")}"/>`,
      );
    }
    for (const [a, b] of pts) body.push(`<circle cx="${n(a)}" cy="${n(b)}" r="4" fill="${color}"/>`);
    const ly = T + 10 + si * 20;
    body.push(`<line x1="${L + pw + 16}" y1="${ly}" x2="${L + pw + 40}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    body.push(`<text x="${L + pw + 46}" y="${ly + 4}" font-size="12" ${FONT} fill="#222">${esc(s)}</text>`);
  });
  return frame(W, H, title, body, `${g.id} ${metric} line chart`);
}

/** Event kinds ranked by their share of all events in this workload; the rest become "other". */
function topKinds(runs: RunRecord[], max: number): string[] {
  const sum = new Map<string, number>();
  for (const r of runs) {
    if (r.status !== "ok" || !r.metrics) continue;
    for (const [k, v] of Object.entries(r.metrics.costEvents)) if (v > 0) sum.set(k, (sum.get(k) ?? 0) + v / r.pages);
  }
  return [...sum.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([k]) => k);
}

/** Cost events per page by kind: one stacked bar per strategy, grouped by folio size. */
export function stackedEvents(g: WorkloadGrid): string {
  const kinds = topKinds(g.runs, KIND_COLORS.length - 1);
  const legend = [...kinds, "other"];
  const W = Math.max(680, 140 + g.folios.length * (g.strategies.length * 22 + 24) + 190);
  const H = 400;
  const L = 60;
  const R = 190;
  const T = 40;
  const B = 70;
  const pw = W - L - R;
  const ph = H - T - B;
  const stacks: Array<{ folio: number; strat: number; parts: Array<[string, number]>; total: number }> = [];
  let hi = 0;
  g.folios.forEach((f, fi) => {
    g.strategies.forEach((s, si) => {
      const r = g.cell(f, s);
      if (!r || r.status !== "ok" || !r.metrics) return;
      const parts: Array<[string, number]> = [];
      let other = 0;
      for (const [k, v] of Object.entries(r.metrics.costEvents)) {
        if (v <= 0) continue;
        if (kinds.includes(k)) parts.push([k, v / r.pages]);
        else other += v / r.pages;
      }
      parts.sort((a, b) => kinds.indexOf(a[0]) - kinds.indexOf(b[0]));
      if (other > 0) parts.push(["other", other]);
      const total = parts.reduce((t, [, v]) => t + v, 0);
      hi = Math.max(hi, total);
      stacks.push({ folio: fi, strat: si, parts, total });
    });
  });
  const title = `${g.id}: cost events per 4K page, by kind`;
  const body: string[] = [];
  if (stacks.length === 0) {
    body.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="13" ${FONT} fill="#888">no data</text>`);
    return frame(W, H, title, body, `${g.id} stacked events`);
  }
  const ticks = linTicks(hi);
  const top = ticks[ticks.length - 1] as number;
  const y = (v: number) => T + ph - (v / top) * ph;
  for (const t of ticks) {
    body.push(`<line x1="${L}" y1="${n(y(t))}" x2="${L + pw}" y2="${n(y(t))}" stroke="#e5e5e5" stroke-width="1"/>`);
    body.push(`<text x="${L - 6}" y="${n(y(t) + 4)}" text-anchor="end" font-size="11" ${FONT} fill="#555">${tick(t)}</text>`);
  }
  body.push(`<line x1="${L}" y1="${T + ph}" x2="${L + pw}" y2="${T + ph}" stroke="#333" stroke-width="1"/>`);
  const groupW = pw / g.folios.length;
  const barW = Math.min(22, (groupW - 12) / Math.max(1, g.strategies.length));
  g.folios.forEach((f, fi) => {
    const cx = L + groupW * fi + groupW / 2;
    body.push(`<text x="${n(cx)}" y="${T + ph + 32}" text-anchor="middle" font-size="11" ${FONT} fill="#333">${esc(f)}</text>`);
  });
  for (const st of stacks) {
    const gx = L + groupW * st.folio + (groupW - barW * g.strategies.length) / 2 + barW * st.strat;
    let acc = 0;
    for (const [k, v] of st.parts) {
      const color = KIND_COLORS[legend.indexOf(k) % KIND_COLORS.length] as string;
      const y0 = y(acc + v);
      const h = y(acc) - y0;
      body.push(
        `<rect class="bar" x="${n(gx + 1)}" y="${n(y0)}" width="${n(barW - 2)}" height="${n(Math.max(h, 0))}" fill="${color}"><title>${esc(`${g.strategies[st.strat]} ${g.folios[st.folio]} ${k}: ${fmtNum(v)}`)}</title></rect>`,
      );
      acc += v;
    }
    const sc = STRATEGY_COLORS[st.strat % STRATEGY_COLORS.length] as string;
    body.push(`<rect x="${n(gx + 1)}" y="${T + ph + 4}" width="${n(barW - 2)}" height="6" fill="${sc}"/>`);
  }
  // legends: event kinds, then the strategy marks under the bars
  legend.forEach((k, i) => {
    const ly = T + 6 + i * 18;
    body.push(`<rect x="${L + pw + 16}" y="${ly - 9}" width="12" height="12" fill="${KIND_COLORS[i % KIND_COLORS.length]}"/>`);
    body.push(`<text x="${L + pw + 34}" y="${ly + 1}" font-size="11" ${FONT} fill="#222">${esc(k)}</text>`);
  });
  g.strategies.forEach((s, si) => {
    const ly = T + 12 + legend.length * 18 + 12 + si * 18;
    body.push(
      `<rect x="${L + pw + 16}" y="${ly - 6}" width="12" height="6" fill="${STRATEGY_COLORS[si % STRATEGY_COLORS.length]}"/>`,
    );
    body.push(`<text x="${L + pw + 34}" y="${ly + 1}" font-size="11" ${FONT} fill="#222">${esc(s)}</text>`);
  });
  body.push(
    `<text x="${L + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12" ${FONT} fill="#333">folio size (bars: strategies, marked below each bar)</text>`,
  );
  return frame(W, H, title, body, `${g.id} stacked events`);
}
