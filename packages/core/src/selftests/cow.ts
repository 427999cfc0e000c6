/**
 * The anonymous-memory families of the kernel's tools/testing/selftests/mm/cow.c as scenarios.
 * Each family runs on each backing cow.c uses that the model can build; every scenario carries
 * its own expectations ("No leak from parent into child", "No leak from child into parent",
 * "Longterm R/W pin is reliable", "Longterm R/O pin is reliable").
 */

import type { Scenario, ScenarioConfig, ScenarioOp } from "../scenario.js";

export interface Backing {
  name: string;
  size: string;
  config?: ScenarioConfig;
  /** Ops after mmap that populate the region with value 1. */
  setup: ScenarioOp[];
  /** Offset of the page the test looks at. */
  at: string;
  /** The part of the mapping the test writes and protects (all of it unless given). */
  length?: string;
}

const fill: ScenarioOp = { op: "write", id: "mem", value: 1 };
const hugepage: ScenarioOp = { op: "madvise", id: "mem", advice: "hugepage" };

const basePage: Backing = {
  name: "base page",
  size: "4K",
  setup: [{ op: "madvise", id: "mem", advice: "nohugepage" }, fill],
  at: "0",
};
const mthp64K: Backing = { name: "64K mTHP", size: "64K", config: { mthp: { "64K": "always" } }, setup: [fill], at: "0" };
const pmdThp: Backing = { name: "PMD THP", size: "2M", setup: [hugepage, fill], at: "0" };
const pteMappedThp: Backing = {
  name: "PTE-mapped THP",
  size: "2M",
  setup: [
    hugepage,
    fill,
    { op: "mprotect", id: "mem", offset: "4K", length: "4K", prot: "r" },
    { op: "mprotect", id: "mem", offset: "4K", length: "4K", prot: "rw" },
  ],
  at: "0",
};
const singlePteOfThp: Backing = {
  name: "single PTE of THP",
  size: "2M",
  setup: [hugepage, fill, { op: "madvise", id: "mem", offset: "4K", length: "2044K", advice: "dontneed" }],
  at: "0",
};

/**
 * cow.c's swapped-out variant of a backing: its setup, then MADV_PAGEOUT (of `range`, all of the
 * mapping unless given) with a swap device, and an expect that `kb` really went to swap.
 */
function swappedOut(b: Backing, name: string, kb: number, range: { offset?: string; length?: string } = {}): Backing {
  return {
    ...b,
    name,
    config: { ...b.config, swap: "4M" },
    setup: [
      ...b.setup,
      { op: "madvise", id: "mem", ...range, advice: "pageout" },
      { op: "expect", counters: { procs: { main: { VmSwap: kb } } } },
    ],
  };
}

export const COW_BACKINGS: Backing[] = [
  basePage,
  mthp64K,
  pmdThp,
  pteMappedThp,
  singlePteOfThp,
  swappedOut(basePage, "swapped-out base page", 4),
  swappedOut(mthp64K, "swapped-out 64K mTHP", 64),
  swappedOut(pmdThp, "swapped-out THP", 2048),
  swappedOut(pteMappedThp, "swapped-out, PTE-mapped THP", 2048),
  swappedOut(singlePteOfThp, "single PTE of swapped-out THP", 4, { offset: "0", length: "4K" }),
  {
    name: "partially mremap()'ed THP",
    size: "2M",
    setup: [
      { op: "madvise", id: "mem", advice: "hugepage" },
      fill,
      { op: "mremap", id: "mem", offset: "1M", length: "1M", to: "upper" },
    ],
    at: "0",
    length: "1M",
  },
  {
    name: "partially shared THP",
    size: "2M",
    setup: [
      { op: "madvise", id: "mem", advice: "hugepage" },
      fill,
      { op: "madvise", id: "mem", offset: "4K", length: "2044K", advice: "dontfork" },
      { op: "fork", as: "sharer" },
      { op: "exit", proc: "sharer" },
      { op: "madvise", id: "mem", offset: "4K", length: "2044K", advice: "dofork" },
    ],
    at: "0",
  },
  {
    name: "PTE-mapped 64K mTHP, partially unmapped",
    size: "64K",
    config: { mthp: { "64K": "always" } },
    setup: [fill, { op: "munmap", id: "mem", offset: "32K", length: "32K" }],
    at: "4K",
    length: "32K",
  },
];

