/**
 * Every check in the kit can fail: the kit's pieces run against deliberately broken
 * strategies, and each must be caught, by the invariant's name where there is one.
 */

import {
  costsToRecord,
  createKernel,
  InvariantViolation,
  type Kernel,
  observe,
  parseScenario,
  runScenario,
  runScenarioDetailed,
  type ScenarioOp,
  type ZapStrategy,
} from "@foliolab/core";
import { folioUnqueueDeferredSplit, ptePfn, type ZapContext, zapPresentPteV65 } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CATALOGUE, REPLAY_SCENARIOS } from "./catalogue.js";
import { ConformanceError, conformanceChecks, firstRejection } from "./describe.js";
import { checkEquivalence, describeRunFailure, formatEquivalenceReport, referenceRun, runChecked } from "./equivalence.js";
import { batchedReference, MUTANTS, mutant } from "./mutants.js";
import { programArbitrary, programToScenario, runProperty } from "./property.js";

/**
 * Run a strategy's non-property checks and collect the failure messages by title. Scenarios
 * the reference itself fails on (a core bug, reported by the conformance tests) are left out.
 */
function failures(strategy: ZapStrategy, suites: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of conformanceChecks(strategy, { numRuns: 0 })) {
    if (!suites.includes(c.suite)) continue;
    if (c.scenario && referenceRun(c.scenario).error) continue;
    try {
      c.run();
    } catch (e) {
      expect(e).toBeInstanceOf(ConformanceError);
      out.set(c.title, (e as Error).message);
    }
  }
  return out;
}

describe("catalogue", () => {
  it("every scenario parses, and per-page runs every supported one cleanly with its expects met", () => {
    for (const e of CATALOGUE) {
      expect(() => parseScenario(e.scenario), e.scenario.name).not.toThrow();
      const run = runChecked(perPage, e.scenario);
      expect(run.error, e.scenario.name).toBeUndefined();
      expect(
        run.result?.expects.every((x) => x.ok),
        e.scenario.name,
      ).toBe(true);
    }
  });

  it("names are unique and replays say what they replay", () => {
    const names = CATALOGUE.map((e) => e.scenario.name);
    expect(new Set(names).size).toBe(names.length);
    for (const r of REPLAY_SCENARIOS) expect(r.replays?.length ?? 0).toBeGreaterThan(40);
  });
});

describe("the invariant suite and the replays catch every broken strategy by the invariant's name", () => {
  for (const m of MUTANTS.filter((x) => x.caughtAs.length > 0 && x.caughtBy !== "property")) {
    it(`${m.strategy.name}: ${m.bug} -> ${m.caughtAs.join(" | ")}`, () => {
      // The named scenario trips one of the expected invariants.
      const entry = CATALOGUE.find((e) => e.scenario.name === m.caughtBy);
      expect(entry, m.caughtBy).toBeDefined();
      const run = runChecked(m.strategy, entry!.scenario);
      expect(run.error?.kind, `${m.strategy.name} on ${m.caughtBy}`).toBe("invariant");
      expect(m.caughtAs).toContain(run.error?.invariant);
      // And the registered checks fail with that name in the message.
      const fails = failures(m.strategy, ["invariants", "replays"]);
      expect(fails.size, m.strategy.name).toBeGreaterThan(0);
      const named = [...fails.values()].filter((msg) => m.caughtAs.some((inv) => msg.includes(`invariant "${inv}" violated`)));
      expect(named.length, [...fails.values()].join("\n")).toBeGreaterThan(0);
    });
  }

  it("the s390 early-free replay catches batch-zap v3's order only on the s390 profile", () => {
    const m = mutant("rmap-after-gather-seed000-v3");
    const fails = failures(m.strategy, ["invariants", "replays"]);
    expect([...fails.keys()].every((t) => t.includes("s390"))).toBe(true);
    expect([...fails.keys()].some((t) => t.includes("replay-s390-early-free-seed000-v3"))).toBe(true);
  });

  it("the lost-write replay names no-lost-write", () => {
    const fails = failures(mutant("rmap-before-flush").strategy, ["replays"]);
    expect(fails.get([...fails.keys()].find((t) => t.includes("replay-lost-write"))!)).toContain('invariant "no-lost-write"');
  });

  it("the stale nr_pages replay catches the leaking nr", () => {
    const fails = failures(mutant("stale-nr-pages").strategy, ["replays"]);
    expect([...fails.keys()].some((t) => t.includes("replay-stale-nr-pages"))).toBe(true);
  });

  it("the batch-past-table-end replay catches a batch that ignores max", () => {
    const fails = failures(mutant("batch-past-range-end").strategy, ["replays"]);
    const msg = fails.get([...fails.keys()].find((t) => t.includes("replay-batch-past-pte-table-end"))!);
    expect(msg).toContain('invariant "strategy-contract"');
  });
});

