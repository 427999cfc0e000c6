import { describe, expect, it } from "vitest";
import { observe, observeDigest } from "./observe.js";
import { runScenarioDetailed } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";
import { freePagesAndSwapCacheV618 } from "./zap-v69.js";

function end(ops: object[], config: object = { mthp: { "64K": "always" } }) {
  const { kernel } = runScenarioDetailed({ name: "d", config, ops }, { strategy: reference });
  return { observed: observe(kernel), digest: observeDigest(kernel) };
}

const base = [
  { op: "mmap", id: "a", size: "1M", kind: "anon" },
  { op: "write", id: "a", value: 7 },
];

describe("observeDigest() is observe() in a few bytes", () => {
  it("equal states give equal digests, whatever the path to them", () => {
    const x = end([...base, { op: "munmap", id: "a", offset: "64K", length: "64K" }]);
    const y = end([
      ...base,
      { op: "madvise", id: "a", offset: "64K", length: "64K", advice: "dontneed" },
      { op: "munmap", id: "a", offset: "64K", length: "64K" },
    ]);
    expect(y.observed).toEqual(x.observed);
    expect(y.digest).toBe(x.digest);
    expect(x.digest).toMatch(/^[0-9a-f]{16}$/);
  });

  it("a different value, mapping, folio layout or free memory gives another digest", () => {
    const x = end(base);
    const states = [
      end([
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "write", id: "a", value: 8 },
      ]),
      end([...base, { op: "munmap", id: "a", offset: "4K", length: "4K" }]),
      end([...base, { op: "madvise", id: "a", offset: "4K", length: "4K", advice: "dontneed" }]),
      end(base, { mthp: { "16K": "always" } }),
      end([...base, { op: "mmap", id: "b", size: "64K", kind: "anon" }]),
    ];
    for (const s of states) {
      expect(s.observed).not.toEqual(x.observed);
      expect(s.digest).not.toBe(x.digest);
    }
  });

  it("agrees with observe() on every pair of states: anon, file, swap, zero page, PMD THP", () => {
    const pmd = { mthp: { "2M": "always" } };
    const states = [
      end(base),
      end([...base, { op: "mprotect", id: "a", offset: "0", length: "64K", prot: "r" }]),
      end([
        { op: "mmap", id: "f", size: "256K", kind: "file-shared" },
        { op: "write", id: "f", value: 3 },
      ]),
      end([
        { op: "mmap", id: "f", size: "256K", kind: "file-private" },
        { op: "read", id: "f" },
      ]),
      end(
        [
          { op: "mmap", id: "z", size: "256K", kind: "anon" },
          { op: "read", id: "z" },
        ],
        {},
      ),
      end(
        [
          { op: "mmap", id: "z", size: "256K", kind: "anon" },
          { op: "read", id: "z" },
        ],
        {},
      ),
      end(
        [
          { op: "mmap", id: "h", size: "4M", kind: "anon" },
          { op: "write", id: "h", value: 5 },
        ],
        pmd,
      ),
      end(
        [
          { op: "mmap", id: "h", size: "4M", kind: "anon" },
          { op: "read", id: "h" },
        ],
        pmd,
      ),
      end([...base, { op: "madvise", id: "a", advice: "pageout" }], { swap: "4M" }),
      end([...base, { op: "madvise", id: "a", advice: "pageout" }, { op: "read", id: "a", offset: "0", length: "4K" }], {
        swap: "4M",
      }),
    ];
    for (const x of states) {
      for (const y of states) {
        const same = JSON.stringify(x.observed) === JSON.stringify(y.observed);
        expect(x.digest === y.digest).toBe(same);
      }
    }
  });
});

describe("the lru_add batch is not observable", () => {
  it("a release that drains the batch (6.5) and one that does not (6.18) end in the same state", () => {
    const ops = [
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "madvise", id: "a", advice: "nohugepage" },
      { op: "write", id: "a", offset: 0, length: "32K", value: 7 },
      { op: "munmap", id: "a", offset: 0, length: "32K" },
    ];
    const run = (strategy: typeof reference) => runScenarioDetailed({ name: "batch", ops }, { strategy }).kernel;
    const drained = run(reference);
    const waiting = run({ ...reference, releaseGathered: freePagesAndSwapCacheV618 });
    // the 8 pages wait in the batch, freed when it moves: not yet on the free lists
    expect(drained.mem.nrFree - waiting.mem.nrFree).toBe(8);
    expect(observe(waiting)).toEqual(observe(drained));
    expect(observeDigest(waiting)).toBe(observeDigest(drained));
  });
});
