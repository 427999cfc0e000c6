// A strategy that throws in the middle of a zap.
import { zapPresentPteV65 } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

let calls = 0;
export const throwing = {
  ...perPage,
  name: "throws-midway",
  description: "throws on the 100th PTE (test fixture)",
  zapPresentPtes(z) {
    calls++;
    if (calls % 100 === 0) throw new TypeError("boom at PTE 100");
    return zapPresentPteV65(z);
  },
};