describe("the kit's own mutants: every kind is rejected", () => {
  it("rejects every mutant (the mutation score the README states)", () => {
    const survivors: string[] = [];
    for (const m of MUTANTS) {
      const r = firstRejection(m.strategy);
      if (!r) survivors.push(m.strategy.name);
    }
    expect(survivors).toEqual([]);
    expect(MUTANTS.length).toBeGreaterThanOrEqual(18);
  });

  it("a release that forgets free_swap_cache() is caught by the swap scenario (equivalence, the leaked swap cache)", () => {
    const m = mutant("forgets-free-swap-cache");
    const entry = CATALOGUE.find((e) => e.scenario.name === m.caughtBy)!;
    expect(entry.scenario.config?.swap).toBeDefined();
    expect(runChecked(m.strategy, entry.scenario).error).toBeUndefined();
    const report = checkEquivalence(m.strategy, entry.scenario);
    expect(report.ok).toBe(false);
    expect(formatEquivalenceReport(report)).toMatch(/observe\.freePages|foliosByOrder/);
  });

  const byProperty = MUTANTS.filter((x) => x.caughtBy === "property");
  it("the property runner fills the gather mid-folio (small gather geometry) and finds the gather mutants", () => {
    expect(byProperty.map((m) => m.strategy.name).sort()).toEqual([
      "mutant-drops-last-of-full-batch",
      "mutant-ignores-full-gather",
      "mutant-no-break-on-full-gather",
    ]);
    for (const m of byProperty) {
      const report = runProperty(m.strategy, { numRuns: 300, seed: 42 });
      expect(report.ok, m.strategy.name).toBe(false);
      if (m.caughtAs.length > 0)
        expect(m.caughtAs.some((inv) => report.message.includes(`invariant "${inv}" violated`))).toBe(true);
      else expect(report.message).toMatch(/differs from per-page/);
    }
    // Mappings of 1 MiB never fill the default gather: it takes the small geometry to find it.
    const noBreak = mutant("no-break-on-full-gather").strategy;
    const small = { numRuns: 200, seed: 7, maxMappingMiB: 1, maxMappings: 1 };
    expect(runProperty(noBreak, { ...small, smallGatherShare: 0 }).ok).toBe(true);
    const found = runProperty(noBreak, small);
    expect(found.ok).toBe(false);
    expect(found.message).toContain("small gather geometry");
  });

  it("random programs configure swap and run some with the small gather", () => {
    const programs = fc.sample(programArbitrary(), { numRuns: 200, seed: 3 });
    expect(programs.some((p) => programToScenario(p).config?.swap !== undefined)).toBe(true);
    expect(programs.some((p) => p.smallGather)).toBe(true);
    expect(programs.some((p) => !p.smallGather)).toBe(true);
  });

  it("compares nr_anon_partially_mapped at checkpoints during the program, not only at the end", () => {
    // Forgets to keep partially mapped folios queued for deferred split: at the end (folios
    // freed) the gauge is 0 either way; after the partial munmap it is not.
    const hides: ZapStrategy = {
      ...perPage,
      name: "hides-partially-mapped",
      zapPresentPtes(z) {
        const n = zapPresentPteV65(z);
        for (const folio of [...z.k.deferredSplitQueue]) folioUnqueueDeferredSplit(z.k, folio);
        return n;
      },
    };
    const scenario = CATALOGUE.find((e) => e.scenario.name === "munmap-partial-mthp")!.scenario;
    const report = checkEquivalence(hides, scenario);
    expect(report.ok).toBe(false);
    expect(report.differences[0]?.path).toMatch(/^after ops\[\d+\]: .*(nrAnonPartiallyMapped|nr_anon_partially_mapped)/);
  });

  it("a strategy error carries the author's error as cause, with their stack", () => {
    const authors = new Error("boom in the author's code");
    const thrower: ZapStrategy = {
      ...perPage,
      name: "throws-with-cause",
      zapPresentPtes() {
        throw authors;
      },
    };
    const check = conformanceChecks(thrower, { numRuns: 0 }).find((c) => c.suite === "invariants")!;
    let caught: unknown;
    try {
      check.run();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConformanceError);
    expect((caught as Error).cause).toBe(authors);
    expect(((caught as Error).cause as Error).stack).toContain("kit.test.ts");
  });
});

