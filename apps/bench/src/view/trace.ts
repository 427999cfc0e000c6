/**
 * The data behind `foliolab view`: a scenario run op by op under one or more strategies, the
 * model's state captured after every op through the public API (runScenarioDetailed's onOp hook,
 * the folio accessors, the page tables' readPte), and what the mmu_gather did during each op
 * recorded by wrapping the strategy (every zapPresentPtes batch, every releaseGathered of a
 * flush). Nothing here changes what the model does: the wrapper forwards every call.
 *
 * Large regions are aggregated: a VMA whose PTE runs exceed RUN_BUDGET is drawn in blocks of a
 * power-of-two number of pages, each block summarised (present/swap/none, folios, write and
 * dirty fractions); folios are listed one by one up to FOLIO_LIST_CAP and otherwise as classes
 * of identical state.
 */

import {
  COST_EVENT_KEYS,
  createKernel,
  InvariantViolation,
  type Kernel,
  parseSize,
  runScenarioDetailed,
  type Scenario,
  ScenarioError,
  StrategyError,
  snapshotCounters,
  validateScenario,
  type ZapStrategy,
} from "@foliolab/core";
import { HUGE_ZERO_PFN, type MmStruct, strategyHooks, VM, ZERO_PFN } from "@foliolab/core/internals";
import {
  folioEntireMapcount,
  folioMapcount,
  folioNrPagesMapped,
  folioOrder,
  folioRefCount,
  folioTestAnon,
  folioTestFlag,
  folioTestLazyfree,
  type MmuGather,
  PG,
  PTE,
  PTRS_PER_PTE,
  pageFolio,
  ptePfn,
} from "@foliolab/core/strategy";

/** Runs per VMA before it is drawn in blocks. */
export const RUN_BUDGET = 4096;
/** Blocks per VMA at most, when aggregated. */
export const BLOCK_BUDGET = 2048;
/** Folios listed one by one per step at most (more: classes only). */
export const FOLIO_LIST_CAP = 512;
/** Gather entries per step at most. */
export const GATHER_EVENT_CAP = 400;
/** Flushes kept per step at most (on top of GATHER_EVENT_CAP). */
export const FLUSH_CAP = 256;
/** Deferred-split queue members listed per step at most. */
export const DEFERRED_LIST_CAP = 64;
/**
 * Steps x mapped pages the trace may visit. Above it, consecutive ops of the same kind (and
 * measured or not alike) become one step: the 512 mprotects that split a 1G region's PMDs are
 * one step, the state after the last of them.
 */
export const PAGE_VISIT_BUDGET = 48 * 1024 * 1024;

/**
 * One run of pages of a VMA, [start, n, kind, folio, order, write, dirty, folios]: start and n
 * in units of the layout's `block` pages; kind P present, S swap, N none, M PMD-mapped, Z zero
 * page, X mixed (blocks only); folio = head pfn or -1 when several; write and dirty = fraction
 * of the run's pages with the bit (0..1); folios = distinct folios in one unit.
 */
export type Run = [number, number, string, number, number, number, number, number];

export interface Layout {
  pages: number;
  /** Pages per unit: 1 when every page is drawn, else a power of two (aggregated). */
  block: number;
  runs: Run[];
}

/** [pfn, order, mapcount, refcount, _nr_pages_mapped, entire mapcount, flags]; flags: A anon, P partially mapped, D deferred split, S swapcache, L lazyfree, d dirty. */
export type FolioRec = [number, number, number, number, number, number, string];

export interface FolioClass {
  order: number;
  mapcount: number;
  refcount: number;
  nrPagesMapped: number;
  entire: number;
  flags: string;
  count: number;
  /** The first few head pfns. */
  sample: number[];
}

export type GatherEvent =
  | { t: "zap"; proc: string; vpn: number; calls: number; nr: number; pages: number }
  | { t: "table"; proc: string; vpn: number; count: number }
  | { t: "rmaps"; count: number }
  | {
      t: "flush";
      n: number;
      proc: string;
      fullmm: boolean;
      noGather: boolean;
      batches: Array<{ items: number; pages: number }>;
      items: number;
      pages: number;
      folios: number;
      /** The first items: [pfn, nr, flags] with flags r (delayed rmap), 2 (nr in the next entry), H (PMD). */
      sample: Array<[number, number, string]>;
    };

