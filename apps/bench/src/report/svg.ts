/**
 * SVG charts, written directly (deterministic text, no DOM, no dependency):
 *   - lineChart: a metric against folio size, one line per strategy (log scale);
 *   - stackedEvents: cost events per page by kind, one bar per strategy in each folio group.
 */

import type { RunRecord } from "../measure.js";
import { fmtNum, LINUX_COLUMN_TITLE, METRIC_TITLES, type Metric, metricValue, type WorkloadGrid } from "./model.js";

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
export const STRATEGY_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
/**
 * One fixed colour per cost-event kind, the same in every chart of every report, chosen (greedy
 * farthest-point over an HSL grid) to stay apart from each other and from the strategies'
 * Okabe-Ito colours, black, white and the greys used for "other" and the kernel.
 */
export const KIND_COLORS: Record<string, string> = {
  pte_read: "#70CC33",
  pte_clear: "#8033CC",
  pte_set: "#8F242E",
  tlb_range_update: "#24248F",
  tlb_flush_range: "#70DB9B",
  tlb_flush_full: "#2E8F24",
  tlb_flush_pages: "#CC3380",
  mapcount_atomic: "#A69E59",
  large_mapcount_atomic: "#7E7ECE",
  nr_pages_mapped_atomic: "#8F6424",
  entire_mapcount_atomic: "#59A678",
  refcount_atomic: "#813179",
  lruvec_stat_update: "#B0DB70",
  lruvec_lock: "#3342CC",
  split_queue_lock: "#CC33CC",
  deferred_split_enqueue: "#33CC52",
  deferred_split_dequeue: "#CC3333",
  gather_entries: "#8BB6C1",
  gather_batch_alloc: "#6159A6",
  struct_page_lines: "#338FCC",
  pt_lock: "#CC8033",
  rss_counter_add: "#33CCAD",
  folio_mark_dirty: "#A65961",
  folio_mark_accessed: "#CCBD33",
  free_swap_cache: "#EBEBAD",
  lru_add_drain: "#317981",
  memcg_uncharge: "#6F8F24",
  pages_freed: "#ADEBEB",
  folios_freed: "#DBB070",
  gather_flush: "#9E59A6",
  munlock_check: "#EBADEB",
  folios_allocated: "#3E4974",
  bytes_zeroed: "#06E006",
  bytes_copied: "#1FF9F9",
  pt_alloc: "#0606E0",
  pt_free: "#FB51FB",
  lru_add: "#B383FC",
  swap_out_pages: "#A2F91F",
  swap_in_pages: "#4E06E0",
  tlb_shootdown: "#5168FB",
  page_fault: "#E00606",
  syscall: "#FB5C51",
  vma_update: "#A304AE",
  proc_fork: "#564429",
  proc_exit: "#AE045F",
  user_access_pages: "#3CF91F",
  buffer_heads_dirtied: "#06C3E0",
  free_swap_and_cache_nr: "#51FBCD",
  lru_isolate: "#A3AE04",
  rmap_walk: "#1FF985",
  rmap_walk_vma: "#FB51A0",
  memcg_reclaim_round: "#E006A6",
  shrink_node: "#F91F59",
  shrink_inactive_list: "#54037C",
  user_tlb_miss: "#E0E006",
  page_cache_delete: "#A21FF9",
  i_pages_lock: "#107050",
  lru_add_drain_all: "#5CFB51",
  swap_entries_put: "#FDB4B4",
  rmap_walk_ptes: "#B4FDB4",
  vma_split: "#FC8383",
  block_dirty_folio: "#7C0303",
  lru_move: "#037C7C",
};
/** A kind core adds later, until it gets its own colour here. */
const SPARE_KIND_COLOR = "#8C7A6B";
/** The "other" slice of a stacked bar. */
export const OTHER_COLOR = "#c8c8c8";
/** The kernel's line (`bench --kernel`): not a strategy colour. */
export const KERNEL_COLOR = "#6b6b6b";

