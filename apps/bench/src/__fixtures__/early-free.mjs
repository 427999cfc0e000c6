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
} from "@foliolab/core";
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "early-free",
  description: "frees each anon page before the TLB flush (test fixture)",
  zapPresentPtes(z, max) {
    const i = z.index;
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn < 0) return perPage.zapPresentPtes(z, max);
    const folio = pageFolio(z.k, pfn);
    if (!folioTestAnon(z.k, folio)) return perPage.zapPresentPtes(z, max);
    ptepGetAndClearFull(z, i);
    tlbRemoveTlbEntry(z.tlb, z.vpn(i));
    z.addRss(mmCounter(z.k, folio), -1);
    pageRemoveRmap(z.k, pfn, z.vma);
    folioPutRefs(z.k, folio, 1);
    return 1;
  },
};
