// A nondeterministic strategy: per-page, but every other run it forces a TLB flush after each
// PTE table, so two runs of the same scenario end in the same state yet count different flushes.
import { zapPresentPteV65 } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

let lastKernel;
let runs = 0;

export default {
  ...perPage,
  name: "nondeterministic",
  description: "forces a flush per PTE table on every other run (test fixture)",
  zapPresentPtes(z, max) {
    if (z.k !== lastKernel) {
      lastKernel = z.k;
      runs++;
    }
    if (runs % 2 === 0) z.forceFlush = true;
    return zapPresentPteV65(z, max);
  },
};