export function kindColor(kind: string): string {
  return KIND_COLORS[kind] ?? SPARE_KIND_COLOR;
}

/** Kinds shown by name in a stacked chart; the rest are summed as "other". */
const STACK_KINDS = 9;

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

/** Marker shapes per strategy, so lines of equal values stay told apart. */
function marker(shape: number, x: number, y: number, r: number, color: string): string {
  const sh = shape % 4;
  if (sh === 0) return `<circle cx="${n(x)}" cy="${n(y)}" r="${n(r)}" fill="${color}"/>`;
  if (sh === 1) return `<rect x="${n(x - r)}" y="${n(y - r)}" width="${n(2 * r)}" height="${n(2 * r)}" fill="${color}"/>`;
  if (sh === 2)
    return `<path d="M${n(x)} ${n(y - r * 1.2)}L${n(x + r * 1.1)} ${n(y + r * 0.8)}L${n(x - r * 1.1)} ${n(y + r * 0.8)}Z" fill="${color}"/>`;
  return `<path d="M${n(x)} ${n(y - r * 1.3)}L${n(x + r * 1.1)} ${n(y)}L${n(x)} ${n(y + r * 1.3)}L${n(x - r * 1.1)} ${n(y)}Z" fill="${color}"/>`;
}

/**
 * A metric against folio size, one line per strategy. Log y axis when values span > 10x.
 * A FAILED or skipped cell breaks the line (a gap) and is marked with a cross on the axis.
 * Lines are drawn widest first, so a strategy whose values equal another's still shows as a
 * border around it. `kernel` (per folio, ns/page) adds the measured kernel as a grey dashed line.
 */
