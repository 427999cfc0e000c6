/**
 * The property test: random operation sequences run under the strategy and under per-page
 * must end in the same observable state with no invariant violation. fast-check generates a
 * compact program (indices and lengths, shrinking toward small and early); the scenario
 * builder turns it into scenario JSON that runScenario() replays, keeping every op valid
 * (no access to unmapped or protected pages), so a failure prints as a scenario to rerun.
 */

import type { Scenario, ScenarioConfig, ScenarioOp, ZapStrategy } from "@foliolab/core";
import type { GatherGeometry } from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";
import fc from "fast-check";
import { checkEquivalence, type EquivalenceReport, formatEquivalenceReport } from "./equivalence.js";

export type GenKind = "anon" | "file-private" | "file-shared" | "shmem";
export type GenProt = "r" | "rw" | "none";
export type GenAdvice = "dontneed" | "hugepage" | "nohugepage" | "free" | "pageout";

export interface GenMapping {
  kind: GenKind;
  /** Size in 4K pages. */
  pages: number;
  /** mmap alignment in 4K pages (0: the default, 2M). */
  align: number;
  /** Write the whole mapping right after mmap (with this value; 0: leave it unpopulated). */
  fill: number;
}

/** One generated op. Numbers are raw: the builder reduces them modulo what is in range. */
export type GenOp =
  | { t: "write"; p: number; m: number; off: number; len: number; stride: number; value: number }
  | { t: "read"; p: number; m: number; off: number; len: number; stride: number }
  | { t: "munmap"; p: number; m: number; off: number; len: number; stride: number }
  | { t: "mprotect"; p: number; m: number; off: number; len: number; prot: GenProt }
  | { t: "madvise"; p: number; m: number; off: number; len: number; advice: GenAdvice }
  | { t: "pin"; p: number; m: number; off: number; len: number }
  | { t: "unpin"; p: number; m: number; off: number; len: number }
  | { t: "fork"; p: number }
  | { t: "reclaim" };

export interface GenProgram {
  arch: "x86_64" | "s390";
  mthp: Record<string, "always" | "madvise" | "never">;
  /** config.shmem: hugepages-<size>kB/shmem_enabled of the sizes named (shmem mappings' folio sizes). */
  shmem?: Record<string, "always" | "within_size" | "advise" | "never">;
  /** Configure a swap device (config.swap), so MADV_PAGEOUT and reclaim swap anon memory out. */
  swap?: boolean;
  /**
   * Run both strategies with SMALL_GATHER instead of their own mmu_gather geometry, so the
   * gather fills (mid-folio) inside the small mappings of a random program.
   */
  smallGather?: boolean;
  mappings: GenMapping[];
  ops: GenOp[];
}

/**
 * The mmu_gather geometry of the property runs that fill the gather: 4 local entries and 2
 * batch pages of 15 (an odd size, so batches end mid-folio); the strategy keeps its own
 * reserveOne and delayedRmapCap.
 */
export const SMALL_GATHER: Pick<GatherGeometry, "localEntries" | "entriesPerBatch" | "maxBatches"> = {
  localEntries: 4,
  entriesPerBatch: 15,
  maxBatches: 2,
};

/** The strategy with another mmu_gather geometry (its other fields unchanged). */
export function withGatherGeometry(strategy: ZapStrategy, geometry: Partial<GatherGeometry>): ZapStrategy {
  return { ...strategy, gather: { ...strategy.gather, ...geometry } };
}

export interface ProgramShape {
  /** Smallest and largest mapping, in MiB (default 1..8). */
  minMappingMiB?: number;
  maxMappingMiB?: number;
  /** Mappings per program (default 1..3). */
  maxMappings?: number;
  /** Ops between the mmaps and the final exits (default 0..12). */
  maxOps?: number;
  /** Probability weight of the s390 profile against x86_64's 9 (default 1). */
  s390Weight?: number;
  /** Share of programs with a swap device, 0..1 (default 0.5). */
  swapShare?: number;
  /** Share of programs run with the small gather geometry SMALL_GATHER, 0..1 (default 0.5). */
  smallGatherShare?: number;
}

const MTHP_SIZES = ["16K", "32K", "64K", "128K", "256K", "512K", "1M", "2M"] as const;