describe("the equivalence check", () => {
  it("catches a leak that breaks no invariant", () => {
    const m = mutant("leaks-reference");
    const entry = CATALOGUE.find((e) => e.scenario.name === "munmap-partial-mthp")!;
    expect(runChecked(m.strategy, entry.scenario).error).toBeUndefined();
    const report = checkEquivalence(m.strategy, entry.scenario);
    expect(report.ok).toBe(false);
    expect(report.differences.some((d) => d.path.startsWith("observe.foliosByOrder") || d.path === "observe.freePages")).toBe(
      true,
    );
    expect(formatEquivalenceReport(report)).toMatch(/differs from per-page on scenario "munmap-partial-mthp"/);
    const fails = failures(m.strategy, ["equivalence"]);
    expect(fails.size).toBeGreaterThan(0);
    expect(failures(m.strategy, ["invariants"]).size).toBe(0);
  });

  it("lets split_deferred be lower than per-page's but never higher", () => {
    const entry = CATALOGUE.find((e) => e.scenario.name === "gather-full-mid-folio")!;
    const batched = checkEquivalence(batchedReference, entry.scenario);
    expect(batched.ok, formatEquivalenceReport(batched)).toBe(true);
    const ref = runChecked(perPage, entry.scenario).result!;
    const got = runChecked(batchedReference, entry.scenario).result!;
    expect(got.mthp["hugepages-64kB"]!.split_deferred).toBeLessThan(ref.mthp["hugepages-64kB"]!.split_deferred!);

    const m = mutant("recounts-deferred-split");
    const report = checkEquivalence(m.strategy, CATALOGUE.find((e) => e.scenario.name === "munmap-partial-mthp")!.scenario);
    expect(report.ok).toBe(false);
    expect(report.differences.every((d) => d.path.endsWith("split_deferred") || d.path.endsWith("thp_deferred_split_page"))).toBe(
      true,
    );
    expect(report.differences[0]?.rule).toMatch(/never higher/);
  });

  it("reports a strategy that throws as a strategy error", () => {
    const thrower: ZapStrategy = {
      ...perPage,
      name: "throws",
      zapPresentPtes() {
        throw new Error("boom");
      },
    };
    const report = checkEquivalence(thrower, CATALOGUE[0]!.scenario);
    expect(report.ok).toBe(false);
    expect(report.error?.kind).toBe("strategy");
    expect(formatEquivalenceReport(report)).toMatch(/boom/);
  });

  it("reports a bug of the model inside a hook as an internal error, not the strategy's", () => {
    // Stands in for a core bug: core's state breaks, and the core primitive the (correct) hook
    // calls throws a TypeError from core's own code.
    const victim: ZapStrategy = {
      ...perPage,
      name: "victim",
      zapPresentPtes(z: ZapContext) {
        (z.k.mem as unknown as { order: unknown }).order = undefined;
        return zapPresentPteV65(z);
      },
    };
    const report = checkEquivalence(victim, CATALOGUE[0]!.scenario);
    expect(report.error?.kind).toBe("internal");
    expect(report.error?.cause).toBeInstanceOf(TypeError);
    const text = formatEquivalenceReport(report);
    expect(text).toMatch(/^internal error in @foliolab\/core during ops\[\d+\] \(munmap\)/);
    expect(text).not.toMatch(/^strategy "victim"/);
  });

  it("puts a scenario's mistake on the scenario, with no strategy name", () => {
    const run = runChecked(perPage, { name: "bad", ops: [{ op: "write", id: "nope" }] });
    expect(run.error?.kind).toBe("scenario");
    expect(describeRunFailure(run.strategy, run.scenario, run.error!)).toMatch(/^scenario "bad": scenario error: ops\[0\]/);
    expect(describeRunFailure(run.strategy, run.scenario, run.error!)).not.toContain("per-page");
  });

  it("reports the reference's failure separately (a core or scenario problem)", () => {
    const report = checkEquivalence(perPage, { name: "bad", ops: [{ op: "write", id: "nope" }] });
    expect(report.ok).toBe(true); // both refuse it alike
    const oom = checkEquivalence(perPage, {
      name: "oom",
      config: { memory: "8M" },
      ops: [
        { op: "mmap", id: "a", size: "64M", kind: "anon" },
        { op: "write", id: "a" },
      ],
    });
    expect(oom.ok).toBe(true);
  });
});