export interface VmaView {
  start: number;
  end: number;
  kind: string;
  prot: string;
  mapping: string;
  /** Index into ViewTrace.layouts. */
  layout: number;
}

export interface GatherTotals {
  tables: number;
  zapCalls: number;
  zapPages: number;
  /** zap_present_ptes calls by the number of PTEs each consumed. */
  bySize: Record<string, number>;
  rmaps: number;
  flushes: number;
  items: number;
  pages: number;
}

function emptyTotals(): GatherTotals {
  return { tables: 0, zapCalls: 0, zapPages: 0, bySize: {}, rmaps: 0, flushes: 0, items: 0, pages: 0 };
}

interface Sink {
  events: GatherEvent[];
  dropped: number;
  flushes: number;
  totals: GatherTotals;
}

export interface ProcView {
  name: string;
  exited: boolean;
  rss: { anon: number; file: number; swap: number };
  /** Indices into ViewTrace.vmas. */
  vmas: number[];
}

export interface Step {
  procs: ProcView[];
  /** list: indices into ViewTrace.folios (null: more than FOLIO_LIST_CAP, classes only). */
  folios: { total: number; classes: FolioClass[]; list: number[] | null };
  deferred: { count: number; folios: number[] };
  gather: GatherEvent[];
  gatherDropped: number;
  /** Totals of the op's gather activity (every event, also those past GATHER_EVENT_CAP). */
  gatherTotals: GatherTotals;
  /** Counters that changed over the op: [name, before, after]. */
  counters: Array<[string, number, number]>;
  /** Cost events of the op (non-zero). */
  costs: Array<[string, number]>;
  /** What happened, in words: the zap, folios mapped, unmapped, partially mapped, queued for split. */
  story: string[];
}

export interface StrategyTrace {
  name: string;
  description: string;
  steps: Step[];
  /** The op that threw, and why (the trace stops there). */
  error?: { step: number; kind: string; message: string };
}

export interface ViewTrace {
  schema: "foliolab-view";
  version: 1;
  title: string;
  source: string;
  /** The steps: op indices from..to (one op, or a group of alike ops in big scenarios); the state is after op `to`. */
  ops: Array<{ from: number; to: number; text: string; op: string; measured: boolean }>;
  /** Ops in the scenario. */
  opCount: number;
  /** The virtual page range drawn (--range), or null for everything. */
  range: [number, number] | null;
  strategies: StrategyTrace[];
  layouts: Layout[];
  vmas: VmaView[];
  folios: FolioRec[];
  /** Per step, with two or more strategies: what differs ("cost events", "gather", "page tables", ...). */
  differences: string[][];
  firstDifference: number | null;
}

