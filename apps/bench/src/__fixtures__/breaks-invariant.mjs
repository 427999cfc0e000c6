// A strategy that clears PTEs and frees pages but never removes the rmap: the model's
// invariant checker must catch it. v6.5's present-PTE body with its page_remove_rmap() step left out.
import { zapPresentPteV65With } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "forgets-rmap",
  description: "skips page_remove_rmap() (test fixture)",
  zapPresentPtes: zapPresentPteV65With({ removeRmap() {} }),
};