describe("the property runner", () => {
  const cases: Array<[string, string[]]> = [
    ["frees-before-flush", ["tlb-flush-before-free", "no-lost-write"]],
    ["ignores-folio-end", ["refcount>=mapcount", "mapcount-matches-page-tables", "no-use-after-free", "strategy-contract"]],
    ["rmap-before-flush", ["no-lost-write"]],
    // On a shmem folio the page cache keeps it alive, so the gather's reference drops can make
    // the refcount fall below the mapcount the forgotten rmap left.
    ["forgets-rmap", ["mapcount-matches-page-tables", "refcount>=mapcount"]],
    ["drops-extra-reference", ["refcount>=mapcount", "no-use-after-free"]],
  ];
  for (const [name, invariants] of cases) {
    it(`finds ${name} and prints a shrunk scenario that runScenario replays`, () => {
      const m = mutant(name);
      const report = runProperty(m.strategy, { numRuns: 300, seed: 1234 });
      expect(report.ok).toBe(false);
      expect(report.counterexample).toBeDefined();
      const json = JSON.stringify(report.counterexample);
      expect(report.message).toContain(json);
      expect(report.message).toMatch(/replay: \{ seed: 1234, path: /);
      // The printed JSON replays: the broken strategy trips a named invariant, per-page does not.
      let caught: unknown;
      try {
        runScenario(json, { strategy: m.strategy });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvariantViolation);
      expect(invariants).toContain((caught as InvariantViolation).violation.invariant);
      expect(report.message).toContain(`invariant "${(caught as InvariantViolation).violation.invariant}" violated`);
      expect(() => runScenario(json, { strategy: perPage })).not.toThrow();
      // Shrinking keeps it small.
      expect(report.counterexample!.ops.length).toBeLessThanOrEqual(8);
    });
  }

  it("finds a leak by equivalence alone", () => {
    const report = runProperty(mutant("leaks-reference").strategy, { numRuns: 300, seed: 99 });
    expect(report.ok).toBe(false);
    expect(report.message).toMatch(/differs from per-page/);
    expect(report.message).toContain(JSON.stringify(report.counterexample));
  });

  it("a failing property check throws ConformanceError carrying the scenario JSON", () => {
    const check = conformanceChecks(mutant("frees-before-flush").strategy, { numRuns: 100, seed: 5 }).find(
      (c) => c.suite === "property",
    )!;
    const errors = console.error;
    console.error = () => {};
    try {
      expect(check.run).toThrow(ConformanceError);
      expect(check.run).toThrow(/"ops":\[\{"op":"mmap"/);
    } finally {
      console.error = errors;
    }
  });

  it("is deterministic for a seed and passes per-page against itself", () => {
    const a = runProperty(perPage, { numRuns: 50, seed: 77 });
    const b = runProperty(perPage, { numRuns: 50, seed: 77 });
    expect(a.ok && b.ok).toBe(true);
    expect(a.seed).toBe(77);
    expect(a.numSkips).toBe(0);
  });

  it("builds only valid scenarios: accesses narrowed to mapped, permitted pages", () => {
    const scenario = programToScenario({
      arch: "x86_64",
      mthp: { "64K": "always" },
      mappings: [{ kind: "anon", pages: 256, align: 0, fill: 3 }],
      ops: [
        { t: "munmap", p: 0, m: 0, off: 16, len: 15, stride: 0 },
        { t: "mprotect", p: 0, m: 0, off: 40, len: 9, prot: "r" },
        { t: "write", p: 0, m: 0, off: 0, len: 99, stride: 0, value: 9 },
        { t: "read", p: 0, m: 0, off: 0, len: 255, stride: 0 },
      ],
    });
    expect(() => runScenario(scenario, { strategy: perPage })).not.toThrow();
    const writes = scenario.ops.filter((o): o is Extract<ScenarioOp, { op: "write" }> => o.op === "write" && o.value === 9);
    expect(writes.map((o) => [o.offset, o.length])).toEqual([
      ["0K", "64K"],
      ["128K", "32K"],
      ["200K", "200K"],
    ]);
  });
});

describe("catalogue shapes are what they claim (under per-page)", () => {
  /** Run a catalogue scenario under per-page, handing each op's model to `at`. */
  function shape(name: string, at: (k: Kernel, op: ScenarioOp, i: number, costs: Record<string, number>) => void): void {
    const entry = CATALOGUE.find((e) => e.scenario.name === name)!;
    let before = costsToRecord(createKernel(parseScenario(entry.scenario), { strategy: perPage }).costs);
    runScenarioDetailed(entry.scenario, {
      strategy: perPage,
      onOp: (k, op, i) => {
        const now = costsToRecord(k.costs);
        const delta: Record<string, number> = {};
        for (const key of Object.keys(now)) delta[key] = (now[key] as number) - (before[key] ?? 0);
        before = now;
        at(k, op, i, delta);
      },
    });
  }

  it("gather-full scenarios fill the mmu_gather inside one munmap/exit, mid-folio for 64K mTHP", () => {
    for (const name of ["gather-full-4k", "gather-full-mid-folio", "gather-full-exit"]) {
      let flushes = 0;
      shape(name, (_k, op, _i, d) => {
        if (op.op === "munmap" || op.op === "exit") flushes = Math.max(flushes, d.gather_flush ?? 0);
      });
      expect(flushes, name).toBeGreaterThanOrEqual(2);
    }
    // 8 + 19 * 510 entries per flush cycle: not a multiple of 16, so per-page fills mid-64K-folio.
    expect((8 + 19 * 510) % 16).not.toBe(0);
  });

  it("pte-mapped-thp leaves order-9 folios mapped by PTEs; pmd-thp maps them by PMD", () => {
    let pteMapped = 0;
    shape("pte-mapped-thp", (k, op, i) => {
      if (op.op === "mprotect" && i === 9) {
        pteMapped = observe(k).procs.main!.mappings.a!.filter((p) => p.map === "pte" && p.order === 9).length;
      }
    });
    expect(pteMapped).toBe(4 * 512);
    let pmd = 0;
    shape("pmd-thp", (k, op) => {
      if (op.op === "write") pmd = observe(k).procs.main!.mappings.a!.filter((p) => p.map === "pmd").length;
    });
    expect(pmd).toBe(4 * 512);
  });

  it("folio-straddles-vmas-mprotect puts one 64K folio in three VMAs", () => {
    let vmas = 0;
    shape("folio-straddles-vmas-mprotect", (k, op, i) => {
      if (op.op === "mprotect" && i === 2) vmas = k.procs.get("main")!.vmas.length;
    });
    expect(vmas).toBe(3);
  });

  it("replay-batch-past-folio-end has physically adjacent folios of different sizes in one table", () => {
    let adjacent = false;
    shape("replay-batch-past-folio-end", (k, op, i) => {
      if (op.op !== "write" || i !== 3) return;
      const pages = observe(k).procs.main!.mappings.a!;
      const ptes = [...k.procs.get("main")!.pgtables.pte.values()][0]!;
      for (let v = 1; v < 64; v++) {
        const a = ptePfn(ptes[v - 1]!);
        const b = ptePfn(ptes[v]!);
        if (b === a + 1 && pages[v]!.index === 0 && pages[v - 1]!.order > 0) adjacent = true;
      }
    });
    expect(adjacent).toBe(true);
  });
});

describe("a strategy stuck in an endless loop", () => {
  const loops: ZapStrategy = {
    ...perPage,
    name: "loops-forever",
    zapPresentPtes() {
      for (;;) {
        // never returns
      }
    },
  };

  it("is rejected in seconds, the hook named: the first check waits out the limit, the others fail at once", () => {
    const checks = conformanceChecks(loops, { numRuns: 50, seed: 1 });
    const messages: string[] = [];
    for (const c of checks) {
      try {
        c.run();
        messages.push("passed");
      } catch (e) {
        expect(e).toBeInstanceOf(ConformanceError);
        messages.push((e as Error).message);
      }
    }
    expect(messages[0]).toMatch(/strategy "loops-forever": did not return from zapPresentPtes within 3 s \(the kit's limit/);
    for (const m of messages) expect(m).toMatch(/did not return from zapPresentPtes within 3 s/);
    expect(messages.filter((m) => m.includes("not run: an earlier scenario stopped at its time limit")).length).toBeGreaterThan(
      checks.length / 2,
    );
  });

  it("the property runner stops at the first run that hits the limit (no shrinking) and names the hook", () => {
    const report = runProperty(loops, { numRuns: 20, seed: 1 });
    expect(report.ok).toBe(false);
    expect(report.numShrinks).toBe(0);
    expect(report.message).toMatch(/did not return from zapPresentPtes within 3 s/);
  });

  it("a run under the limit is unchanged: the same result and state as without one", () => {
    const scenario = CATALOGUE[0]?.scenario as NonNullable<(typeof CATALOGUE)[0]>["scenario"];
    const plain = runChecked(perPage, scenario, { observe: "end" });
    const limited = runChecked(perPage, scenario, { observe: "end", deadlineMs: 10_000 });
    expect(limited.error).toBeUndefined();
    expect(limited.result).toEqual(plain.result);
    expect(limited.observed).toEqual(plain.observed);
  });
});
