// A strategy module that never finishes loading.
import { perPage } from "@foliolab/strategy-per-page";

for (;;) {
  // the import never finishes
}

export default { ...perPage, name: "loops-at-import" };
