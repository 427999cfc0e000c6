// A strategy whose zapPresentPtes() never returns.
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "loops-forever",
  description: "an infinite loop in zapPresentPtes() (test fixture)",
  zapPresentPtes() {
    for (;;) {
      // never returns
    }
  },
};
