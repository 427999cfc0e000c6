/**
 * Verifying a benchmark cell: the measured run itself must end in the same observable state
 * (core's observe(): what every process reads and how it is mapped, folios by order, free
 * pages, the anon counters) as per-page's run of the same workload at the same size. The
 * worker hands back core's observeDigest() of that state; only when two digests differ is the
 * state observed again on both sides to name the first difference.
 */

import { type Kernel, type ObservableState, observeDigest, observedFreePages } from "@foliolab/core";

/** What a cell's measured run ended with, compact enough to send between processes. */
export interface ObservedSummary {
  /** core's observeDigest(): observe() at the end of the measured run, in 16 hex digits. */
  digest: string;
  freePages: number;
  anonPages: number;
  /** The kernel-visible counter deltas of the measured phase, flattened ("vmstat.x", "mthp.<dir>.x"), non-zero only. */
  counters: Record<string, number>;
  /**
   * Change over the measured phase of the pages in the lru_lazyfree batch, which pglazyfree
   * counts only when the batch moves (v6.5's free path drains it at every free, 6.18's does
   * not): strategies are compared on pglazyfree plus this.
   */
  lazyfreePending?: number;
}

/** Flatten measured-phase counter deltas. */
export function flattenCounters(
  vmstat: Record<string, number>,
  mthp: Record<string, Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(vmstat)) if (v !== 0) out[`vmstat.${k}`] = v;
  for (const [dir, row] of Object.entries(mthp))
    for (const [k, v] of Object.entries(row)) if (v !== 0) out[`mthp.${dir}.${k}`] = v;
  return out;
}

export function summarizeKernel(k: Kernel, counters: Record<string, number>, lazyfreePending = 0): ObservedSummary {
  return {
    digest: observeDigest(k),
    freePages: observedFreePages(k),
    anonPages: k.stats.nrAnonMapped,
    counters,
    lazyfreePending,
  };
}

/**
 * Counters a batching strategy may count lower than per-page, never higher (as the conformance
 * kit rules): the cumulative deferred-split counts, split_failed, and the
 * nr_anon_partially_mapped gauge while another process keeps a folio alive.
 */
const MAY_BE_LOWER = /(^vmstat\.thp_deferred_split_page$)|(\.split_deferred$)|(\.split_failed$)|(\.nr_anon_partially_mapped$)/;

/** The first counter of the measured phase that differs from per-page's beyond the rules, or undefined. */
export function counterDifference(ref: ObservedSummary, got: ObservedSummary, strategy: string): string | undefined {
  for (const key of [...new Set([...Object.keys(ref.counters), ...Object.keys(got.counters), "vmstat.pglazyfree"])].sort()) {
    let r = ref.counters[key] ?? 0;
    let g = got.counters[key] ?? 0;
    if (key === "vmstat.pglazyfree") {
      // Counted when the lru_lazyfree batch moves, which depends on the free path: compare the
      // pages MADV_FREE marked (counted plus still in the batch).
      r += ref.lazyfreePending ?? 0;
      g += got.lazyfreePending ?? 0;
      if (r !== g)
        return `${key} (counted plus still in the lru_lazyfree batch) over the measured phase: per-page ${r}, ${strategy} ${g}`;
      continue;
    }
    if (MAY_BE_LOWER.test(key) ? g > r : g !== r) {
      return `${key} over the measured phase: per-page ${r}, ${strategy} ${g}${MAY_BE_LOWER.test(key) ? " (may be lower than per-page's, never higher)" : ""}`;
    }
  }
  return undefined;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "missing" : s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * The first place two observable states differ, as "path: per-page X, strategy Y"
 * (undefined when they are equal). Free pages are looked at first: a strategy that never
 * drops its references is named by what it leaks.
 */
export function firstDifference(ref: ObservableState, got: ObservableState, strategy: string): string | undefined {
  if (ref.freePages !== got.freePages) {
    const d = ref.freePages - got.freePages;
    return `freePages: per-page ends with ${ref.freePages} free pages, ${strategy} with ${got.freePages} (${d > 0 ? `${d} pages not freed` : `${-d} pages too many freed`})`;
  }
  const walk = (a: unknown, b: unknown, path: string): string | undefined => {
    if (a === b) return undefined;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
      return `${path}: per-page ${show(a)}, ${strategy} ${show(b)}`;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return `${path}.length: per-page ${a.length}, ${strategy} ${b.length}`;
      for (let i = 0; i < a.length; i++) {
        const d = walk(a[i], b[i], `${path}[${i}]`);
        if (d) return d;
      }
      return undefined;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      const d = walk(ao[k], bo[k], path === "" ? k : `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  };
  return walk(ref, got, "");
}
