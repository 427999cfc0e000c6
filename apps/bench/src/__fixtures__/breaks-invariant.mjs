// A strategy that clears PTEs and frees pages but never removes the rmap: the model's
// invariant checker must catch it.
import {
  mmCounter,
  pageFolio,
  ptepGetAndClearFull,
  tlbRemovePage,
  tlbRemoveTlbEntry,
  vmNormalPage,
} from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "forgets-rmap",
  description: "skips page_remove_rmap() (test fixture)",
  zapPresentPtes(z) {
    const i = z.index;
    const pfn = vmNormalPage(z, z.ptent);
    ptepGetAndClearFull(z, i);
    tlbRemoveTlbEntry(z.tlb, z.vpn(i));
    if (pfn < 0) return 1;
    z.addRss(mmCounter(z.k, pageFolio(z.k, pfn)), -1);
    if (tlbRemovePage(z.tlb, pfn, false)) {
      z.forceFlush = true;
      z.forceBreak = true;
    }
    return 1;
  },
};