/** fast-check arbitrary of programs. */
export function programArbitrary(shape: ProgramShape = {}): fc.Arbitrary<GenProgram> {
  const minPages = Math.max(1, Math.round((shape.minMappingMiB ?? 1) * 256));
  const maxPages = Math.max(minPages, Math.round((shape.maxMappingMiB ?? 8) * 256));
  const idx = fc.nat({ max: 1 << 16 });
  const range = { p: fc.nat({ max: 7 }), m: fc.nat({ max: 7 }), off: idx, len: idx };
  const opArbs: Array<fc.WeightedArbitrary<GenOp>> = [
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant("write" as const),
        ...range,
        stride: fc.oneof(fc.constant(0), idx),
        value: fc.integer({ min: 1, max: 0xffff }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant("read" as const), ...range, stride: fc.oneof(fc.constant(0), idx) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant("munmap" as const), ...range, stride: fc.oneof(fc.constant(0), idx) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("mprotect" as const),
        ...range,
        prot: fc.constantFrom<GenProt>("r", "rw", "none", "rw"),
      }),
    },
  ];
  const advice: GenAdvice[] = ["dontneed", "dontneed", "hugepage", "nohugepage", "free", "free", "pageout"];
  opArbs.push({
    weight: 3,
    arbitrary: fc.record({ t: fc.constant("madvise" as const), ...range, advice: fc.constantFrom(...advice) }),
  });
  opArbs.push({ weight: 2, arbitrary: fc.record({ t: fc.constant("fork" as const), p: fc.nat({ max: 7 }) }) });
  opArbs.push({ weight: 1, arbitrary: fc.record({ t: fc.constant("reclaim" as const) }) });
  opArbs.push({ weight: 1, arbitrary: fc.record({ t: fc.constant("pin" as const), ...range }) });
  opArbs.push({ weight: 1, arbitrary: fc.record({ t: fc.constant("unpin" as const), ...range }) });

  const mthp = fc
    .array(fc.tuple(fc.constantFrom(...MTHP_SIZES), fc.constantFrom("always", "always", "madvise", "never" as const)), {
      maxLength: 4,
    })
    .map((pairs) => Object.fromEntries(pairs) as GenProgram["mthp"]);
  const shmem = fc
    .array(
      fc.tuple(fc.constantFrom(...MTHP_SIZES), fc.constantFrom("always", "always", "within_size", "advise", "never" as const)),
      { maxLength: 3 },
    )
    .map((pairs) => Object.fromEntries(pairs) as NonNullable<GenProgram["shmem"]>);
  const mapping = fc.record({
    kind: fc.constantFrom<GenKind>("anon", "anon", "anon", "file-private", "file-shared", "shmem", "shmem"),
    pages: fc.integer({ min: minPages, max: maxPages }),
    align: fc.constantFrom(0, 0, 1, 16, 256),
    fill: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 0xffff }) }, { weight: 1, arbitrary: fc.constant(0) }),
  });
  const share = (p: number) =>
    fc.oneof(
      { weight: Math.round(100 * (1 - p)), arbitrary: fc.constant(false) },
      { weight: Math.round(100 * p), arbitrary: fc.constant(true) },
    );
  return fc.record({
    arch: fc.oneof(
      { weight: 9, arbitrary: fc.constant("x86_64" as const) },
      { weight: shape.s390Weight ?? 1, arbitrary: fc.constant("s390" as const) },
    ),
    mthp,
    shmem,
    swap: share(shape.swapShare ?? 0.5),
    smallGather: share(shape.smallGatherShare ?? 0.5),
    mappings: fc.array(mapping, { minLength: 1, maxLength: shape.maxMappings ?? 3 }),
    ops: fc.array(fc.oneof(...opArbs), { minLength: 0, maxLength: shape.maxOps ?? 12 }),
  });
}

// ---- the scenario builder ------------------------------------------------------------

/** Page state the builder tracks: what an access may do without a segmentation fault. */
const UNMAPPED = 0;
const PROT_NONE = 1;
const PROT_R = 2;
const PROT_RW = 3;

