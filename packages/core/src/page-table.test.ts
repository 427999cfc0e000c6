import { describe, expect, it } from "vitest";
import { mkPte, PTE_FLAG_MASK, PTE_MAX_PFN, PTE_PFN_SCALE, ptePfn } from "./page-table.js";

describe("PTE encoding", () => {
  it("ptePfn() undoes mkPte() for every flag byte, up to the largest pfn (its literal is PTE_PFN_SCALE)", () => {
    expect(PTE_PFN_SCALE).toBe(256);
    for (const pfn of [0, 1, 511, 2 ** 24 - 1, 2 ** 24, 2 ** 31 + 5, PTE_MAX_PFN]) {
      for (const flags of [0, 1, 0x5a, PTE_FLAG_MASK]) expect(ptePfn(mkPte(pfn, flags))).toBe(pfn);
    }
  });
});
