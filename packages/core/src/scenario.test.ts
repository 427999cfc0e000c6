import { describe, expect, it } from "vitest";
import { InternalError, ScenarioError, StrategyError, thrownByCore } from "./errors.js";
import { folioNrPages, pageFolio } from "./folio.js";
import { ptePfn } from "./page-table.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import { planScenario } from "./scenario-plan.js";
import { reference } from "./testing/per-pte.js";
import type { ZapContext } from "./zap.js";
import { zapPresentPteV65 } from "./zap-v65.js";

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected it to throw");
}

function error(spec: unknown): string {
  try {
    runScenario(spec, { strategy: reference });
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error("expected a ScenarioError");
}

const mm = { op: "mmap", id: "a", size: "64K", kind: "anon" };

describe("scenario validation names the op and the field", () => {
  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["missing name", { ops: [] }, /name/],
    ["unknown top-level field", { name: "x", ops: [], extra: 1 }, /unknown field "extra"/],
    ["unknown op", { name: "x", ops: [{ op: "mmapp" }] }, /ops\[0\] \(mmapp\): unknown op "mmapp"/],
    ["missing op", { name: "x", ops: [{ id: "a" }] }, /ops\[0\]: missing field "op"/],
    ["unknown field", { name: "x", ops: [{ ...mm, sise: 1 }] }, /ops\[0\] \(mmap\): unknown field "sise"/],
    [
      "size not a 4K multiple",
      { name: "x", ops: [{ ...mm, size: 5000 }] },
      /ops\[0\] \(mmap\): field "size": 5000 is not a multiple of 4K/,
    ],
    ["size text", { name: "x", ops: [{ ...mm, size: "lots" }] }, /field "size": "lots" is not a size/],
    ["bad kind", { name: "x", ops: [{ ...mm, kind: "heap" }] }, /ops\[0\] \(mmap\).*kind/],
    ["unknown id", { name: "x", ops: [mm, { op: "write", id: "b" }] }, /ops\[1\] \(write\): field "id": unknown mapping "b"/],
    [
      "unknown proc",
      { name: "x", ops: [mm, { op: "write", id: "a", proc: "child" }] },
      /ops\[1\] \(write\): field "proc": unknown proc "child"/,
    ],
    [
      "range past the end",
      { name: "x", ops: [mm, { op: "munmap", id: "a", offset: "32K", length: "64K" }] },
      /ops\[1\] \(munmap\): field "length".*runs past the end/,
    ],
    [
      "offset outside",
      { name: "x", ops: [mm, { op: "write", id: "a", offset: "64K" }] },
      /ops\[1\] \(write\): field "offset".*outside/,
    ],
    [
      "unaligned offset",
      { name: "x", ops: [mm, { op: "munmap", id: "a", offset: 100, length: "4K" }] },
      /field "offset": 100 is not a multiple of 4K/,
    ],
    ["stride below length", { name: "x", ops: [mm, { op: "munmap", id: "a", length: "8K", stride: "4K" }] }, /field "stride"/],
    [
      "named file on an anon mapping",
      { name: "x", ops: [{ ...mm, file: "db" }] },
      /ops\[0\] \(mmap\): field "file": only file-private and file-shared mappings map a named file \(this one is "anon"\)/,
    ],
    [
      "named file with a path in its name",
      { name: "x", ops: [{ ...mm, kind: "file-shared", file: "../etc/passwd" }] },
      /ops\[0\] \(mmap\): field "file": "\.\.\/etc\/passwd" is not a file name/,
    ],
    [
      "named file with an empty name",
      { name: "x", ops: [{ ...mm, kind: "file-shared", file: "" }] },
      /field "file": "" is not a file name/,
    ],
    [
      "named file mapped larger than it is",
      {
        name: "x",
        ops: [
          { ...mm, kind: "file-shared", file: "db" },
          { op: "fork", as: "c" },
          { op: "mmap", proc: "c", id: "b", size: "128K", kind: "file-private", file: "db" },
        ],
      },
      /ops\[2\] \(mmap\): field "size": 128K is larger than file "db" \(64K, made by ops\[0\] \(mmap\)\)/,
    ],
    [
      "proc after exit",
      { name: "x", ops: [mm, { op: "exit" }, { op: "write", id: "a" }] },
      /ops\[2\] \(write\).*has already exited/,
    ],
    ["duplicate id", { name: "x", ops: [mm, mm] }, /ops\[1\] \(mmap\): field "id": mapping "a" already exists/],
    ["unknown mthp size", { name: "x", config: { mthp: { "3K": "always" } }, ops: [] }, /config.mthp: unknown folio size "3K"/],
    ["bad policy", { name: "x", config: { mthp: { "64K": "sometimes" } }, ops: [] }, /config.*mthp/],
    [
      "unknown counter",
      { name: "x", ops: [{ op: "expect", counters: { vmstat: { pgfaults: 1 } } }] },
      /ops\[0\] \(expect\): field "counters.vmstat.pgfaults": unknown counter/,
    ],
    [
      "unknown counter group",
      { name: "x", ops: [{ op: "expect", counters: { slab: {} } }] },
      /field "counters.slab": unknown group/,
    ],
    [
      "mremap onto an existing id",
      { name: "x", ops: [mm, { op: "mremap", id: "a", offset: 0, length: "4K", to: "a" }] },
      /ops\[1\] \(mremap\): field "to": mapping "a" already exists/,
    ],
    [
      "fork onto an existing proc",
      { name: "x", ops: [mm, { op: "fork", as: "main" }] },
      /ops\[1\] \(fork\): field "as": proc "main" already exists/,
    ],
    ["odd memory", { name: "x", config: { memory: "6M" }, ops: [] }, /config.memory: must be a multiple of 4M/],
  ])("%s", (_label, spec, pattern) => {
    const msg = error(spec);
    expect(msg).toMatch(pattern);
    expect(msg).not.toMatch(/\n\s+at /);
  });

  it("a segmentation fault at run time is an error naming the op", () => {
    const msg = error({ name: "x", ops: [mm, { op: "munmap", id: "a", offset: "0", length: "4K" }, { op: "write", id: "a" }] });
    expect(msg).toMatch(/ops\[2\] \(write\): address is not mapped/);
    expect(error({ name: "x", ops: [mm, { op: "mprotect", id: "a", prot: "r" }, { op: "write", id: "a" }] })).toMatch(
      /ops\[2\] \(write\): write to a mapping without write permission/,
    );
  });

  it("MADV_FREE on a file mapping fails as the kernel's EINVAL does", () => {
    expect(
      error({
        name: "x",
        ops: [
          { op: "mmap", id: "f", size: "64K", kind: "file-shared" },
          { op: "madvise", id: "f", advice: "free" },
        ],
      }),
    ).toMatch(/ops\[1\] \(madvise\): MADV_FREE works on private anonymous memory only/);
  });

  it("running out of model memory says so and names config.memory", () => {
    expect(
      error({
        name: "x",
        config: { memory: "8M" },
        ops: [
          { op: "mmap", id: "a", size: "16M", kind: "anon" },
          { op: "write", id: "a" },
        ],
      }),
    ).toMatch(/ops\[1\] \(write\): out of model memory.*config.memory/);
  });

  it("failed expectations are reported, not thrown", () => {
    const r = runScenario(
      {
        name: "x",
        ops: [
          mm,
          { op: "write", id: "a", value: 3 },
          { op: "expect", id: "a", value: 4 },
          { op: "expect", counters: { meminfo: { AnonPages: 1 } } },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects).toEqual([
      { op: 2, ok: false, message: "main reads 3 at a+0, expected 4" },
      { op: 3, ok: false, message: "meminfo.AnonPages: expected 1, got 64" },
    ]);
  });
});

describe("address space", () => {
  it("a scenario that needs more than the model's 8 TiB of address space is refused by name", () => {
    const ops = Array.from({ length: 4 }, (_, i) => ({ op: "mmap", id: `m${i}`, size: "2048G", kind: "anon" }));
    expect(() => runScenario({ name: "big", config: { memory: "8M" }, ops }, { strategy: reference })).toThrow(
      /ops\[3\] \(mmap\): field "size": 2048G does not fit the model's virtual address space: the process's mappings would end at 9T, beyond the limit of 8T/,
    );
  });
});

describe("a strategy that throws", () => {
  it("comes back as StrategyError naming the op, with the author's error as cause", () => {
    const authors = new Error("boom in my code");
    const throwing = {
      ...reference,
      name: "throws",
      zapPresentPtes: () => {
        throw authors;
      },
    };
    const spec = { name: "x", ops: [mm, { op: "write", id: "a" }, { op: "munmap", id: "a" }] };
    let caught: unknown;
    try {
      runScenario(spec, { strategy: throwing });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(StrategyError);
    expect((caught as Error).message).toMatch(/strategy "throws": ops\[2\] \(munmap\).*failed: boom in my code/);
    expect((caught as Error).cause).toBe(authors);
    expect(((caught as Error).cause as Error).stack).toContain("scenario.test.ts");
  });
});

describe("a strategy's own TypeError", () => {
  it("is the strategy's: StrategyError naming it, the author's TypeError as cause", () => {
    const typo = {
      ...reference,
      name: "typo",
      zapPresentPtes: (z: ZapContext) => (z as unknown as { notThere: { index: number } }).notThere.index,
    };
    const spec = { name: "x", ops: [mm, { op: "write", id: "a" }, { op: "munmap", id: "a" }] };
    const caught = thrown(() => runScenario(spec, { strategy: typo }));
    expect(caught).toBeInstanceOf(StrategyError);
    expect((caught as Error).message).toMatch(
      /^strategy "typo": ops\[2\] \(munmap\) failed: Cannot read properties of undefined/,
    );
    expect((caught as Error).cause).toBeInstanceOf(TypeError);
    expect(((caught as Error).cause as Error).stack).toContain("scenario.test.ts");
  });
});

describe("a bug of core's own code", () => {
  it("inside a core primitive a strategy's hook called is InternalError, not the strategy's", () => {
    // The hook is correct; core's state is broken between ops, so the core primitive it calls
    // (folio_nr_pages()) throws a TypeError from core's own file.
    const calls = {
      ...reference,
      name: "calls-core",
      zapPresentPtes: (z: ZapContext) => folioNrPages(z.k, pageFolio(z.k, ptePfn(z.ptent))) && zapPresentPteV65(z),
    };
    const spec = { name: "x", ops: [mm, { op: "write", id: "a" }, { op: "munmap", id: "a" }] };
    const caught = thrown(() =>
      runScenarioDetailed(spec, {
        strategy: calls,
        onOp: (k, _op, i) => {
          if (i === 1) (k.mem as unknown as { order: unknown }).order = undefined;
        },
      }),
    );
    expect(caught).toBeInstanceOf(InternalError);
    expect(caught).not.toBeInstanceOf(StrategyError);
    const err = caught as Error;
    expect(err.message).toMatch(/^internal error in @foliolab\/core during ops\[2\] \(munmap\) .*TypeError/);
    expect(err.message).not.toContain("calls-core");
    expect(err.cause).toBeInstanceOf(TypeError);
    // Thrown in core's own file (the folio lookup), called from the hook: the hook's boundary
    // did not hide where it came from.
    const frames = (err.cause as Error).stack?.split("\n") ?? [];
    expect(frames[1]).toMatch(/core\/src\/(mem-map|folio)\.ts:\d+:\d+/);
    expect(frames.slice(2, 5).join("\n")).toMatch(/scenario\.test\.ts:\d+:\d+/);
    expect(err.stack).toMatch(/^InternalError: internal error/);
  });

  it("thrownByCore() decides by the top frame that names a file", () => {
    const at = (file: string) =>
      Object.assign(new TypeError("x"), { stack: `TypeError: x\n    at Array.map (<anonymous>)\n    at f (${file}:1:2)` });
    expect(thrownByCore(at(new URL("./zap.ts", import.meta.url).href))).toBe(true);
    expect(thrownByCore(at(new URL("../dist/index.js", import.meta.url).pathname))).toBe(true);
    expect(thrownByCore(at(new URL("./zap.test.ts", import.meta.url).href))).toBe(false);
    expect(thrownByCore(at("/home/me/mine.js"))).toBe(false);
    expect(thrownByCore(Object.assign(new TypeError("no frames"), { stack: "TypeError: no frames" }))).toBe(false);
    expect(thrownByCore("a string")).toBe(false);
  });

  it("comes back as InternalError with the original stack, never blamed on the strategy", () => {
    const spec = { name: "x", ops: [mm, { op: "write", id: "a" }, { op: "munmap", id: "a" }] };
    let caught: unknown;
    try {
      runScenarioDetailed(spec, {
        strategy: reference,
        // Break the model between ops so that core's munmap walk trips over it (a TypeError).
        onOp: (k, _op, i) => {
          if (i === 1) (k.procs.get("main") as unknown as { vmas: unknown }).vmas = undefined;
        },
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InternalError);
    expect(caught).not.toBeInstanceOf(StrategyError);
    const err = caught as Error;
    expect(err.message).toMatch(/^internal error in @foliolab\/core during ops\[2\] \(munmap\) .*TypeError/);
    expect(err.message).not.toContain("per-pte");
    expect(err.cause).toBeInstanceOf(TypeError);
    expect(err.stack).toMatch(/InternalError: internal error/);
    expect(err.stack).toMatch(/\.ts:\d+:\d+/);
  });
});

describe("a write or read with a stride and no length", () => {
  it("touches one page every stride bytes, in the model and in the plan the probe runs", () => {
    const spec = {
      name: "stride",
      ops: [
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "write", id: "a", offset: "4K", stride: "16K", value: 7 },
        { op: "read", id: "a", stride: "32K" },
        { op: "expect", id: "a", offset: "20K", value: 7 },
        { op: "expect", counters: { procs: { main: { RssAnon: 16 } } } },
      ],
    };
    const plan = planScenario(spec);
    expect(plan.ops[1]?.range).toEqual({ offset: 4096, length: 4096, stride: 16384, pages: 4 });
    expect(plan.ops[2]?.range).toEqual({ offset: 0, length: 4096, stride: 32768, pages: 2 });
    const r = runScenario(spec, { strategy: reference });
    // 4K, 20K, 36K and 52K written (16K of RSS); 0 and 32K read (the zero page: no RSS).
    expect(r.expects.map((e) => e.message)).toEqual(["ok", "ok"]);
  });

  it("with a length, still refuses a stride smaller than it", () => {
    expect(error({ name: "x", ops: [mm, { op: "write", id: "a", length: "8K", stride: "4K" }] })).toMatch(
      /field "stride": 4096 is smaller than length 8192/,
    );
  });
});