interface BuildProc {
  name: string;
  pages: Uint8Array[];
  /**
   * Pages MADV_FREE made lazyfree and nothing has reclaimed yet. Random programs never write to
   * them: a redirtied page inside a lazyfree folio is where strategies may legitimately differ
   * (6.15+ batched reclaim keeps the whole batch, per-PTE reclaim discards the clean pages before
   * the dirty one), and core's vmscan tests pin both behaviours down exactly.
   */
  lazy: Uint8Array[];
}

function size(pages: number): string {
  return `${pages * 4}K`;
}

/** [start, end) page ranges an op addresses, as runScenario resolves them. */
function ranges(nrPages: number, off: number, len: number, stride: number): Array<[number, number]> {
  if (stride === 0) return [[off, off + len]];
  const out: Array<[number, number]> = [];
  for (let s = off; s + len <= nrPages; s += stride) out.push([s, s + len]);
  return out;
}

/** Maximal runs of pages inside `rs` whose state satisfies ok(). */
function accessibleRuns(
  state: Uint8Array,
  rs: Array<[number, number]>,
  ok: (s: number, v: number) => boolean,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of rs) {
    let runStart = -1;
    for (let v = s; v <= e; v++) {
      const good = v < e && ok(state[v] as number, v);
      if (good && runStart < 0) runStart = v;
      else if (!good && runStart >= 0) {
        out.push([runStart, v]);
        runStart = -1;
      }
    }
  }
  return out;
}

const MAX_SPLIT_RUNS = 4;

/** An op that can run in a named process (all but reclaim). */
type ProcOp = Exclude<ScenarioOp, { op: "reclaim" }>;

/**
 * Turn a generated program into scenario JSON: mmaps first, the ops with their raw numbers
 * reduced into range, accesses narrowed to pages that are mapped with the needed protection,
 * and an exit of every process at the end (children first, main last).
 */
