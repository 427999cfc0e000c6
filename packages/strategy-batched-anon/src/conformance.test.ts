/**
 * The conformance kit on x86-64. On s390 (MMU_GATHER_NO_GATHER) the patch as posted gathers,
 * and so frees, each page before folio_remove_rmap_range() lowers the mapcount: v4's extra
 * folio_get() keeps the folio alive, but the refcount still falls below the mapcount, which is
 * the ordering David Hildenbrand objected to. The kit's s390 checks are therefore asserted to
 * fail here, with that invariant's name.
 */
import { runScenario } from "@foliolab/core";
import { describeStrategyConformance } from "@foliolab/testkit";
import { CATALOGUE } from "@foliolab/testkit/lib";
import { describe, expect, it } from "vitest";
import { batchedAnon } from "./index.js";

const isS390 = (e: (typeof CATALOGUE)[number]) => (e.scenario as { config?: { arch?: string } }).config?.arch === "s390";

describeStrategyConformance(batchedAnon, {
  seed: 20261122,
  scenarios: CATALOGUE.filter((e) => !isS390(e)),
  shape: { s390Weight: 0 },
});

describe("batched-anon on s390", () => {
  for (const entry of CATALOGUE.filter(isS390)) {
    it(`${entry.covers}: refcount falls below mapcount`, () => {
      expect(() => runScenario(entry.scenario, { strategy: batchedAnon })).toThrow(/refcount>=mapcount/);
    });
  }
});
