/**
 * The view page: one self-contained HTML file (inline data, style and script; no network, works
 * from file://) that steps through a trace.
 */

import { CLIENT_JS } from "./client.js";
import type { ViewTrace } from "./trace.js";

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
}

/** JSON safe inside <script>: no "</script>", no "<!--". */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const CSS = `
:root { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1c2833; }
body { margin: 0; }
header { position: sticky; top: 0; z-index: 2; background: #f8f9fa; border-bottom: 1px solid #d5d8dc; padding: 8px 16px; }
header h1 { font-size: 17px; margin: 0 0 2px; }
header .src { color: #566573; font-size: 12px; }
.controls { display: flex; gap: 8px; align-items: center; margin-top: 6px; flex-wrap: wrap; }
.controls button { font: inherit; padding: 2px 10px; }
.sliderbox { position: relative; flex: 1; min-width: 240px; }
#slider { width: 100%; margin: 0; }
#ticks { position: relative; height: 8px; margin: 0 8px; }
#ticks .tick { position: absolute; top: 0; width: 2px; height: 7px; background: #e67e22; margin-left: -1px; }
#ticks .tick.first { background: #c0392b; width: 4px; margin-left: -2px; height: 8px; }
#oplabel { margin-top: 4px; }
#oplabel code { background: #eef0f2; padding: 1px 4px; }
.measured { background: #fdebd0; border-radius: 3px; padding: 0 4px; font-size: 12px; }
main { display: grid; grid-template-columns: 260px 1fr; gap: 12px; padding: 8px 16px; }
#oplist { list-style: none; margin: 0; padding: 0; font: 12px/1.5 ui-monospace, monospace; max-height: calc(100vh - 150px); overflow: auto; position: sticky; top: 130px; }
#oplist li { padding: 1px 4px; cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border-left: 3px solid transparent; }
#oplist li.current { background: #d6eaf8; }
#oplist li.differs { border-left-color: #e67e22; }
#oplist li.first { border-left-color: #c0392b; }
#oplist .idx { color: #85929e; display: inline-block; min-width: 2.5em; }
#oplist .mark { color: #c0392b; }
#cols { display: grid; gap: 16px; }
.col { min-width: 0; }
.col h2 { font-size: 16px; margin: 4px 0; }
.col h3 { font-size: 13px; margin: 10px 0 4px; text-transform: uppercase; letter-spacing: .03em; color: #34495e; }
.desc { color: #566573; font-size: 12px; margin: 0; }
.diverged { background: #fdebd0; border-left: 4px solid #e67e22; padding: 4px 8px; margin: 6px 0; }
.diverged.first { background: #fadbd8; border-left-color: #c0392b; font-weight: 600; }
.failed { background: #fadbd8; color: #922b21; padding: 4px 8px; font-weight: 600; }
.proc { margin-bottom: 8px; }
.pname { font-weight: 600; }
.rss { font-weight: 400; color: #566573; font-size: 12px; }
.vlabel { font: 12px ui-monospace, monospace; color: #283747; }
svg.strip { display: block; width: 100%; height: 34px; cursor: pointer; }
.axis { display: flex; justify-content: space-between; font: 11px ui-monospace, monospace; color: #85929e; }
table { border-collapse: collapse; font-size: 12px; margin: 2px 0 6px; }
th, td { border: 1px solid #d5d8dc; padding: 1px 6px; text-align: right; }
th { background: #f2f3f4; font-weight: 600; }
td:last-child, th:last-child { text-align: left; }
tr.partial td { background: #fef5e7; }
tr.folio { cursor: pointer; }
details.folio-list { max-height: 420px; overflow: auto; }
tr.selected td { background: #d6eaf8; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; border: 1px solid #fff; outline: 1px solid #aab7b8; }
.note { color: #7b7d7d; font-size: 12px; margin: 2px 0; }
ol.gather { margin: 0; padding-left: 20px; font-size: 12px; }
ol.gather li.flush { color: #1a5276; }
ol.gather .sample { color: #7b7d7d; font: 11px ui-monospace, monospace; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; color: #34495e; margin-top: 4px; }
.legend svg { vertical-align: -3px; }
.guide { font-size: 12px; max-width: 1100px; } .guide ul { margin: 4px 0; padding-left: 18px; }
section.story ul { margin: 2px 0; padding-left: 18px; font-size: 13px; }
kbd { border: 1px solid #aab7b8; border-radius: 3px; padding: 0 3px; font-size: 11px; background: #fff; }
`;