export function programToScenario(program: GenProgram, name = "property"): Scenario {
  const ops: ScenarioOp[] = [];
  const main: BuildProc = { name: "main", pages: [], lazy: [] };
  program.mappings.forEach((m, i) => {
    ops.push({ op: "mmap", id: `m${i}`, size: size(m.pages), kind: m.kind, ...(m.align ? { align: size(m.align) } : {}) });
    main.pages.push(new Uint8Array(m.pages).fill(PROT_RW));
    main.lazy.push(new Uint8Array(m.pages));
  });
  program.mappings.forEach((m, i) => {
    if (m.fill !== 0) ops.push({ op: "write", id: `m${i}`, value: m.fill });
  });
  const procs: BuildProc[] = [main];
  let forks = 0;
  const withProc = (proc: BuildProc, op: ProcOp): ScenarioOp => (proc.name === "main" ? op : { ...op, proc: proc.name });

  for (const g of program.ops) {
    if (g.t === "reclaim") {
      ops.push({ op: "reclaim" });
      // Clean lazyfree folios are discarded whatever the strategy's batching.
      for (const p of procs) for (const l of p.lazy) l.fill(0);
      continue;
    }
    const proc = procs[g.p % procs.length] as BuildProc;
    if (g.t === "fork") {
      const child: BuildProc = {
        name: `c${++forks}`,
        pages: proc.pages.map((s) => s.slice()),
        lazy: proc.lazy.map((l) => l.slice()),
      };
      ops.push(withProc(proc, { op: "fork", as: child.name }));
      procs.push(child);
      continue;
    }
    const mi = g.m % program.mappings.length;
    const mapping = program.mappings[mi] as GenMapping;
    const state = proc.pages[mi] as Uint8Array;
    const lazy = proc.lazy[mi] as Uint8Array;
    const nr = mapping.pages;
    const off = g.off % nr;
    const len = 1 + (g.len % (nr - off));
    const id = `m${mi}`;
    const rangeOp = (o: number, l: number) => ({ id, offset: size(o), length: size(l) });
    switch (g.t) {
      case "write":
      case "read": {
        const stride = g.stride === 0 ? 0 : len + (g.stride % nr);
        const rs = ranges(nr, off, len, stride);
        const need =
          g.t === "write"
            ? (s: number, v: number) => s === PROT_RW && lazy[v] === 0
            : (s: number) => s === PROT_R || s === PROT_RW;
        const runs = accessibleRuns(state, rs, need);
        const whole = runs.length === rs.length && runs.every((r, i) => r[0] === rs[i]?.[0] && r[1] === rs[i]?.[1]);
        const extra = g.t === "write" ? { value: g.value } : {};
        if (whole) {
          ops.push(withProc(proc, { op: g.t, ...rangeOp(off, len), ...(stride ? { stride: size(stride) } : {}), ...extra }));
        } else {
          for (const [s, e] of runs.slice(0, MAX_SPLIT_RUNS))
            ops.push(withProc(proc, { op: g.t, ...rangeOp(s, e - s), ...extra }));
        }
        break;
      }
      case "pin": {
        // A long-term write pin (GUP) of at most 64 pages: faults them in like a write.
        const n = Math.min(len, 64);
        const runs = accessibleRuns(state, [[off, off + n]], (s, v) => s === PROT_RW && lazy[v] === 0);
        for (const [s, e] of runs.slice(0, MAX_SPLIT_RUNS)) ops.push(withProc(proc, { op: "pin", ...rangeOp(s, e - s) }));
        break;
      }
      case "unpin":
        ops.push(withProc(proc, { op: "unpin", ...rangeOp(off, len) }));
        break;
      case "munmap": {
        const stride = g.stride === 0 ? 0 : len + (g.stride % nr);
        for (const [s, e] of ranges(nr, off, len, stride)) {
          state.fill(UNMAPPED, s, e);
          lazy.fill(0, s, e);
        }
        ops.push(withProc(proc, { op: "munmap", ...rangeOp(off, len), ...(stride ? { stride: size(stride) } : {}) }));
        break;
      }
      case "mprotect": {
        const to = g.prot === "r" ? PROT_R : g.prot === "rw" ? PROT_RW : PROT_NONE;
        for (let v = off; v < off + len; v++) if (state[v] !== UNMAPPED) state[v] = to;
        ops.push(withProc(proc, { op: "mprotect", ...rangeOp(off, len), prot: g.prot }));
        break;
      }
      case "madvise": {
        // MADV_FREE applies to private anon memory only.
        if (g.advice === "free" && mapping.kind !== "anon") break;
        ops.push(withProc(proc, { op: "madvise", ...rangeOp(off, len), advice: g.advice }));
        if (g.advice === "free") lazy.fill(1, off, off + len);
        if (g.advice === "dontneed") lazy.fill(0, off, off + len);
        break;
      }
    }
  }
  for (const p of procs.slice(1)) ops.push({ op: "exit", proc: p.name });
  ops.push({ op: "exit" });
  const config: ScenarioConfig = {};
  if (program.arch !== "x86_64") config.arch = program.arch;
  if (Object.keys(program.mthp).length > 0) config.mthp = { ...program.mthp };
  if (program.shmem && Object.keys(program.shmem).length > 0) config.shmem = { ...program.shmem };
  if (program.swap) config.swap = "64M";
  const scenario: Scenario = { name, ops };
  if (Object.keys(config).length > 0) scenario.config = config;
  return scenario;
}

// ---- the runner ----------------------------------------------------------------------

export interface PropertyOptions extends ProgramShape {
  /** Random sequences to run (default 100). */
  numRuns?: number;
  /** fast-check seed (default: random; printed in the report either way). */
  seed?: number;
  /** fast-check replay path of a previous failure (with its seed). */
  path?: string;
  /** Stop shrinking after this long (ms); default no limit. */
  interruptAfterTimeLimit?: number;
}

export interface PropertyReport {
  ok: boolean;
  strategy: string;
  numRuns: number;
  /** Sequences fast-check discarded (the reference itself refused them, e.g. out of model memory). */
  numSkips: number;
  numShrinks: number;
  seed: number;
  /** fast-check path of the counterexample, to replay with { seed, path }. */
  path?: string;
  durationMs: number;
  /** The shrunk failing sequence as scenario JSON, replayable by runScenario(). */
  counterexample?: Scenario;
  /** The equivalence report of the shrunk counterexample. */
  failure?: EquivalenceReport;
  /** A complete failure message, counterexample JSON included (empty when ok). */
  message: string;
}

class PropertyFailure extends Error {
  constructor(readonly report: EquivalenceReport) {
    super(formatEquivalenceReport(report));
  }
}

