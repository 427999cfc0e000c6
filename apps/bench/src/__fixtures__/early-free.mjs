// An early-free strategy: for anon pages it drops the page's reference in the PTE loop,
// before the TLB flush, instead of gathering it (the MMU_GATHER_NO_GATHER hazard everywhere).
// The state it ends in is per-page's: only the invariant-checked pass can see it.
// v6.5's present-PTE body with its __tlb_remove_page() step replaced for anon pages.
import { folioPutRefs, folioTestAnon, pageFolio, ZAP_PTE_STEPS_V65, zapPresentPteV65With } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "early-free",
  description: "frees each anon page before the TLB flush (test fixture)",
  zapPresentPtes: zapPresentPteV65With({
    removePage(z, pfn, delayRmap) {
      const folio = pageFolio(z.k, pfn);
      if (folioTestAnon(z.k, folio)) folioPutRefs(z.k, folio, 1);
      else ZAP_PTE_STEPS_V65.removePage(z, pfn, delayRmap);
    },
  }),
};
