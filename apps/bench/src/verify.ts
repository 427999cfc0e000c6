/**
 * Verifying a benchmark cell: the measured run itself must end in the same observable state
 * (core's observe(): what every process reads and how it is mapped, folios by order, free
 * pages, the anon counters) as per-page's run of the same workload at the same size. The
 * worker hands back a digest of that state; only when two digests differ is the state
 * computed again on both sides to name the first difference.
 */

import { createHash } from "node:crypto";
import type { ObservableState } from "@foliolab/core";

/** What a cell's measured run ended with, compact enough to send between processes. */
export interface ObservedSummary {
  /** sha1 of the canonical JSON of observe() at the end of the measured run. */
  digest: string;
  freePages: number;
  anonPages: number;
}

export function summarizeObserved(o: ObservableState): ObservedSummary {
  return { digest: createHash("sha1").update(JSON.stringify(o)).digest("hex"), freePages: o.freePages, anonPages: o.anonPages };
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