/** The strategy and the reference a program runs under (with SMALL_GATHER when it asks for it). */
function strategiesFor(strategy: ZapStrategy, program: GenProgram): { candidate: ZapStrategy; reference: ZapStrategy } {
  if (!program.smallGather) return { candidate: strategy, reference: perPage };
  return { candidate: withGatherGeometry(strategy, SMALL_GATHER), reference: withGatherGeometry(perPage, SMALL_GATHER) };
}

/** Check one generated program; throws PropertyFailure on a mismatch or violation. */
export function checkProgram(strategy: ZapStrategy, program: GenProgram): EquivalenceReport {
  const scenario = programToScenario(program);
  const { candidate, reference } = strategiesFor(strategy, program);
  return checkEquivalence(candidate, scenario, { cacheReference: false, observe: "before-exit", reference });
}

/**
 * Run the property outside any test framework: `numRuns` random sequences under the
 * strategy and per-page. On failure the report carries the shrunk counterexample as scenario
 * JSON and a message with everything needed to replay it.
 */
export function runProperty(strategy: ZapStrategy, options: PropertyOptions = {}): PropertyReport {
  const started = performance.now();
  // A run stopped at its time limit is the failure: nothing to shrink (each shrink would wait
  // out the limit again), so every later program passes and fast-check keeps this one.
  let timedOut: EquivalenceReport | undefined;
  const prop = fc.property(programArbitrary(options), (program) => {
    if (timedOut) return;
    const report = checkProgram(strategy, program);
    if (report.ok) return;
    if (report.error?.timedOut) timedOut = report;
    // The reference refused the sequence for a reason of its own (both refused alike is ok above).
    if (!report.error && report.referenceError?.kind === "scenario") fc.pre(false);
    throw new PropertyFailure(report);
  });
  const params: fc.Parameters<[GenProgram]> = { numRuns: options.numRuns ?? 100 };
  if (options.seed !== undefined) params.seed = options.seed;
  if (options.path !== undefined) params.path = options.path;
  if (options.interruptAfterTimeLimit !== undefined) params.interruptAfterTimeLimit = options.interruptAfterTimeLimit;
  const details = fc.check(prop, params);
  const durationMs = performance.now() - started;
  const base = {
    strategy: strategy.name,
    numRuns: details.numRuns,
    numSkips: details.numSkips,
    numShrinks: details.numShrinks,
    seed: details.seed,
    durationMs,
  };
  if (!details.failed) return { ...base, ok: true, message: "" };
  const lines = [
    `property failed for strategy "${strategy.name}" after ${details.numRuns} run(s), ${details.numShrinks} shrink(s)`,
  ];
  lines.push(`  replay: { seed: ${details.seed}, path: ${JSON.stringify(details.counterexamplePath)} }`);
  const report: PropertyReport = { ...base, ok: false, message: "" };
  if (details.counterexamplePath !== null) report.path = details.counterexamplePath;
  const program = details.counterexample?.[0];
  if (program) {
    const scenario = programToScenario(program, `property-counterexample-seed-${details.seed}`);
    report.counterexample = scenario;
    const { candidate, reference } = strategiesFor(strategy, program);
    const failure = timedOut ?? checkEquivalence(candidate, scenario, { cacheReference: false, observe: "each-op", reference });
    report.failure = failure;
    lines.push(
      failure.ok
        ? "  (the shrunk counterexample passes when rerun: a nondeterministic strategy?)"
        : formatEquivalenceReport(failure),
    );
    lines.push(
      program.smallGather
        ? `Shrunk counterexample as scenario JSON, run with the small gather geometry ${JSON.stringify(SMALL_GATHER)} (replay: runScenario(json, { strategy: withGatherGeometry(strategy, SMALL_GATHER) }) with withGatherGeometry and SMALL_GATHER from @foliolab/testkit/lib):`
        : "Shrunk counterexample as scenario JSON (replay: runScenario(json, { strategy })):",
    );
    lines.push(JSON.stringify(scenario));
  } else if (details.errorInstance) {
    lines.push(String(details.errorInstance));
  }
  if (details.interrupted) lines.push("(stopped early: time limit)");
  report.message = lines.join("\n");
  return report;
}
