// An early-free strategy: for anon pages it drops the page's reference in the PTE loop,
// before the TLB flush, instead of gathering it (the MMU_GATHER_NO_GATHER hazard everywhere).
// The state it ends in is per-page's: only the invariant-checked pass can see it.
import {
  folioPutRefs,
  folioTestAnon,
  mmCounter,
  pageFolio,
  pageRemoveRmap,
  ptepGetAndClearFull,
  tlbRemoveTlbEntry,
  vmNormalPage,
  zapPresentPteV65,
} from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "early-free",
  description: "frees each anon page before the TLB flush (test fixture)",
  zapPresentPtes(z) {
    const i = z.index;
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn < 0) return zapPresentPteV65(z);
    const folio = pageFolio(z.k, pfn);
    if (!folioTestAnon(z.k, folio)) return zapPresentPteV65(z);
    ptepGetAndClearFull(z, i);
    tlbRemoveTlbEntry(z.tlb, z.vpn(i));
    z.addRss(mmCounter(z.k, folio), -1);
    pageRemoveRmap(z.k, pfn, z.vma);
    folioPutRefs(z.k, folio, 1);
    return 1;
  },
};