function opText(op: Record<string, unknown>): string {
  const parts = [String(op.op)];
  for (const [k, v] of Object.entries(op)) {
    if (k === "op") continue;
    parts.push(`${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(" ");
}

interface PageInfo {
  kind: string;
  folio: number;
  order: number;
  write: boolean;
  dirty: boolean;
}

function pageAt(k: Kernel, pgt: MmStruct, vpn: number): PageInfo {
  const huge = pgt.pgtables.hugePmd.get(Math.floor(vpn / PTRS_PER_PTE));
  if (huge !== undefined) {
    const pfn = ptePfn(huge);
    if (pfn === HUGE_ZERO_PFN) return { kind: "Z", folio: -1, order: 9, write: false, dirty: false };
    return {
      kind: "M",
      folio: pfn,
      order: folioOrder(k, pfn),
      write: (huge & PTE.write) !== 0,
      dirty: (huge & PTE.dirty) !== 0,
    };
  }
  const pte = pgt.pgtables.readPte(vpn);
  if (pte === 0) return { kind: "N", folio: -1, order: -1, write: false, dirty: false };
  if ((pte & PTE.present) === 0) return { kind: "S", folio: -1, order: -1, write: false, dirty: false };
  const pfn = ptePfn(pte);
  if (pfn === ZERO_PFN || folioTestFlag(k, pageFolio(k, pfn), PG.reserved))
    return { kind: "Z", folio: -1, order: 0, write: false, dirty: false };
  const folio = pageFolio(k, pfn);
  return { kind: "P", folio, order: folioOrder(k, folio), write: (pte & PTE.write) !== 0, dirty: (pte & PTE.dirty) !== 0 };
}

function vmaLayout(k: Kernel, mm: MmStruct, start: number, end: number, folios: Set<number>): Layout {
  const pages = end - start;
  const kind: string[] = new Array(pages);
  const folio = new Int32Array(pages);
  const order = new Int8Array(pages);
  const bits = new Uint8Array(pages);
  for (let i = 0; i < pages; i++) {
    const p = pageAt(k, mm, start + i);
    kind[i] = p.kind;
    folio[i] = p.folio;
    order[i] = p.order;
    bits[i] = (p.write ? 1 : 0) | (p.dirty ? 2 : 0);
    if (p.folio >= 0) folios.add(p.folio);
  }
  const runs: Run[] = [];
  let exact = true;
  for (let i = 0; i < pages; i++) {
    const last = runs[runs.length - 1];
    const w = (bits[i] as number) & 1;
    const d = (bits[i] as number) >> 1;
    if (last && last[2] === kind[i] && last[3] === folio[i] && last[4] === order[i] && last[5] === w && last[6] === d) last[1]++;
    else {
      if (runs.length >= RUN_BUDGET) {
        exact = false;
        break;
      }
      runs.push([i, 1, kind[i] as string, folio[i] as number, order[i] as number, w, d, (folio[i] as number) >= 0 ? 1 : 0]);
    }
  }
  if (exact) return { pages, block: 1, runs };
  let block = 1;
  while (Math.ceil(pages / block) > BLOCK_BUDGET) block *= 2;
  const blocks: Run[] = [];
  for (let b = 0; b * block < pages; b++) {
    const kinds = new Set<string>();
    const fs = new Set<number>();
    let w = 0;
    let d = 0;
    let ord = -1;
    const lo = b * block;
    const hi = Math.min(pages, lo + block);
    for (let i = lo; i < hi; i++) {
      kinds.add(kind[i] as string);
      if ((folio[i] as number) >= 0) fs.add(folio[i] as number);
      w += (bits[i] as number) & 1;
      d += (bits[i] as number) >> 1;
      ord = Math.max(ord, order[i] as number);
    }
    const n = hi - lo;
    const k1 = kinds.size === 1 ? ([...kinds][0] as string) : "X";
    const f1 = fs.size === 1 ? ([...fs][0] as number) : -1;
    const wf = Math.round((w / n) * 100) / 100;
    const df = Math.round((d / n) * 100) / 100;
    const last = blocks[blocks.length - 1];
    // Merge identical blocks (a block of one folio only with more of the same folio).
    if (last && last[2] === k1 && last[3] === f1 && last[4] === ord && last[5] === wf && last[6] === df && last[7] === fs.size)
      last[1]++;
    else blocks.push([b, 1, k1, f1, ord, wf, df, fs.size]);
  }
  return { pages, block, runs: blocks };
}

function folioRec(k: Kernel, f: number): FolioRec {
  let flags = "";
  if (folioTestAnon(k, f)) flags += "A";
  if (folioTestFlag(k, f, PG.partiallyMapped)) flags += "P";
  if (folioTestFlag(k, f, PG.deferredList) || k.deferredSplitQueue.has(f)) flags += "D";
  if (folioTestFlag(k, f, PG.swapcache)) flags += "S";
  if (folioTestLazyfree(k, f)) flags += "L";
  if (folioTestFlag(k, f, PG.dirty)) flags += "d";
  const order = folioOrder(k, f);
  return [
    f,
    order,
    folioMapcount(k, f),
    folioRefCount(k, f),
    order > 0 ? folioNrPagesMapped(k, f) : 0,
    order > 0 ? folioEntireMapcount(k, f) : 0,
    flags,
  ];
}

function flattenCounters(k: Kernel): Map<string, number> {
  const c = snapshotCounters(k, new Map());
  const out = new Map<string, number>();
  const walk = (prefix: string, o: unknown) => {
    if (typeof o === "number") out.set(prefix, o);
    else if (o && typeof o === "object") for (const [key, v] of Object.entries(o)) walk(prefix ? `${prefix}.${key}` : key, v);
  };
  walk("", { ...c, costs: undefined });
  return out;
}

/** Forwards every call to `inner`, recording the gather's batches and flushes into `sink`. */
function recordingStrategy(inner: ZapStrategy, sink: Sink): ZapStrategy {
  // Flushes are kept up to their own cap, so a long zap still shows every flush's content.
  let kept = 0;
  const push = (e: GatherEvent) => {
    if (sink.events.length === 0) kept = 0;
    const cap = e.t === "flush" ? GATHER_EVENT_CAP + FLUSH_CAP : GATHER_EVENT_CAP;
    if (e.t !== "flush" && kept >= GATHER_EVENT_CAP) sink.dropped++;
    else if (sink.events.length < cap) {
      sink.events.push(e);
      if (e.t !== "flush") kept++;
    } else sink.dropped++;
  };
  const last = () => sink.events[sink.events.length - 1];
  const hooks = strategyHooks(inner);
  const s: ZapStrategy = {
    name: inner.name,
    ...(inner.description !== undefined ? { description: inner.description } : {}),
    ...(inner.gather !== undefined ? { gather: inner.gather } : {}),
    ...(inner.gatherState ? { gatherState: inner.gatherState.bind(inner) } : {}),
    zapPresentPtes(z, max) {
      const nr = hooks.zapPresentPtes(z, max);
      const vpn = z.vpn(z.index);
      sink.totals.zapCalls++;
      sink.totals.zapPages += nr;
      sink.totals.bySize[nr] = (sink.totals.bySize[nr] ?? 0) + 1;
      const l = last();
      if (l && l.t === "zap" && l.proc === z.mm.name && l.nr === nr && l.vpn + l.pages === vpn) {
        l.calls++;
        l.pages += nr;
      } else push({ t: "zap", proc: z.mm.name, vpn, calls: 1, nr, pages: nr });
      return nr;
    },
    releaseGathered(tlb: MmuGather, from: number, to: number) {
      let pages = 0;
      const heads = new Set<number>();
      const sample: Array<[number, number, string]> = [];
      for (let i = from; i < to; i++) {
        const pfn = tlb.itemPfn[i] as number;
        const nr = tlb.itemNr[i] as number;
        const fl = tlb.itemFlags[i] as number;
        pages += Math.max(1, nr);
        heads.add(pageFolio(tlb.k, pfn));
        if (sample.length < 8) sample.push([pfn, nr, `${fl & 1 ? "r" : ""}${fl & 2 ? "2" : ""}${fl & 4 ? "H" : ""}`]);
      }
      const l = last();
      const noGather = tlb.k.noGather;
      sink.totals.items += to - from;
      sink.totals.pages += pages;
      if (noGather ? !(l && l.t === "flush" && l.noGather) : from === 0) sink.totals.flushes++;
      if (!noGather && from > 0 && l && l.t === "flush" && !l.noGather) {
        l.batches.push({ items: to - from, pages });
        l.items += to - from;
        l.pages += pages;
        l.folios += heads.size;
      } else if (noGather && l && l.t === "flush" && l.noGather) {
        l.items += to - from;
        l.pages += pages;
        l.folios += heads.size;
        if (l.sample.length < 8) l.sample.push(...sample.slice(0, 8 - l.sample.length));
      } else {
        sink.flushes++;
        push({
          t: "flush",
          n: sink.flushes,
          proc: tlb.mm.name,
          fullmm: tlb.fullmm,
          noGather,
          batches: [{ items: to - from, pages }],
          items: to - from,
          pages,
          folios: heads.size,
          sample,
        });
      }
      hooks.releaseGathered(tlb, from, to);
    },
  };
  if (inner.startPteTable) {
    const f = inner.startPteTable.bind(inner);
    s.startPteTable = (z) => {
      sink.totals.tables++;
      const l = last();
      if (l && l.t === "table" && l.proc === z.mm.name) l.count++;
      else push({ t: "table", proc: z.mm.name, vpn: z.vpnBase, count: 1 });
      f(z);
    };
  }
  if (inner.flushRmaps) {
    const f = inner.flushRmaps.bind(inner);
    s.flushRmaps = (z) => {
      sink.totals.rmaps++;
      const l = last();
      if (l && l.t === "rmaps") l.count++;
      else push({ t: "rmaps", count: 1 });
      f(z);
    };
  }
  if (inner.reclaimUnmapBatch) s.reclaimUnmapBatch = inner.reclaimUnmapBatch.bind(inner);
  return s;
}

class LayoutTable {
  readonly layouts: Layout[] = [];
  readonly vmas: VmaView[] = [];
  readonly folios: FolioRec[] = [];
  private readonly folioIndex = new Map<string, number>();
  addFolio(f: FolioRec): number {
    const key = f.join(",");
    let i = this.folioIndex.get(key);
    if (i === undefined) {
      i = this.folios.length;
      this.folios.push(f);
      this.folioIndex.set(key, i);
    }
    return i;
  }
  private readonly index = new Map<string, number>();
  private readonly vmaIndex = new Map<string, number>();
  addVma(v: VmaView): number {
    const key = JSON.stringify(v);
    let i = this.vmaIndex.get(key);
    if (i === undefined) {
      i = this.vmas.length;
      this.vmas.push(v);
      this.vmaIndex.set(key, i);
    }
    return i;
  }
  add(l: Layout): number {
    const key = JSON.stringify(l);
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.layouts.length;
      this.layouts.push(l);
      this.index.set(key, i);
    }
    return i;
  }
}

function protOf(flags: number): string {
  return `${flags & VM.read ? "r" : "-"}${flags & VM.write ? "w" : "-"}${flags & VM.shared ? "s" : "p"}`;
}

interface Before {
  counters: Map<string, number>;
  costs: Float64Array;
  folios: Map<number, FolioRec>;
}

function sizeName(order: number): string {
  const kb = 4 << order;
  return kb >= 1024 ? `${kb / 1024}M` : `${kb}K`;
}

function some(pfns: number[]): string {
  return pfns.length <= 3 ? pfns.join(", ") : `${pfns.slice(0, 3).join(", ")}, ...`;
}

/** The step in words, from the previous state to this one. */
function story(
  prev: Map<number, FolioRec>,
  cur: Map<number, FolioRec>,
  t: GatherTotals,
  changed: Array<[string, number, number]>,
  costs: Array<[string, number]>,
): string[] {
  const out: string[] = [];
  if (t.zapCalls > 0) {
    const sizes = Object.entries(t.bySize)
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([nr, c]) => `${c} x ${nr}`)
      .join(", ");
    out.push(
      `zapped ${t.zapPages} present PTE${t.zapPages === 1 ? "" : "s"} in ${t.zapCalls} zap_present_ptes batch${t.zapCalls === 1 ? "" : "es"} (${sizes} PTEs)${t.tables ? ` over ${t.tables} PTE table${t.tables === 1 ? "" : "s"}` : ""}; the mmu_gather was flushed ${t.flushes} time${t.flushes === 1 ? "" : "s"}, releasing ${t.items} item${t.items === 1 ? "" : "s"} (${t.pages} pages)`,
    );
  }
  const cleared = costs.find(([k]) => k === "pte_clear")?.[1] ?? 0;
  if (cleared > t.zapPages && t.tables + t.zapCalls + t.rmaps > 0)
    out.push(
      `cleared ${cleared - t.zapPages} non-present PTE${cleared - t.zapPages === 1 ? "" : "s"} (swap entries and the like: core's walk handles those, not the strategy)`,
    );
  const byOrder = (pfns: number[], m: Map<number, FolioRec>) => {
    const c = new Map<number, number>();
    for (const p of pfns) {
      const o = (m.get(p) as FolioRec)[1];
      c.set(o, (c.get(o) ?? 0) + 1);
    }
    return [...c]
      .sort((a, b) => b[0] - a[0])
      .map(([o, n]) => `${n} of ${sizeName(o)}`)
      .join(", ");
  };
  const added = [...cur.keys()].filter((p) => !prev.has(p));
  const gone = [...prev.keys()].filter((p) => !cur.has(p));
  if (added.length) out.push(`${added.length} folio${added.length === 1 ? "" : "s"} newly mapped (${byOrder(added, cur)})`);
  if (gone.length)
    out.push(
      `${gone.length} folio${gone.length === 1 ? "" : "s"} no longer mapped (${byOrder(gone, prev)}): freed, or held only by the swap cache`,
    );
  const flag = (m: Map<number, FolioRec>, p: number, f: string) => (m.get(p)?.[6] ?? "").includes(f);
  const kept = [...cur.keys()].filter((p) => prev.has(p));
  const fewer = kept.filter((p) => (cur.get(p) as FolioRec)[2] < (prev.get(p) as FolioRec)[2]);
  const more = kept.filter((p) => (cur.get(p) as FolioRec)[2] > (prev.get(p) as FolioRec)[2]);
  const ex = (p: number) => `pfn ${p}: ${(prev.get(p) as FolioRec)[2]} -> ${(cur.get(p) as FolioRec)[2]}`;
  if (fewer.length)
    out.push(
      `${fewer.length} folio${fewer.length === 1 ? "" : "s"} lost mappings (mapcount ${ex(fewer[0] as number)}${fewer.length > 1 ? ", ..." : ""})`,
    );
  if (more.length)
    out.push(
      `${more.length} folio${more.length === 1 ? "" : "s"} gained mappings (mapcount ${ex(more[0] as number)}${more.length > 1 ? ", ..." : ""})`,
    );
  const partial = [...cur.keys()].filter((p) => flag(cur, p, "P") && !flag(prev, p, "P"));
  if (partial.length)
    out.push(
      `${partial.length} folio${partial.length === 1 ? " became" : "s became"} partially mapped (PG_partially_mapped: pfn ${some(partial)})`,
    );
  const queued = [...cur.keys()].filter((p) => flag(cur, p, "D") && !flag(prev, p, "D"));
  if (queued.length)
    out.push(`${queued.length} folio${queued.length === 1 ? "" : "s"} joined the deferred split queue (pfn ${some(queued)})`);
  const left = [...prev.keys()].filter((p) => flag(prev, p, "D") && !flag(cur, p, "D"));
  if (left.length)
    out.push(`${left.length} folio${left.length === 1 ? "" : "s"} left the deferred split queue (pfn ${some(left)})`);
  const enq = costs.find(([k]) => k === "deferred_split_enqueue")?.[1] ?? 0;
  if (enq > queued.length)
    out.push(
      `deferred_split_enqueue ${enq} during the op: ${enq - queued.length} folio${enq - queued.length === 1 ? " was" : "s were"} queued for deferred split and taken off again before the op ended (split-queue lock each time)`,
    );
  for (const [name, a, b] of changed) {
    if (/\.(split_deferred|split|split_failed|swpout|swpin)$/.test(name) || name.endsWith("thp_deferred_split_page"))
      out.push(`${name} ${b > a ? "+" : ""}${b - a}`);
  }
  return out;
}

function captureStep(k: Kernel, table: LayoutTable, sink: Sink, before: Before, range: [number, number] | undefined): Step {
  const procs: ProcView[] = [];
  const folios = new Set<number>();
  for (const [name, mm] of k.procs) {
    const vmas: ProcView["vmas"] = [];
    if (!mm.exited) {
      for (const vma of mm.vmas) {
        // With a range, only the part of each VMA inside it is drawn (at full resolution when small).
        const start = range ? Math.max(vma.start, range[0]) : vma.start;
        const end = range ? Math.min(vma.end, range[1]) : vma.end;
        if (end <= start) continue;
        const layout = vmaLayout(k, mm, start, end, folios);
        vmas.push(
          table.addVma({
            start,
            end,
            kind: vma.kind,
            prot: protOf(vma.flags),
            mapping: vma.mapping,
            layout: table.add(layout),
          }),
        );
      }
    }
    procs.push({
      name,
      exited: mm.exited,
      rss: { anon: mm.rss[1] as number, file: mm.rss[0] as number, swap: mm.rss[2] as number },
      vmas,
    });
  }
  for (const f of k.deferredSplitQueue) folios.add(f);
  const recs = [...folios].sort((a, b) => a - b).map((f) => folioRec(k, f));
  const classes = new Map<string, FolioClass>();
  for (const r of recs) {
    const key = `${r[1]}|${r[2]}|${r[3]}|${r[4]}|${r[5]}|${r[6]}`;
    const c = classes.get(key);
    if (c) {
      c.count++;
      if (c.sample.length < 4) c.sample.push(r[0]);
    } else
      classes.set(key, {
        order: r[1],
        mapcount: r[2],
        refcount: r[3],
        nrPagesMapped: r[4],
        entire: r[5],
        flags: r[6],
        count: 1,
        sample: [r[0]],
      });
  }
  const queue = [...k.deferredSplitQueue].sort((a, b) => a - b);
  const counters = flattenCounters(k);
  const changed: Array<[string, number, number]> = [];
  for (const [name, v] of counters) {
    const b = before.counters.get(name) ?? 0;
    if (b !== v) changed.push([name, b, v]);
  }
  const costs: Array<[string, number]> = [];
  COST_EVENT_KEYS.forEach((key, i) => {
    const d = (k.costs[i] as number) - (before.costs[i] as number);
    if (d !== 0) costs.push([key, d]);
  });
  const curFolios = new Map(recs.map((r) => [r[0], r]));
  const told = story(before.folios, curFolios, sink.totals, changed, costs);
  before.counters = counters;
  before.costs = Float64Array.from(k.costs);
  before.folios = curFolios;
  const step: Step = {
    procs,
    folios: {
      total: recs.length,
      classes: [...classes.values()].sort((a, b) => b.order - a.order || b.count - a.count),
      list: recs.length <= FOLIO_LIST_CAP ? recs.map((r) => table.addFolio(r)) : null,
    },
    deferred: { count: queue.length, folios: queue.slice(0, DEFERRED_LIST_CAP) },
    gather: sink.events,
    gatherDropped: sink.dropped,
    gatherTotals: sink.totals,
    counters: changed,
    costs,
    story: told,
  };
  sink.events = [];
  sink.dropped = 0;
  sink.totals = emptyTotals();
  return step;
}

function traceStrategy(
  scenario: Scenario,
  strategy: ZapStrategy,
  table: LayoutTable,
  groups: Array<{ from: number; to: number }>,
  range: [number, number] | undefined,
): StrategyTrace {
  const lastOf = new Set(groups.map((g) => g.to));
  let captureError: unknown;
  const sink: Sink = { events: [], dropped: 0, flushes: 0, totals: emptyTotals() };
  const wrapped = recordingStrategy(strategy, sink);
  const k0 = createKernel(scenario, { strategy: wrapped });
  const before: Before = {
    counters: flattenCounters(k0),
    costs: new Float64Array(COST_EVENT_KEYS.length),
    folios: new Map(),
  };
  const steps: Step[] = [];
  const out: StrategyTrace = { name: strategy.name, description: strategy.description ?? "", steps };
  try {
    runScenarioDetailed(scenario, {
      strategy: wrapped,
      onOp: (k, _op, i) => {
        if (!lastOf.has(i)) return;
        try {
          steps.push(captureStep(k, table, sink, before, range));
        } catch (e) {
          // A bug of the view, not of the strategy: let it surface as such.
          captureError = e;
          throw e;
        }
      },
    });
  } catch (e) {
    if (e instanceof ScenarioError || captureError !== undefined) throw e;
    const kind = e instanceof InvariantViolation ? "InvariantViolation" : e instanceof StrategyError ? "StrategyError" : "Error";
    out.error = { step: steps.length, kind, message: (e as Error)?.message ?? String(e) };
  }
  return out;
}

/** The strategy-neutral parts of a step (no pfns: allocations may differ between strategies). */
function stepKeys(s: Step, layouts: Layout[], vmas: VmaView[]): Record<string, string> {
  const neutralRuns = (l: Layout) => l.runs.map((r) => [r[1], r[2], r[4], r[5], r[6], r[7]]);
  const vma = (i: number) => vmas[i] as VmaView;
  return {
    "cost events": JSON.stringify(s.costs),
    mmu_gather: JSON.stringify(
      s.gather.map((g) => (g.t === "flush" ? [g.t, g.items, g.pages, g.batches] : g.t === "zap" ? [g.t, g.calls, g.nr] : [g.t])),
    ),
    "page tables": JSON.stringify(
      s.procs.map((p) => [
        p.name,
        p.exited,
        p.vmas.map((i) => [vma(i).start, vma(i).end, neutralRuns(layouts[vma(i).layout] as Layout)]),
      ]),
    ),
    folios: JSON.stringify(
      s.folios.classes.map((c) => [c.order, c.mapcount, c.refcount, c.nrPagesMapped, c.entire, c.flags, c.count]),
    ),
    "deferred split queue": String(s.deferred.count),
    counters: JSON.stringify(s.counters),
  };
}

/** Mapped pages at most (the sum of the mmaps' sizes). */
function mappedPages(s: Scenario): number {
  let bytes = 0;
  for (const op of s.ops) if (op.op === "mmap") bytes += parseSize(op.size) ?? 0;
  return Math.max(1, bytes / 4096);
}

/** One step per op, or, above PAGE_VISIT_BUDGET, groups of consecutive alike ops. */
export function planSteps(s: Scenario, measured: Set<number>): Array<{ from: number; to: number }> {
  const n = s.ops.length;
  const pages = mappedPages(s);
  const single = s.ops.map((_, i) => ({ from: i, to: i }));
  if (n * pages <= PAGE_VISIT_BUDGET) return single;
  const groups: Array<{ from: number; to: number }> = [];
  for (let i = 0; i < n; i++) {
    const last = groups[groups.length - 1];
    const op = s.ops[i] as { op: string };
    const prev = last ? (s.ops[last.to] as { op: string }) : undefined;
    if (last && prev && prev.op === op.op && measured.has(last.to) === measured.has(i)) last.to = i;
    else groups.push({ from: i, to: i });
  }
  // Still too many (alternating ops): chunks of consecutive groups, measured or not alike.
  const chunk = Math.ceil((groups.length * pages) / PAGE_VISIT_BUDGET);
  if (chunk <= 1) return groups;
  const out: Array<{ from: number; to: number }> = [];
  let taken = 0;
  for (const g of groups) {
    const last = out[out.length - 1];
    if (last && taken < chunk && measured.has(last.to) === measured.has(g.from)) {
      last.to = g.to;
      taken++;
    } else {
      out.push({ ...g });
      taken = 1;
    }
  }
  return out;
}

export interface TraceInput {
  /** Scenario object or JSON text. */
  scenario: unknown;
  title?: string;
  source: string;
  strategies: ZapStrategy[];
  /** Indices of the measured ops (from a workload), if any. */
  measured?: number[];
  /** Only this virtual page range [start, end) of every process: page tables and folios inside it. */
  range?: [number, number];
}

/** Run the scenario under every strategy and capture every step. Throws ScenarioError on bad input. */
export function buildTrace(input: TraceInput): ViewTrace {
  const scenario = validateScenario(input.scenario);
  const table = new LayoutTable();
  const measured = new Set(input.measured ?? []);
  const groups = planSteps(scenario, measured);
  const strategies = input.strategies.map((s) => traceStrategy(scenario, s, table, groups, input.range));
  const differences: string[][] = [];
  let firstDifference: number | null = null;
  if (strategies.length > 1) {
    const [a, ...rest] = strategies as [StrategyTrace, ...StrategyTrace[]];
    for (let i = 0; i < groups.length; i++) {
      const what = new Set<string>();
      const sa = a.steps[i];
      for (const b of rest) {
        const sb = b.steps[i];
        if (!sa || !sb) {
          if (!sa !== !sb) what.add("failed");
          continue;
        }
        const ka = stepKeys(sa, table.layouts, table.vmas);
        const kb = stepKeys(sb, table.layouts, table.vmas);
        for (const key of Object.keys(ka)) if (ka[key] !== kb[key]) what.add(key);
      }
      differences.push([...what]);
      if (what.size > 0 && firstDifference === null) firstDifference = i;
    }
  }
  return {
    schema: "foliolab-view",
    version: 1,
    title: input.title ?? scenario.name,
    source: input.source,
    ops: groups.map((g) => {
      const op = scenario.ops[g.from] as unknown as Record<string, unknown>;
      const n = g.to - g.from + 1;
      const kinds = new Map<string, number>();
      for (let i = g.from; i <= g.to; i++) {
        const name = (scenario.ops[i] as { op: string }).op;
        kinds.set(name, (kinds.get(name) ?? 0) + 1);
      }
      const what = [...kinds].map(([name, c]) => `${name} x ${c}`).join(", ");
      return {
        from: g.from,
        to: g.to,
        text: n === 1 ? opText(op) : `${what} (ops ${g.from}-${g.to}, one step; the first: ${opText(op)})`,
        op: String(op.op),
        measured: measured.has(g.from),
      };
    }),
    opCount: scenario.ops.length,
    range: input.range ?? null,
    strategies,
    layouts: table.layouts,
    vmas: table.vmas,
    folios: table.folios,
    differences,
    firstDifference,
  };
}
