import { COST_EVENT_KEYS } from "@foliolab/core";
import { describe, expect, it } from "vitest";
import { KIND_COLORS, kindColor } from "./svg.js";

describe("event kind colours", () => {
  it("every cost event core counts has a colour of its own, so no two kinds of a chart share one", () => {
    const kinds = Object.values(COST_EVENT_KEYS);
    for (const k of kinds) expect(KIND_COLORS[k], k).toBeDefined();
    const colours = kinds.map((k) => kindColor(k).toUpperCase());
    expect(new Set(colours).size).toBe(kinds.length);
  });
});
