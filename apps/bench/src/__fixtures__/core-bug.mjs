// A correct strategy run into a bug of the model: on the 100th PTE core's state is broken (the
// stand-in for a core bug), so the core primitive the hook calls throws a TypeError from core's
// own code. The bench must call it an internal error in the model, not the strategy's failure.
import { zapPresentPteV65 } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

let calls = 0;
export const victim = {
  ...perPage,
  name: "core-bug-victim",
  description: "a correct hook that meets a core bug on the 100th PTE (test fixture)",
  zapPresentPtes(z) {
    if (++calls % 100 === 0) z.k.mem.order = undefined;
    return zapPresentPteV65(z);
  },
};
