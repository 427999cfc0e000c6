/**
 * Sizes, orders and address arithmetic shared by the whole model (x86-64 4 KiB base pages).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** PTRS_PER_PTE: one PTE table maps 2 MiB. */
export const PTRS_PER_PTE = 512;
export const HPAGE_PMD_ORDER = 9;
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
/** Largest buddy order (MAX_PAGE_ORDER on x86-64: 4 MiB blocks). */
export const MAX_PAGE_ORDER = 10;
/** Largest folio order the model allocates for user memory (PMD size). */
export const MAX_FOLIO_ORDER = HPAGE_PMD_ORDER;

/** mTHP sizes the kernel exposes as hugepages-<size>kB on x86-64 (orders 2..9). */
export const MTHP_ORDERS = [2, 3, 4, 5, 6, 7, 8, 9] as const;

export function orderToSizeName(order: number): string {
  const kb = (PAGE_SIZE << order) / 1024;
  return kb >= 1024 ? `${kb / 1024}M` : `${kb}K`;
}

export function hugepagesDirName(order: number): string {
  return `hugepages-${(PAGE_SIZE << order) / 1024}kB`;
}

const SIZE_RE = /^(\d+)\s*([KMGTP]?)(i?B)?$/i;
const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/**
 * Parses "4K", "64K", "2M", "1G", "1T", "1P" (binary units; "KiB", "TB" and the like too) or a
 * byte count. Returns null when the text is not a size or is beyond 2^53 bytes.
 */
export function parseSize(value: string | number): number | null {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
  }
  const m = SIZE_RE.exec(value.trim());
  if (!m) return null;
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] ?? "").toUpperCase()] as number);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Folio size names accepted in configs ("16K".."2M") mapped to their order. */
export function sizeNameToOrder(name: string): number | null {
  const bytes = parseSize(name);
  if (bytes === null || bytes < PAGE_SIZE) return null;
  const pages = bytes / PAGE_SIZE;
  if (!Number.isInteger(pages) || (pages & (pages - 1)) !== 0) return null;
  return Math.log2(pages);
}

export function formatBytes(bytes: number): string {
  if (bytes === 0) return "0";
  if (bytes % 1024 ** 5 === 0) return `${bytes / 1024 ** 5}P`;
  if (bytes % 1024 ** 4 === 0) return `${bytes / 1024 ** 4}T`;
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}G`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}K`;
  return `${bytes}`;
}