function scenario(family: string, b: Backing, body: ScenarioOp[]): Scenario {
  return {
    name: `cow.c: ${family} ... with ${b.name}`,
    ...(b.config ? { config: b.config } : {}),
    ops: [{ op: "mmap", id: "mem", size: b.size, kind: "anon" }, ...b.setup, ...body],
  };
}

/** All anon families x backings. */
export function cowSelftestScenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const b of COW_BACKINGS) {
    const at = b.at;
    const range = b.length ? { offset: "0", length: b.length } : {};
    const whole: ScenarioOp[] = [{ op: "write", id: "mem", value: 2, ...range }];
    // 1. Basic COW after fork(): the parent writes, the child still sees the old data; then the
    //    child writes and the parent does not see it.
    out.push(
      scenario("Basic COW after fork()", b, [
        { op: "fork", as: "child" },
        ...whole,
        { op: "expect", proc: "child", id: "mem", offset: at, value: 1 },
        { op: "write", proc: "child", id: "mem", value: 3, ...range },
        { op: "expect", id: "mem", offset: at, value: 2 },
        { op: "expect", proc: "child", id: "mem", offset: at, value: 3 },
        { op: "exit", proc: "child" },
        { op: "expect", id: "mem", offset: at, value: 2 },
      ]),
    );
    // 2. ... with the mprotect() optimization: mprotect must not map shared pages writable.
    out.push(
      scenario("Basic COW after fork() with mprotect() optimization", b, [
        { op: "fork", as: "child" },
        { op: "mprotect", id: "mem", prot: "r", ...range },
        { op: "mprotect", id: "mem", prot: "rw", ...range },
        ...whole,
        { op: "expect", proc: "child", id: "mem", offset: at, value: 1 },
      ]),
    );
    // 3. R/O-mapping a page registered as io_uring fixed buffer (R/W long-term pin).
    out.push(
      scenario("R/O-mapping a page registered as iouring fixed buffer", b, [
        { op: "pin", id: "mem", offset: at, length: "4K" },
        { op: "mprotect", id: "mem", prot: "r", ...range },
        { op: "mprotect", id: "mem", prot: "rw", ...range },
        ...whole,
        { op: "expect", id: "mem", offset: at, value: 2, pinned: true },
      ]),
    );
    // 4. fork() with an io_uring fixed buffer: pinned pages must not be shared with the child.
    out.push(
      scenario("fork() with an iouring fixed buffer", b, [
        { op: "pin", id: "mem", offset: at, length: "4K" },
        { op: "fork", as: "child" },
        ...whole,
        { op: "expect", id: "mem", offset: at, value: 2, pinned: true },
        { op: "expect", proc: "child", id: "mem", offset: at, value: 1 },
      ]),
    );
    // 5. R/O GUP pin on R/O-mapped shared page: the pin must unshare.
    out.push(
      scenario("R/O GUP pin on R/O-mapped shared page", b, [
        { op: "fork", as: "child" },
        { op: "pin", id: "mem", offset: at, length: "4K", write: false },
        ...whole,
        { op: "expect", id: "mem", offset: at, value: 2, pinned: true },
        { op: "expect", proc: "child", id: "mem", offset: at, value: 1 },
      ]),
    );
    // 6. R/O GUP pin on R/O-mapped previously-shared page (the child is gone).
    out.push(
      scenario("R/O GUP pin on R/O-mapped previously-shared page", b, [
        { op: "fork", as: "child" },
        { op: "exit", proc: "child" },
        { op: "pin", id: "mem", offset: at, length: "4K", write: false },
        ...whole,
        { op: "expect", id: "mem", offset: at, value: 2, pinned: true },
      ]),
    );
    // 7. R/O GUP pin on R/O-mapped exclusive page.
    out.push(
      scenario("R/O GUP pin on R/O-mapped exclusive page", b, [
        { op: "mprotect", id: "mem", prot: "r", ...range },
        { op: "pin", id: "mem", offset: at, length: "4K", write: false },
        { op: "mprotect", id: "mem", prot: "rw", ...range },
        ...whole,
        { op: "expect", id: "mem", offset: at, value: 2, pinned: true },
      ]),
    );
  }
  return out;
}
