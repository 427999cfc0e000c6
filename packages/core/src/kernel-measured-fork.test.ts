// fork() as Linux 6.18 does it, pinned with the numbers `foliolab kernel` measured on this
// project's machine (the case `foliolab fuzz --kernel` found: seed 2802362293, shrunk to 3 ops).

import { describe, expect, it } from "vitest";
import { runScenario } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

describe("fork copies page tables only where vma_needs_copy()", () => {
  it("leaves a file mapping without anon pages to fault in the child (RssFile 0), copies a COWed private one", () => {
    const r = runScenario(
      {
        name: "fork file",
        ops: [
          { op: "mmap", id: "s", size: "128K", kind: "file-shared" },
          { op: "read", id: "s", offset: "64K", length: "64K" },
          { op: "mmap", id: "p", size: "128K", kind: "file-private" },
          { op: "read", id: "p" },
          { op: "write", id: "p", length: "4K", value: 3 },
          { op: "fork", as: "child" },
          // measured: main RssFile 64 + 124 = 188 kB, RssAnon 4; child RssFile 124 (p's file pages,
          // copied with the table), RssAnon 4 (p's COWed page), nothing of s.
          {
            op: "expect",
            counters: { procs: { main: { RssFile: 188, RssAnon: 4 }, child: { RssFile: 124, RssAnon: 4 } } },
          },
          { op: "expect", proc: "child", id: "p", value: 3 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});