export function lineChart(g: WorkloadGrid, metric: Metric, kernel?: Array<number | undefined>): string {
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
  const kernelPts = metric === "modelled" && kernel?.some((v) => v !== undefined && v > 0) ? kernel : undefined;
  for (const v of kernelPts ?? []) if (v !== undefined && v > 0) values.push(v);
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
  // lines: widest first; a gap at every cell without a value
  const S = g.strategies.length;
  const series: Array<{
    name: string;
    color: string;
    values: Array<number | undefined>;
    width: number;
    shape: number;
    cls: string;
  }> = g.strategies.map((s, si) => ({
    name: s,
    color: STRATEGY_COLORS[si % STRATEGY_COLORS.length] as string,
    values: g.folios.map((f) => {
      const v = metricValue(g.cell(f, s), metric);
      return v !== undefined && v > 0 ? v : undefined;
    }),
    width: 2.5 + 2.5 * (S - 1 - si),
    shape: si,
    cls: "series",
  }));
  if (kernelPts)
    series.push({
      name: LINUX_COLUMN_TITLE,
      color: KERNEL_COLOR,
      values: g.folios.map((_, i) => kernelPts[i]),
      width: 2,
      shape: 3,
      cls: "series kernel",
    });
  series.forEach((se, si) => {
    const segments: Array<Array<[number, number]>> = [[]];
    se.values.forEach((v, i) => {
      if (v === undefined) segments.push([]);
      else (segments[segments.length - 1] as Array<[number, number]>).push([x(i), y(v)]);
    });
    const dash = se.cls.includes("kernel") ? ' stroke-dasharray="6 4"' : "";
    for (const pts of segments) {
      if (pts.length > 1)
        body.push(
          `<polyline class="${se.cls}" data-strategy="${esc(se.name)}" fill="none" stroke="${se.color}" stroke-width="${se.width}" stroke-linejoin="round"${dash} points="${pts.map(([a, b]) => `${n(a)},${n(b)}`).join(" ")}"/>`,
        );
      for (const [a, b] of pts) body.push(marker(se.shape, a, b, 3 + (se.width - 2.5) / 2 + 1.5, se.color));
    }
    // FAILED / skipped cells of a strategy: a cross in its colour just above the folio axis.
    if (!se.cls.includes("kernel")) {
      g.folios.forEach((f, i) => {
        const r = g.cell(f, se.name);
        if (!r || r.status === "ok") return;
        const cx = x(i) + (si - (S - 1) / 2) * 10;
        const cy = T + ph - 8;
        body.push(
          `<g class="failed-mark" data-strategy="${esc(se.name)}" data-folio="${esc(f)}"><title>${esc(`${se.name} ${f}: ${r.status === "failed" ? "FAILED" : r.status}`)}</title><path d="M${n(cx - 5)} ${n(cy - 5)}L${n(cx + 5)} ${n(cy + 5)}M${n(cx + 5)} ${n(cy - 5)}L${n(cx - 5)} ${n(cy + 5)}" stroke="${se.color}" stroke-width="2.5"/></g>`,
        );
      });
    }
    const ly = T + 10 + si * 20;
    body.push(
      `<line x1="${L + pw + 16}" y1="${ly}" x2="${L + pw + 40}" y2="${ly}" stroke="${se.color}" stroke-width="3"${dash}/>`,
      marker(se.shape, L + pw + 28, ly, 4, se.color),
    );
    body.push(`<text x="${L + pw + 46}" y="${ly + 4}" font-size="12" ${FONT} fill="#222">${esc(se.name)}</text>`);
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
  const kinds = topKinds(g.runs, STACK_KINDS);
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
  const failed: Array<{ folio: number; strat: number; status: string }> = [];
  let hi = 0;
  g.folios.forEach((f, fi) => {
    g.strategies.forEach((s, si) => {
      const r = g.cell(f, s);
      if (r && r.status !== "ok") failed.push({ folio: fi, strat: si, status: r.status === "failed" ? "FAILED" : r.status });
      if (r?.status !== "ok" || !r.metrics) return;
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
  if (stacks.length === 0 && failed.length === 0) {
    body.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="13" ${FONT} fill="#888">no data</text>`);
    return frame(W, H, title, body, `${g.id} stacked events`);
  }
  body.push(
    '<defs><pattern id="failed-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3e4"/><rect width="2" height="6" fill="#c0392b"/></pattern></defs>',
  );
  const ticks = linTicks(hi > 0 ? hi : 1);
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
      const color = k === "other" ? OTHER_COLOR : kindColor(k);
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
  // A FAILED (or skipped) cell keeps its place: a hatched bar the plot's height, labelled.
  for (const fb of failed) {
    const gx = L + groupW * fb.folio + (groupW - barW * g.strategies.length) / 2 + barW * fb.strat;
    const label = `${g.strategies[fb.strat]} ${g.folios[fb.folio]}: ${fb.status}`;
    body.push(
      `<rect class="bar failed" data-strategy="${esc(g.strategies[fb.strat] as string)}" data-folio="${esc(g.folios[fb.folio] as string)}" x="${n(gx + 1)}" y="${T}" width="${n(barW - 2)}" height="${ph}" fill="${fb.status === "FAILED" ? "url(#failed-hatch)" : "#f2f2f2"}" stroke="${fb.status === "FAILED" ? "#c0392b" : "#bbbbbb"}" stroke-width="1"><title>${esc(label)}</title></rect>`,
      `<text transform="translate(${n(gx + barW / 2 + 4)} ${T + ph - 6}) rotate(-90)" font-size="11" font-weight="600" ${FONT} fill="${fb.status === "FAILED" ? "#922b21" : "#777"}">${esc(fb.status)}</text>`,
    );
    const sc = STRATEGY_COLORS[fb.strat % STRATEGY_COLORS.length] as string;
    body.push(`<rect x="${n(gx + 1)}" y="${T + ph + 4}" width="${n(barW - 2)}" height="6" fill="${sc}"/>`);
  }
  // legends: event kinds, then the strategy marks under the bars
  legend.forEach((k, i) => {
    const ly = T + 6 + i * 18;
    body.push(
      `<rect class="kind" data-kind="${esc(k)}" x="${L + pw + 16}" y="${ly - 9}" width="12" height="12" fill="${k === "other" ? OTHER_COLOR : kindColor(k)}"/>`,
    );
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
