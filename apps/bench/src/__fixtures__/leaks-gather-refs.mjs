// A strategy that never drops the references its gather holds: every folio it unmaps leaks.
// Its invariants hold (nothing is freed too early); only the state at the end shows it.
import { perPage } from "@foliolab/strategy-per-page";

export default {
  ...perPage,
  name: "leaks-gather-refs",
  description: "releaseGathered() drops no reference (test fixture)",
  releaseGathered() {},
};