const LEGEND = `<div class="legend">
<span><svg width="28" height="14"><rect x="0" y="1" width="13" height="12" fill="hsl(40,70%,52%)" stroke="#fff"/><rect x="14" y="1" width="13" height="12" fill="hsl(262,70%,52%)" stroke="#fff"/></svg> present PTE, coloured by folio</span>
<span><svg width="14" height="14"><rect x="0" y="1" width="13" height="12" fill="hsl(40,70%,52%)" stroke="#222" stroke-width="2"/></svg> PMD-mapped</span>
<span><svg width="14" height="14"><rect x="0" y="1" width="13" height="12" fill="url(#swap)"/></svg> swap entry</span>
<span><svg width="14" height="14"><rect x="0.5" y="1.5" width="12" height="11" fill="#fff" stroke="#d5d9de"/></svg> none</span>
<span><svg width="14" height="14"><rect x="0" y="1" width="13" height="12" fill="#e4e4e4"/></svg> zero page</span>
<span><svg width="14" height="14"><rect x="0" y="1" width="13" height="12" fill="url(#hole)" stroke="#d5d9de"/></svg> unmapped (between VMAs)</span>
<span><svg width="14" height="14"><rect x="0" y="0" width="13" height="3" fill="#1b2631"/><rect x="0" y="4" width="13" height="6" fill="#bbb"/><rect x="0" y="11" width="13" height="3" fill="#c0392b"/></svg> top bar: write, bottom bar: dirty</span>
<span>keys: <kbd>&larr;</kbd> <kbd>&rarr;</kbd> step, <kbd>Home</kbd> <kbd>End</kbd>, <kbd>d</kbd> first difference, <kbd>n</kbd> next difference, <kbd>+</kbd> <kbd>-</kbd> <kbd>0</kbd> zoom, <kbd>[</kbd> <kbd>]</kbd> pan; click a run: its folio; shift-click: zoom there</span>
</div>`;

const GUIDE = `<details class="guide"><summary>how to read this page</summary>
<ul>
<li>Each step is the model's state <b>after</b> an op (Linux 6.18 semantics, kernel names). With two strategies the columns are the same scenario under each; the first step where their cost events, mmu_gather activity, page tables, folios or counters differ is marked in red (the op list, the slider and the columns), later differences in orange.</li>
<li><b>page tables</b>: each VMA as a strip of its PTEs, left to right by address. A run of PTEs mapping the same folio has that folio's colour; click it to find the folio in the table. Big VMAs are drawn in blocks (the axis says how many pages a unit holds); zoom with + and -.</li>
<li><b>folios</b>: every folio the page tables map, or that waits on the deferred split queue, grouped by identical state. <i>mapcount</i> is folio_mapcount() (PTE and PMD mappings), <i>refcount</i> the folio's references, <i>_nr_pages_mapped</i> the large folio's count of PTE-mapped pages (ENTIRELY_MAPPED, 0x800000, added while PMD-mapped), <i>entire</i> its PMD mappings. <i>partially mapped</i> is PG_partially_mapped (6.12+): some but not all pages mapped, so the folio is queued for a deferred split that would free the unmapped part. Flags of each folio: A anon, P partially mapped, D on the deferred split queue, S swapcache, L lazyfree (MADV_FREE), d dirty.</li>
<li><b>mmu_gather</b>: what zap_pte_range() did during the op: each zap_present_ptes() batch (how many PTEs the strategy cleared and removed the rmap of at once), each PTE table, and each flush: the TLB flush followed by releasing what the gather held, in batches of gathered items (flags: r = delayed rmap, 2 = nr in the next entry, H = a PMD-mapped folio).</li>
<li><b>what changed</b>: the model's cost events of this op (what the modelled time counts) and every counter (mTHP, vmstat, meminfo, per-process RSS) that moved.</li>
</ul></details>`;

/** Render the page. */
export function renderView(trace: ViewTrace): string {
  const names = trace.strategies.map((s) => s.name).join(" | ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>foliolab view: ${esc(trace.title)}</title>
<style>${CSS}</style>
</head>
<body>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="hole" patternUnits="userSpaceOnUse" width="4" height="4"><rect width="4" height="4" fill="#ffffff"/><circle cx="2" cy="2" r="0.8" fill="#b3b6b7"/></pattern>
<pattern id="swap" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#aeb6bf"/><rect width="3" height="6" fill="#5d6d7e"/></pattern>
</defs></svg>
<header>
<h1>${esc(trace.title)}: ${esc(names)}</h1>
<div class="src">${esc(trace.source)}${trace.range ? `; only 0x${(trace.range[0] * 4096).toString(16)}-0x${(trace.range[1] * 4096).toString(16)} (--range): page tables and folios inside it` : ""}; the state after each op, as the model holds it; ${trace.opCount} ops${trace.ops.length < trace.opCount ? ` in ${trace.ops.length} steps (runs of alike ops grouped: a big scenario)` : ""}${
    trace.strategies.length > 1
      ? trace.firstDifference === null
        ? "; the strategies never differ"
        : `; the strategies first differ at step ${trace.firstDifference}`
      : ""
  }</div>
<div class="controls">
<button id="prev" title="previous op (left arrow)">&larr;</button>
<button id="next" title="next op (right arrow)">&rarr;</button>
<div class="sliderbox"><input id="slider" type="range" min="0" max="0" value="0" aria-label="op"><div id="ticks"></div></div>
<button id="firstdiff" title="d">first difference</button>
<button id="zout" title="-">zoom out</button><button id="zin" title="+">zoom in</button><button id="zreset" title="0">whole</button>
<span id="zoomlabel"></span>
</div>
<div id="oplabel"></div>
${LEGEND}
${GUIDE}
</header>
<main>
<ol id="oplist"></ol>
<div id="cols"></div>
</main>
<script id="trace" type="application/json">${scriptJson(trace)}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}
