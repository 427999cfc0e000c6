import { describe, expect, it } from "vitest";
import { formatBytes, parseFolioList } from "./sizes.js";

describe("sizes", () => {
  it("formats sizes", () => {
    expect(formatBytes(1 << 30)).toBe("1G");
    expect(formatBytes(192 << 10)).toBe("192K");
  });

  it("expands 2M to both mappings and keeps axis order", () => {
    expect(parseFolioList(["64K,2M"])).toEqual(["64K", "2M-PTE", "2M-PMD"]);
    expect(parseFolioList(["2m-pmd", "4K"])).toEqual(["4K", "2M-PMD"]);
    expect(parseFolioList(["16KiB"])).toEqual(["16K"]);
    expect(() => parseFolioList(["3K"])).toThrow(/unknown folio size "3K"/);
  });
});
