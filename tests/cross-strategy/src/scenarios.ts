/**
 * Scenarios and helpers shared by the cross-strategy tests. Sizes are small (4M..80M) so the
 * whole suite runs in seconds; expected numbers are derived from the kernel rules in the tests.
 */

import { COST_EVENT_KEYS, type Kernel, runScenarioDetailed, type ScenarioResult, type ZapStrategy } from "@foliolab/core";
import batchedAnon from "@foliolab/strategy-batched-anon";
import contigRange from "@foliolab/strategy-contig-range";
import folioBatch from "@foliolab/strategy-folio-batch";
import perPage from "@foliolab/strategy-per-page";

export { batchedAnon, contigRange, folioBatch, perPage };

/** The three batching strategies with their default options. */
export const BATCHING: readonly ZapStrategy[] = [batchedAnon, contigRange, folioBatch];
/** Every strategy, the per-page reference first. */
export const ALL: readonly ZapStrategy[] = [perPage, ...BATCHING];

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const PAGE = 4 * KiB;

type Op = Record<string, unknown>;
export interface Spec {
  name: string;
  config?: Record<string, unknown>;
  ops: Op[];
}

/** mmap + fault every page of an anon mapping of `size` bytes with mTHP `folio` ("4K" for none). */
export function anonFaulted(size: number, folio: "4K" | "16K" | "64K" | "2M", extra: Record<string, unknown> = {}): Spec {
  const config: Record<string, unknown> = { ...extra };
  if (folio !== "4K") config.mthp = { [folio]: "always" };
  return {
    name: `anon-${size / MiB}M-${folio}`,
    config,
    ops: [
      { op: "mmap", id: "a", size: `${size / KiB}K`, kind: "anon" },
      { op: "write", id: "a", value: 11 },
    ],
  };
}

/** Split every PMD THP of mapping `id` into PTEs: mprotect one 4K page to r and back to rw. */
export function splitPmds(size: number, id = "a"): Op[] {
  const ops: Op[] = [];
  for (let off = 0; off < size; off += 2 * MiB) {
    ops.push({ op: "mprotect", id, offset: `${off / KiB}K`, length: "4K", prot: "r" });
    ops.push({ op: "mprotect", id, offset: `${off / KiB}K`, length: "4K", prot: "rw" });
  }
  return ops;
}

export function withOps(spec: Spec, name: string, ...ops: Op[]): Spec {
  return { ...spec, name: `${spec.name}-${name}`, ops: [...spec.ops, ...ops] };
}

export interface Run {
  result: ScenarioResult;
  kernel: Kernel;
  /** Cost events of the last op only (e.g. the munmap). */
  lastOp: Record<string, number>;
}

/** Run a spec; `lastOp` holds what the final op alone cost. */
export function run(spec: Spec, strategy: ZapStrategy, invariants?: boolean): Run {
  let before: Float64Array | null = null;
  let after: Float64Array | null = null;
  const n = spec.ops.length;
  const { result, kernel } = runScenarioDetailed(spec, {
    strategy,
    ...(invariants === undefined ? {} : { invariants }),
    onOp: (k, _op, i) => {
      if (i === n - 2) before = Float64Array.from(k.costs);
      if (i === n - 1) after = Float64Array.from(k.costs);
    },
  });
  const lastOp: Record<string, number> = {};
  COST_EVENT_KEYS.forEach((key, i) => {
    lastOp[key] = ((after as Float64Array | null)?.[i] ?? 0) - ((before as Float64Array | null)?.[i] ?? 0);
  });
  return { result, kernel, lastOp };
}

/** MAX_GATHER_BATCH and friends, from include/asm-generic/tlb.h arithmetic (zap-path.md §1.1, §3.1). */
export const MMU_GATHER_BUNDLE = 8;
export const V65_GATHER_PAGES = MMU_GATHER_BUNDLE + 19 * 510; // 9,698 page entries per cycle
export const RANGES_PER_BATCH = (4096 - 16) / 16; // 255 pfn_ranges per batch page

/**
 * Folios a page-per-entry gather (v6.5 layout) splits when it fills: it fills after every
 * `capacity` pages and the forced flush lands mid-folio unless the count is a multiple of the
 * folio size. Zapping F whole folios of n pages in one munmap.
 */
export function pageGatherSplits(folios: number, n: number, capacity = V65_GATHER_PAGES): number {
  let splits = 0;
  for (let p = capacity; p < folios * n; p += capacity) if (p % n !== 0) splits++;
  return splits;
}

/**
 * Folios contig-range's gather splits: a range opened as the last slot of a batch page is closed
 * after one page (range_limit = ULONG_MAX on tlb_next_batch), so the folio continues in a second
 * range and its first folio_remove_rmap_range() leaves it partially mapped. Walks the range
 * indices for F whole folios of n > 1 pages, ranges never crossing a folio (or a PTE table, which
 * whole aligned folios never straddle). `folios`: a count of large folios, or the page count of
 * each folio in address order (an order-0 folio is one page and is never cut).
 */
export function contigRangeSplits(folios: number | readonly number[]): number {
  const pages = typeof folios === "number" ? Array.from({ length: folios }, () => 2) : folios;
  let idx = 0;
  let splits = 0;
  const isLastOfBatch = (i: number) =>
    i + 1 === MMU_GATHER_BUNDLE || (i + 1 > MMU_GATHER_BUNDLE && (i + 1 - MMU_GATHER_BUNDLE) % RANGES_PER_BATCH === 0);
  for (const n of pages) {
    if (n > 1 && isLastOfBatch(idx)) {
      splits++;
      idx += 2;
    } else {
      idx += 1;
    }
  }
  return splits;
}
