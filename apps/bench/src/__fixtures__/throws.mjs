// A strategy that throws in the middle of a zap.
import { perPage } from "@foliolab/strategy-per-page";

let calls = 0;
export const throwing = {
  ...perPage,
  name: "throws-midway",
  description: "throws on the 100th PTE (test fixture)",
  zapPresentPtes(z, max) {
    calls++;
    if (calls % 100 === 0) throw new TypeError("boom at PTE 100");
    return perPage.zapPresentPtes(z, max);
  },
};
