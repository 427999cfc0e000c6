// A strategy that ends the process it runs in, in the middle of a zap.
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "calls-process-exit",
  description: "calls process.exit() on its first PTE (test fixture)",
  zapPresentPtes() {
    process.exit(0);
  },
};
