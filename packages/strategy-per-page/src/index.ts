/**
 * The per-page strategy: zap_pte_range() as Linux v6.5 ran it (mm/memory.c), one PTE at a
 * time. For every present PTE: clear it, tlb_remove_tlb_entry(), for file pages the dirty and
 * young handling with the delayed rmap of dirty pages (6.2), page_remove_rmap(), and
 * __tlb_remove_page() into an mmu_gather of 8 local + up to 19 batch pages of 510 entries.
 * Freed through free_pages_and_swap_cache() -> release_pages(), one reference per entry.
 *
 * Those v6.5 bodies are core's building blocks (zapPresentPteV65, tlbFlushRmapBatchV65,
 * freePagesAndSwapCacheV65, and the v6.5 gather layout), and core's defaults for every hook a
 * strategy leaves out: the reference is the strategy that changes nothing.
 */

import type { ZapStrategy } from "@foliolab/core/strategy";

export const perPage: ZapStrategy = {
  name: "per-page",
  description: "Linux v6.5 zap_pte_range(): page_remove_rmap() and __tlb_remove_page() per PTE",
};

export default perPage;
