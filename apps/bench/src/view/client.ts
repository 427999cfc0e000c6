/**
 * The script of the view page, as text (inlined into the HTML; no build step, no imports).
 * It reads the trace from <script id="trace" type="application/json"> and draws one step at a
 * time: every strategy in its own column. Written without template literals so it can live in
 * a template literal (no backslashes, no dollar-brace).
 */

export const CLIENT_JS = `
"use strict";
(function () {
  var T = JSON.parse(document.getElementById("trace").textContent);
  var N = T.ops.length;
  var state = { step: 0, lo: 0, hi: 1, folio: null };
  var W = 1000, H = 34;
  var ORDER_COLOURS = ["#3498db", "#5dade2", "#48c9b0", "#58d68d", "#f4d03f", "#eb984e", "#ec7063", "#af7ac5", "#5d6d7e", "#cd6155"];
  var KIND = { P: "present", S: "swap entry", N: "none", M: "PMD-mapped", Z: "zero page", X: "mixed" };
  var FLAGS = { A: "anon", P: "partially mapped", D: "on deferred split queue", S: "swapcache", L: "lazyfree", d: "dirty" };

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }
  function folioColour(pfn) {
    // An integer hash of the pfn: neighbouring folios get distant hues. Never grey (grey is swap).
    var x = Math.imul(pfn ^ (pfn >>> 16), 0x45d9f3b);
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    x = (x ^ (x >>> 16)) >>> 0;
    var h = x % 360;
    return "hsl(" + h + ", 70%, 52%)";
  }
  function runFill(r) {
    if (r[2] === "N") return "#ffffff";
    if (r[2] === "S") return "url(#swap)";
    if (r[2] === "Z") return "#e4e4e4";
    if (r[3] >= 0) return folioColour(r[3]);
    var c = ORDER_COLOURS[Math.max(0, r[4]) % ORDER_COLOURS.length];
    return c;
  }
  function hex(n) { return "0x" + (n * 4096).toString(16); }
  function bytes(pages) {
    var b = pages * 4096;
    var u = ["B", "K", "M", "G", "T"], i = 0;
    while (b >= 1024 && b % 1024 === 0 && i < 4) { b /= 1024; i++; }
    return b + u[i];
  }
  function fmt(n) {
    if (typeof n !== "number") return esc(n);
    if (Number.isInteger(n)) return n.toLocaleString("en-US");
    return n.toPrecision(4);
  }

  // One strip per mapping: its VMAs side by side, the holes between them (unmapped, no VMA) drawn as such.
  function strip(group, si, gi) {
    var span = state.hi - state.lo;
    var total = group.end - group.start;
    var items = [];
    var at = group.start;
    var block = 1;
    for (var v = 0; v < group.vmas.length; v++) {
      var vma = group.vmas[v].vma, layout = group.vmas[v].layout;
      block = Math.max(block, layout.block);
      if (vma.start > at) items.push({ a: at, n: vma.start - at, r: null, block: 1 });
      for (var i = 0; i < layout.runs.length; i++) {
        var r = layout.runs[i];
        items.push({ a: vma.start + r[0] * layout.block, n: Math.min(r[1] * layout.block, layout.pages - r[0] * layout.block), r: r, block: layout.block });
      }
      at = vma.end;
    }
    var parts = [];
    parts.push('<svg class="strip" viewBox="0 0 ' + W + " " + H + '" preserveAspectRatio="none" data-mapping="' + esc(group.mapping) + '" data-strip="' + si + ":" + gi + '">');
    parts.push('<rect x="0" y="0" width="' + W + '" height="' + H + '" fill="#ffffff" stroke="#c8ccd2" stroke-width="1"/>');
    for (var k = 0; k < items.length; k++) {
      var it = items[k];
      var a = (it.a - group.start) / total;
      var b = Math.min(1, (it.a + it.n - group.start) / total);
      if (b <= state.lo || a >= state.hi) continue;
      var x0 = ((Math.max(a, state.lo) - state.lo) / span) * W;
      var x1 = ((Math.min(b, state.hi) - state.lo) / span) * W;
      var w = Math.max(0.6, x1 - x0);
      if (!it.r) {
        parts.push('<rect class="hole" x="' + x0.toFixed(2) + '" y="4" width="' + w.toFixed(2) + '" height="' + (H - 8) + '" fill="url(#hole)"><title>' + esc(hex(it.a) + " +" + bytes(it.n) + ": unmapped (no VMA)") + "</title></rect>");
        continue;
      }
      var rr = it.r;
      var title = hex(it.a) + " +" + bytes(it.n) + ": " + KIND[rr[2]];
      if (rr[3] >= 0) title += ", folio pfn " + rr[3] + " (order " + rr[4] + ")";
      else if (rr[4] >= 0 && rr[2] !== "N") title += ", folios up to order " + rr[4];
      if (it.block > 1) title += ", " + rr[7] + " folio(s) per " + bytes(it.block) + " block";
      if (rr[5] > 0) title += ", write" + (rr[5] < 1 ? " " + Math.round(rr[5] * 100) + "%" : "");
      if (rr[6] > 0) title += ", dirty" + (rr[6] < 1 ? " " + Math.round(rr[6] * 100) + "%" : "");
      var sel = state.folio !== null && rr[3] === state.folio;
      var stroke = rr[2] === "N" ? "#d5d9de" : sel ? "#000000" : rr[2] === "M" ? "#222222" : "#ffffff";
      var sw = sel ? 2.5 : rr[2] === "M" ? 2 : w > 4 ? 1 : 0;
      parts.push(
        '<rect class="run kind-' + rr[2] + '" data-folio="' + rr[3] + '" data-kind="' + rr[2] + '" data-start="' + it.a + '" data-pages="' + it.n + '" x="' + x0.toFixed(2) + '" y="4" width="' + w.toFixed(2) +
          '" height="' + (H - 8) + '" fill="' + runFill(rr) + '" stroke="' + stroke + '" stroke-width="' + sw + '"' +
          (it.block > 1 && rr[2] === "X" ? ' fill-opacity="0.55"' : "") + "><title>" + esc(title) + "</title></rect>"
      );
      if (rr[5] > 0) parts.push('<rect class="bit-w" x="' + x0.toFixed(2) + '" y="0" width="' + w.toFixed(2) + '" height="3" fill="#1b2631" fill-opacity="' + rr[5] + '"/>');
      if (rr[6] > 0) parts.push('<rect class="bit-d" x="' + x0.toFixed(2) + '" y="' + (H - 3) + '" width="' + w.toFixed(2) + '" height="3" fill="#c0392b" fill-opacity="' + rr[6] + '"/>');
    }
    parts.push("</svg>");
    var lo = group.start + Math.floor(state.lo * total), hi = group.start + Math.ceil(state.hi * total);
    var unit = block > 1 ? "aggregated: one unit = " + bytes(block) : "one unit = 4K";
    parts.push('<div class="axis"><span>' + hex(lo) + "</span><span>" + unit + (span < 1 ? ", zoomed " + Math.round(1 / span) + "x" : "") + "</span><span>" + hex(hi) + "</span></div>");
    return parts.join("");
  }

  /** Consecutive VMAs of one mapping (a munmap in the middle splits one) become one strip. */
  function groups(pr) {
    var out = [];
    for (var v = 0; v < pr.vmas.length; v++) {
      var vma = T.vmas[pr.vmas[v]];
      var last = out[out.length - 1];
      var entry = { vma: vma, layout: T.layouts[vma.layout] };
      if (last && last.mapping === vma.mapping && vma.start >= last.end) { last.vmas.push(entry); last.end = vma.end; }
      else out.push({ mapping: vma.mapping, start: vma.start, end: vma.end, vmas: [entry] });
    }
    return out;
  }

  function flagText(f) {
    return f.split("").map(function (c) { return FLAGS[c] || c; }).join(", ");
  }

  function foliosHtml(s) {
    var h = [];
    h.push('<table class="classes"><thead><tr><th>folios</th><th>order</th><th>mapcount</th><th>refcount</th><th>_nr_pages_mapped</th><th>entire</th><th>state</th></tr></thead><tbody>');
    for (var i = 0; i < s.folios.classes.length; i++) {
      var c = s.folios.classes[i];
      h.push("<tr" + (c.flags.indexOf("P") >= 0 ? ' class="partial"' : "") + "><td>" + fmt(c.count) + "</td><td>" + c.order + " (" + bytes(1 << c.order) + ")</td><td>" + c.mapcount + "</td><td>" + c.refcount + "</td><td>" + c.nrPagesMapped + "</td><td>" + c.entire + "</td><td>" + esc(flagText(c.flags)) + "</td></tr>");
    }
    if (s.folios.classes.length === 0) h.push('<tr><td colspan="7">no folio mapped</td></tr>');
    h.push("</tbody></table>");
    if (s.folios.list) {
      h.push('<details class="folio-list"' + (s.folios.list.length <= 64 ? " open" : "") + "><summary>each folio (" + s.folios.list.length + ")</summary><table><thead><tr><th>pfn</th><th>order</th><th>mapcount</th><th>refcount</th><th>_nr_pages_mapped</th><th>partially mapped</th><th>deferred split</th><th>flags</th></tr></thead><tbody>");
      for (var j = 0; j < s.folios.list.length; j++) {
        var f = T.folios[s.folios.list[j]];
        var p = f[6].indexOf("P") >= 0, d = f[6].indexOf("D") >= 0;
        h.push('<tr class="folio' + (state.folio === f[0] ? " selected" : "") + '" data-pfn="' + f[0] + '" data-order="' + f[1] + '" data-mapcount="' + f[2] + '" data-refcount="' + f[3] + '" data-nr-pages-mapped="' + f[4] + '" data-partial="' + (p ? 1 : 0) + '" data-deferred="' + (d ? 1 : 0) + '"><td><span class="swatch" style="background:' + folioColour(f[0]) + '"></span>' + f[0] + "</td><td>" + f[1] + "</td><td>" + f[2] + "</td><td>" + f[3] + "</td><td>" + f[4] + "</td><td>" + (p ? "yes" : "") + "</td><td>" + (d ? "queued" : "") + '</td><td title="' + esc(flagText(f[6])) + '">' + esc(f[6]) + "</td></tr>");
      }
      h.push("</tbody></table></details>");
    } else {
      h.push('<p class="note">' + fmt(s.folios.total) + " folios: listed by class only (more than the page lists one by one)</p>");
    }
    return h.join("");
  }

  function gatherHtml(s) {
    var t = s.gatherTotals;
    if (s.gather.length === 0) return '<p class="note">no zap in this op</p>';
    var sizes = Object.keys(t.bySize).sort(function (a, b) { return a - b; }).map(function (k) { return fmt(t.bySize[k]) + " of " + k; }).join(", ");
    var h = ['<p class="gsum">' + (t.tables ? fmt(t.tables) + " PTE table" + (t.tables > 1 ? "s" : "") + ", " : "") + fmt(t.zapCalls) + " zap_present_ptes batch" + (t.zapCalls === 1 ? "" : "es") + " (" + fmt(t.zapPages) + " PTEs" + (sizes ? "; batches of PTEs: " + sizes : "") + "), " + fmt(t.flushes) + " flush" + (t.flushes === 1 ? "" : "es") + " releasing " + fmt(t.items) + " gathered items = " + fmt(t.pages) + " pages</p>"];
    var flushes = s.gather.filter(function (g) { return g.t === "flush"; });
    h.push('<ol class="flushes">');
    for (var f = 0; f < Math.min(flushes.length, 24); f++) h.push(flushLi(flushes[f]));
    if (flushes.length > 24) h.push('<li class="note">... ' + fmt(flushes.length - 24) + " more flushes (every event below)</li>");
    h.push("</ol>");
    h.push('<details class="events"' + (s.gather.length <= 12 ? " open" : "") + "><summary>every event in order (" + fmt(s.gather.length + s.gatherDropped) + ")</summary>");
    h.push('<ol class="gather">');
    for (var i = 0; i < s.gather.length; i++) {
      var g = s.gather[i];
      if (g.t === "zap") h.push('<li class="zap">' + esc(g.proc) + ": zap_present_ptes x " + fmt(g.calls) + ", " + g.nr + " PTE" + (g.nr > 1 ? "s" : "") + " per batch (" + fmt(g.pages) + " PTEs from " + hex(g.vpn) + ")</li>");
      else if (g.t === "table") h.push('<li class="table">' + esc(g.proc) + ": " + fmt(g.count) + " PTE table" + (g.count > 1 ? "s" : "") + " entered from " + hex(g.vpn) + "</li>");
      else if (g.t === "rmaps") h.push('<li class="rmaps">tlb_flush_rmaps x ' + fmt(g.count) + "</li>");
      else h.push(flushLi(g));
    }
    if (s.gatherDropped > 0) h.push('<li class="note">... ' + fmt(s.gatherDropped) + " more</li>");
    h.push("</ol></details>");
    return h.join("");
  }

  function batchText(bs) {
    var out = [], i = 0;
    while (i < bs.length) {
      var j = i;
      while (j + 1 < bs.length && bs[j + 1].items === bs[i].items) j++;
      out.push(fmt(bs[i].items) + (j > i ? " x " + (j - i + 1) : ""));
      i = j + 1;
    }
    return out.join(" + ");
  }

  function flushLi(g) {
        var sample = g.sample.map(function (it) { return "pfn " + it[0] + (it[1] > 1 ? " +" + it[1] : "") + (it[2] ? " [" + it[2] + "]" : ""); }).join(", ");
        return '<li class="flush"><b>' + (g.noGather ? "released at once (MMU_GATHER_NO_GATHER)" : "flush #" + g.n) + "</b> " + esc(g.proc) + (g.fullmm ? " (fullmm)" : "") + ": the gather held " + fmt(g.items) + " items = " + fmt(g.pages) + " pages of " + fmt(g.folios) + " folios" + (g.batches.length > 1 ? " in " + g.batches.length + " batches (" + batchText(g.batches) + " items)" : "") + '<div class="sample">' + esc(sample) + (g.items > g.sample.length ? ", ..." : "") + "</div></li>";
  }

  function countersHtml(s) {
    var h = [];
    if (s.costs.length) {
      h.push('<table class="costs"><thead><tr><th>cost event</th><th>this op</th></tr></thead><tbody>');
      for (var i = 0; i < s.costs.length; i++) h.push("<tr><td>" + esc(s.costs[i][0]) + "</td><td>" + fmt(s.costs[i][1]) + "</td></tr>");
      h.push("</tbody></table>");
    }
    if (s.counters.length) {
      h.push('<table class="counters"><thead><tr><th>counter</th><th>before</th><th>after</th><th>change</th></tr></thead><tbody>');
      for (var j = 0; j < s.counters.length; j++) {
        var c = s.counters[j];
        h.push("<tr><td>" + esc(c[0]) + "</td><td>" + fmt(c[1]) + "</td><td>" + fmt(c[2]) + "</td><td>" + (c[2] > c[1] ? "+" : "") + fmt(c[2] - c[1]) + "</td></tr>");
      }
      h.push("</tbody></table>");
    }
    if (!h.length) h.push('<p class="note">no counter changed</p>');
    return h.join("");
  }

  function columnHtml(st, si) {
    var i = state.step;
    var h = ['<h2>' + esc(st.name) + "</h2>"];
    if (st.description) h.push('<p class="desc">' + esc(st.description) + "</p>");
    var diff = T.differences[i] || [];
    if (diff.length) h.push('<p class="diverged' + (i === T.firstDifference ? " first" : "") + '">' + (i === T.firstDifference ? "strategies part here (first difference): " : "differs from " + esc(T.strategies[0].name) + ": ") + esc(diff.join(", ")) + "</p>");
    var s = st.steps[i];
    if (!s) {
      h.push('<p class="failed">' + (st.error ? "FAILED at step " + st.error.step + ": " + esc(st.error.kind) + ": " + esc(st.error.message) : "no state") + "</p>");
      return h.join("");
    }
    if (s.story.length) h.push('<section class="story"><h3>what happened</h3><ul>' + s.story.map(function (l) { return "<li>" + esc(l) + "</li>"; }).join("") + "</ul></section>");
    h.push('<section class="pt"><h3>page tables</h3>');
    for (var p = 0; p < s.procs.length; p++) {
      var pr = s.procs[p];
      h.push('<div class="proc"><div class="pname">' + esc(pr.name) + (pr.exited ? " (exited)" : "") + ' <span class="rss">RSS anon ' + bytes(pr.rss.anon) + ", file " + bytes(pr.rss.file) + ", swap " + bytes(pr.rss.swap) + "</span></div>");
      if (pr.vmas.length === 0 && !pr.exited) h.push('<p class="note">no VMA</p>');
      var gs = groups(pr);
      for (var g = 0; g < gs.length; g++) {
        var gr = gs[g];
        var kinds = {}, prots = {};
        gr.vmas.forEach(function (e) { kinds[e.vma.kind] = 1; prots[e.vma.prot] = 1; });
        var mapped = gr.vmas.reduce(function (n, e) { return n + e.vma.end - e.vma.start; }, 0);
        h.push('<div class="vma"><div class="vlabel">' + esc(gr.mapping) + " " + esc(Object.keys(kinds).join("/")) + " " + Object.keys(prots).join("/") + " " + hex(gr.start) + "-" + hex(gr.end) + " (" + bytes(mapped) + (gr.vmas.length > 1 ? " in " + gr.vmas.length + " VMAs, " + bytes(gr.end - gr.start - mapped) + " unmapped between" : "") + ")</div>" + strip(gr, si, p + "." + g) + "</div>");
      }
      h.push("</div>");
    }
    h.push("</section>");
    h.push('<section class="folios"><h3>folios</h3>' + foliosHtml(s) + "</section>");
    h.push('<section class="dsq"><h3>deferred split queue: <span class="dsq-count">' + s.deferred.count + "</span></h3>" + (s.deferred.count ? "<p>" + s.deferred.folios.map(function (f) { return '<span class="swatch" style="background:' + folioColour(f) + '"></span>pfn ' + f; }).join(", ") + (s.deferred.count > s.deferred.folios.length ? ", ..." : "") + "</p>" : "") + "</section>");
    h.push('<section class="gather-s"><h3>mmu_gather during this op</h3>' + gatherHtml(s) + "</section>");
    h.push('<section class="ctr"><h3>what changed</h3>' + countersHtml(s) + "</section>");
    if (st.error && st.error.step === i + 1) h.push('<p class="failed">next op FAILED: ' + esc(st.error.kind) + ": " + esc(st.error.message) + "</p>");
    return h.join("");
  }

  function render() {
    var i = state.step;
    document.body.dataset.step = String(i);
    document.getElementById("slider").value = String(i);
    var op = T.ops[i];
    document.getElementById("oplabel").innerHTML = "step " + i + " of " + (N - 1) + ", after " + (op.from === op.to ? "op " + op.to : "ops " + op.from + "-" + op.to) + " of " + T.opCount + ": <code>" + esc(op.text) + "</code>" + (op.measured ? ' <span class="measured">measured</span>' : "");
    var cols = document.getElementById("cols");
    cols.style.gridTemplateColumns = "repeat(" + T.strategies.length + ", minmax(0, 1fr))";
    cols.innerHTML = T.strategies.map(function (st, si) { return '<div class="col" data-strategy="' + esc(st.name) + '">' + columnHtml(st, si) + "</div>"; }).join("");
    var items = document.querySelectorAll("#oplist li");
    for (var k = 0; k < items.length; k++) items[k].classList.toggle("current", k === i);
    var cur = items[i];
    if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
    document.getElementById("zoomlabel").textContent = state.hi - state.lo < 1 ? "zoom " + Math.round(1 / (state.hi - state.lo)) + "x at " + Math.round(state.lo * 100) + "%" : "whole VMA";
  }

  function go(i) { state.step = Math.max(0, Math.min(N - 1, i)); render(); }
  function zoom(f, centre) {
    var span = state.hi - state.lo;
    var c = centre === undefined ? state.lo + span / 2 : centre;
    var ns = Math.min(1, Math.max(1 / 65536, span / f));
    var lo = Math.max(0, Math.min(1 - ns, c - ns / 2));
    state.lo = lo; state.hi = lo + ns; render();
  }
  function pan(d) {
    var span = state.hi - state.lo;
    var lo = Math.max(0, Math.min(1 - span, state.lo + d * span / 2));
    state.lo = lo; state.hi = lo + span; render();
  }
  function nextDiff(from) {
    for (var i = from + 1; i < N; i++) if ((T.differences[i] || []).length) return i;
    return -1;
  }

  // static parts
  var list = document.getElementById("oplist");
  list.innerHTML = T.ops.map(function (op, i) {
    var d = (T.differences[i] || []).length;
    return '<li data-step="' + i + '" class="' + (d ? "differs" : "") + (i === T.firstDifference ? " first" : "") + '" title="' + esc(op.text + (d ? "; differs: " + T.differences[i].join(", ") : "")) + '"><span class="idx">' + (op.from === op.to ? op.from : op.from + "-" + op.to) + "</span> " + (op.measured ? "* " : "") + esc(op.text) + (d ? ' <span class="mark">' + (i === T.firstDifference ? "first difference" : "differs") + "</span>" : "") + "</li>";
  }).join("");
  list.addEventListener("click", function (e) {
    var li = e.target.closest("li");
    if (li) go(Number(li.dataset.step));
  });
  var slider = document.getElementById("slider");
  slider.max = String(N - 1);
  slider.addEventListener("input", function () { go(Number(slider.value)); });
  var ticks = document.getElementById("ticks");
  ticks.innerHTML = T.differences.map(function (d, i) {
    if (!d.length) return "";
    return '<span class="tick' + (i === T.firstDifference ? " first" : "") + '" style="left:' + (N > 1 ? (i / (N - 1)) * 100 : 0) + '%" title="op ' + i + '"></span>';
  }).join("");
  document.getElementById("prev").onclick = function () { go(state.step - 1); };
  document.getElementById("next").onclick = function () { go(state.step + 1); };
  var fd = document.getElementById("firstdiff");
  if (T.firstDifference === null) { fd.disabled = true; fd.textContent = T.strategies.length > 1 ? "no difference" : "one strategy"; }
  else fd.onclick = function () { go(T.firstDifference); };
  document.getElementById("zin").onclick = function () { zoom(2); };
  document.getElementById("zout").onclick = function () { zoom(0.5); };
  document.getElementById("zreset").onclick = function () { state.lo = 0; state.hi = 1; render(); };
  document.getElementById("cols").addEventListener("click", function (e) {
    var r = e.target.closest("rect.run");
    if (r) {
      if (e.shiftKey) {
        var svg = r.ownerSVGElement, box = svg.getBoundingClientRect();
        zoom(4, state.lo + ((e.clientX - box.left) / box.width) * (state.hi - state.lo));
        return;
      }
      var f = Number(r.dataset.folio);
      state.folio = f >= 0 && state.folio !== f ? f : null;
      render();
      return;
    }
    var tr = e.target.closest("tr.folio");
    if (tr) { var p = Number(tr.dataset.pfn); state.folio = state.folio === p ? null : p; render(); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "INPUT" && e.target.type !== "range") return;
    var k = e.key, handled = true;
    if (k === "ArrowRight" || k === "j" || k === " ") go(state.step + 1);
    else if (k === "ArrowLeft" || k === "k") go(state.step - 1);
    else if (k === "Home") go(0);
    else if (k === "End") go(N - 1);
    else if (k === "d") { if (T.firstDifference !== null) go(T.firstDifference); }
    else if (k === "n") { var n = nextDiff(state.step); if (n >= 0) go(n); }
    else if (k === "+" || k === "=") zoom(2);
    else if (k === "-") zoom(0.5);
    else if (k === "0") { state.lo = 0; state.hi = 1; render(); }
    else if (k === "[") pan(-1);
    else if (k === "]") pan(1);
    else handled = false;
    if (handled) e.preventDefault();
  });
  window.foliolabView = { trace: T, go: go, zoom: zoom, state: state };
  go(0);
  document.body.dataset.ready = "1";
})();
`;
