/**
 * Region sizes and the folio-size axis of the benchmark matrix.
 */

import { parseSize } from "@foliolab/core";

export const PAGE = 4096;
const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
const TIB = 1024 * GIB;

/** 1073741824 -> "1G", 65536 -> "64K", 2^40 -> "1T". */
export function formatBytes(bytes: number): string {
  if (bytes >= TIB && bytes % TIB === 0) return `${bytes / TIB}T`;
  if (bytes >= GIB && bytes % GIB === 0) return `${bytes / GIB}G`;
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB}M`;
  if (bytes >= KIB && bytes % KIB === 0) return `${bytes / KIB}K`;
  return `${bytes}`;
}

/** One point on the folio-size axis. */
export interface FolioSpec {
  /** "4K", "16K", ..., "2M-PTE", "2M-PMD", or "mixed" / "file-4K" for workloads with a fixed axis. */
  id: string;
  /** Folio size in bytes (0 for "mixed"). */
  bytes: number;
  /** Folio order (-1 for "mixed"). */
  order: number;
  /** 2M folios mapped by a PMD (true) or split to PTEs with the mprotect trick (false). */
  pmd: boolean;
}

const MTHP_SIZES = ["16K", "32K", "64K", "128K", "256K", "512K", "1M"] as const;

/** Every folio id the anon workloads understand, in axis order. */
export const FOLIO_IDS = ["4K", ...MTHP_SIZES, "2M-PTE", "2M-PMD"] as const;

/** The default axis: 4K, 16K, 64K, 2M PTE-mapped, 2M PMD-mapped. */
export const DEFAULT_FOLIOS = ["4K", "16K", "64K", "2M-PTE", "2M-PMD"] as const;

export function folioSpec(id: string): FolioSpec {
  if (id === "2M-PTE") return { id, bytes: 2 * MIB, order: 9, pmd: false };
  if (id === "2M-PMD") return { id, bytes: 2 * MIB, order: 9, pmd: true };
  if (id === "mixed") return { id, bytes: 0, order: -1, pmd: false };
  const bytes = parseSize(id);
  if (bytes === null) throw new Error(`unknown folio size "${id}"`);
  return { id, bytes, order: Math.log2(bytes / PAGE), pmd: false };
}

/** Axis position for sorting rows (unknown ids last). */
export function folioRank(id: string): number {
  const i = (FOLIO_IDS as readonly string[]).indexOf(id);
  return i < 0 ? FOLIO_IDS.length : i;
}

/**
 * Parse a --folio list: "64K,2M" -> ["64K", "2M-PTE", "2M-PMD"]. "2M" means both mappings;
 * "2M-pte", "2mpmd" and friends are accepted. Throws on anything else.
 */
export function parseFolioList(values: readonly string[]): string[] {
  const out: string[] = [];
  const add = (id: string) => {
    if (!out.includes(id)) out.push(id);
  };
  for (const raw of values.flatMap((v) => v.split(","))) {
    const v = raw.trim().toUpperCase().replace(/IB$/, "").replace(/B$/, "");
    if (v === "") continue;
    if (v === "2M") {
      add("2M-PTE");
      add("2M-PMD");
      continue;
    }
    const m = /^2M[-_ ]?(PTE|PMD)$/.exec(v);
    if (m) {
      add(`2M-${m[1]}`);
      continue;
    }
    const bytes = parseSize(v);
    const id = bytes === null ? null : formatBytes(bytes);
    if (id === null || !(FOLIO_IDS as readonly string[]).includes(id)) {
      throw new Error(`--folio: unknown folio size "${raw.trim()}" (use ${FOLIO_IDS.join(", ")}, or 2M for both 2M mappings)`);
    }
    add(id);
  }
  return out.sort((a, b) => folioRank(a) - folioRank(b));
}
