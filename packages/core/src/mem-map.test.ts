import { describe, expect, it } from "vitest";
import { MemMap, NIL, RESERVED_PAGES } from "./mem-map.js";

describe("buddy allocator", () => {
  it("hands out naturally aligned blocks and merges them back", () => {
    const m = new MemMap(4 * RESERVED_PAGES);
    const free0 = m.nrFree;
    expect(free0).toBe(3 * RESERVED_PAGES);
    const got: Array<[number, number]> = [];
    for (const order of [0, 9, 4, 2, 0, 9, 3]) {
      const pfn = m.allocPages(order);
      expect(pfn).not.toBe(NIL);
      expect(pfn % (1 << order)).toBe(0);
      expect(m.pageFolio(pfn + (1 << order) - 1)).toBe(pfn);
      got.push([pfn, order]);
    }
    const used = got.reduce((s, [, o]) => s + (1 << o), 0);
    expect(m.nrFree).toBe(free0 - used);
    for (const [pfn, order] of got.reverse()) m.freePages(pfn, order);
    expect(m.nrFree).toBe(free0);
    expect(m.buddyInfo()[10]).toBe(3);
  });

  it("returns NIL when no block of the order is left", () => {
    const m = new MemMap(2 * RESERVED_PAGES);
    expect(m.allocPages(10)).toBe(RESERVED_PAGES);
    expect(m.allocPages(0)).toBe(NIL);
  });

  it("stays far below the kernel's 64-byte struct page", () => {
    expect(MemMap.bytesPerPage()).toBeLessThanOrEqual(32);
  });
});
