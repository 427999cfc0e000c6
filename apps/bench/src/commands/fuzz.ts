/**
 * `foliolab fuzz`: random programs, two ways.
 *
 * - `--kernel`: a differential fuzzer against this machine's kernel. Random scenario programs
 *   within what @foliolab/kernel-probe runs (anon and file mappings, mTHP sizes on `madvise`,
 *   writes and reads, munmap, madvise, mprotect, mremap, fork and exit, long-term pins, swap,
 *   MADV_PAGEOUT, reclaim (of the probe's memory cgroup), checked loads) run on the kernel and
 *   on the model with folio-batch (what Linux 6.18
 *   runs); every field `foliolab kernel` compares is compared by the same rule (system-wide
 *   noise tolerated only as the probe's tolerance rule says). A disagreement must repeat on
 *   three kernel runs with the same kernel value (a field that agrees once, or whose kernel
 *   value moves between runs, is noise from other processes: the system-wide counters and
 *   gauges count every process on the machine), is shrunk op by
 *   op to a minimal program that still disagrees on one of the same fields, and is saved as a
 *   scenario file with both results. The last line is `K/N programs agree`.
 * - without `--kernel`: the testkit's fuzz script (packages/testkit/scripts/fuzz.mjs): random
 *   operation sequences under each strategy and under per-page, checker on.
 *
 * Exit 0: every program agrees; 1: a disagreement (or a strategy failed the property); 2: bad
 * flags; 3: the kernel cannot be used here.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseScenario, type ScenarioResult, type ZapStrategy } from "@foliolab/core";
import { type KernelResult, kernelAvailable, runOnKernel } from "@foliolab/kernel-probe";
import { type Command, InvalidArgumentError } from "commander";
import { intArg, listArg } from "../cli/args.js";
import { EXIT } from "../cli/errors.js";
import { type CommandContext, type Io, printError } from "../cli/io.js";
import { compareKernelModel, KERNEL_STRATEGY, modelRun, unusableMessage } from "../kernel-compare.js";
import { loadProfile } from "../profile.js";
import { loadStrategies } from "../strategies.js";
import { rng } from "../workloads.js";

interface FuzzFlags {
  kernel?: boolean;
  runs?: number;
  seed?: number;
  json?: boolean;
  out?: string;
  strategy?: string[];
  maxMib: number;
  shrinkBudget: number;
  kinds?: string[];
}

const K = 1024;
const PAGE = 4 * K;

type Op = Record<string, unknown> & { op: string };
export interface Program {
  name: string;
  config: { mthp: Record<string, string>; swap?: string };
  ops: Op[];
}

/** Per-page state of one mapping the generator tracks, so every op it emits is one the kernel performs. */
interface MapState {
  kind: "anon" | "file-private" | "file-shared";
  pages: number;
  mapped: boolean[];
  prot: string[];
  huge: boolean[];
}

const SIZES_KB = [16, 32, 64, 128, 256, 512, 2048];

/** The mapping kinds the generator can map (`--kinds`). */
export const FUZZ_KINDS = ["anon", "file-private", "file-shared"] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/**
 * One random program. Sizes stay on `madvise` or `never` ("always" hands the size to every
 * process on the machine, and the system-wide counters then count theirs); ranges are 64K
 * aligned so folios of every size get partially and wholly covered.
 */
export function generateProgram(seed: number, maxMiB = 4, kinds: readonly FuzzKind[] = FUZZ_KINDS): Program {
  // Anon mappings four times as often as each file kind, among the kinds allowed.
  const kindPool = (["anon", "anon", "anon", "anon", "file-private", "file-shared"] as const).filter((k) => kinds.includes(k));
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => r() < p;
  const mthp: Record<string, string> = {};
  for (const kb of SIZES_KB) if (chance(0.35)) mthp[kb >= 1024 ? `${kb / 1024}M` : `${kb}K`] = "madvise";
  if (!("2M" in mthp)) mthp["2M"] = chance(0.5) ? "never" : "madvise";
  const config: Program["config"] = { mthp };
  const swap = chance(0.4);
  if (swap) config.swap = "64M";
  const ops: Op[] = [];
  const procs = new Map<string, Map<string, MapState>>([["main", new Map()]]);
  const pins: Array<{ proc: string; id: string; off: number; len: number }> = [];
  let nextId = 0;
  let nextProc = 1;
  const nOps = 4 + int(14);
  const UNIT = 16; // 64K in pages

  const liveProcs = () => [...procs.keys()];
  const withProc = (proc: string, op: Op): Op => (proc === "main" ? op : { ...op, proc });
  /** A 64K-aligned range of mapping m inside [0, pages): offset and length in pages. */
  const range = (m: MapState): [number, number] => {
    const units = m.pages / UNIT;
    const a = int(units);
    const b = a + 1 + int(Math.min(units - a, 1 + int(units)));
    let off = a * UNIT;
    let len = (Math.min(b, units) - a) * UNIT;
    if (chance(0.25)) {
      // a sub-64K range: one or a few pages inside the unit
      off += int(UNIT);
      len = 1 + int(Math.min(4, m.pages - off));
    }
    return [off, Math.min(len, m.pages - off)];
  };
  const all = (xs: boolean[] | string[], off: number, len: number, f: (x: never) => boolean) =>
    (xs.slice(off, off + len) as never[]).every(f);
  const ofs = (pages: number) => `${(pages * PAGE) / K}K`;

  for (let step = 0; step < nOps || ops.length === 0; step++) {
    const proc = pick(liveProcs());
    const maps = procs.get(proc) as Map<string, MapState>;
    const ids = [...maps.keys()].filter((id) => (maps.get(id) as MapState).mapped.some((x) => x));
    const roll = r();
    if (ids.length === 0 || (roll < 0.12 && ids.length < 4)) {
      const units = pick([1, 2, 4, 8, 16, 32, 64].filter((u) => u * 64 <= maxMiB * K));
      const kind = pick(kindPool);
      const id = `m${nextId++}`;
      const pages = units * UNIT;
      maps.set(id, {
        kind,
        pages,
        mapped: Array(pages).fill(true),
        prot: Array(pages).fill("rw"),
        huge: Array(pages).fill(false),
      });
      ops.push(withProc(proc, { op: "mmap", id, size: ofs(pages), kind }));
      if (kind === "anon" && chance(0.8)) {
        ops.push(withProc(proc, { op: "madvise", id, advice: "hugepage" }));
        (maps.get(id) as MapState).huge.fill(true);
      }
      continue;
    }
    const id = pick(ids);
    const m = maps.get(id) as MapState;
    const [off, len] = range(m);
    const mapped = all(m.mapped, off, len, (x: boolean) => x);
    const base = { id, offset: ofs(off), length: ofs(len) };
    if (roll < 0.42) {
      if (!mapped || !all(m.prot, off, len, (p: string) => p === "rw")) continue;
      const stride = chance(0.15) && len < m.pages - off ? { stride: ofs(len * 2) } : {};
      if ("stride" in stride) {
        let ok = true;
        for (let s = off; s + len <= m.pages; s += len * 2)
          ok &&= all(m.mapped, s, len, (x: boolean) => x) && all(m.prot, s, len, (p: string) => p === "rw");
        if (!ok) continue;
      }
      ops.push(withProc(proc, { op: "write", ...base, ...stride, ...(chance(0.1) ? { value: 0 } : {}) }));
    } else if (roll < 0.5) {
      if (!mapped || !all(m.prot, off, len, (p: string) => p !== "none")) continue;
      ops.push(withProc(proc, { op: "read", ...base }));
    } else if (roll < 0.62) {
      if (!mapped) continue;
      const advices = ["dontneed", "pageout", "cold", ...(m.kind === "anon" ? ["free", "free", "hugepage", "nohugepage"] : [])];
      const advice = pick(advices);
      if (advice === "free" && pins.some((p) => p.proc === proc && p.id === id)) continue;
      ops.push(withProc(proc, { op: "madvise", ...base, advice }));
      if (advice === "hugepage" || advice === "nohugepage") m.huge.fill(advice === "hugepage", off, off + len);
    } else if (roll < 0.68) {
      if (!mapped) continue;
      const prot = pick(["r", "rw", "rw", "none"]);
      if (prot !== "rw" && pins.some((p) => p.proc === proc && p.id === id)) continue;
      ops.push(withProc(proc, { op: "mprotect", ...base, prot }));
      m.prot.fill(prot, off, off + len);
    } else if (roll < 0.74) {
      if (!mapped || pins.some((p) => p.proc === proc && p.id === id)) continue;
      ops.push(withProc(proc, { op: "munmap", ...base }));
      m.mapped.fill(false, off, off + len);
    } else if (roll < 0.78) {
      // mremap a range of one VMA: uniform protection and hugepage flag, no pin.
      if (!mapped || len < UNIT || pins.some((p) => p.proc === proc && p.id === id)) continue;
      if (!all(m.prot, off, len, (p: string) => p === m.prot[off]) || !all(m.huge, off, len, (h: boolean) => h === m.huge[off]))
        continue;
      if (maps.size >= 5) continue;
      const to = `m${nextId++}`;
      ops.push(withProc(proc, { op: "mremap", ...base, to }));
      maps.set(to, {
        kind: m.kind,
        pages: len,
        mapped: Array(len).fill(true),
        prot: m.prot.slice(off, off + len),
        huge: m.huge.slice(off, off + len),
      });
      m.mapped.fill(false, off, off + len);
    } else if (roll < 0.84) {
      if (procs.size >= 3) continue;
      const as = `p${nextProc++}`;
      ops.push(withProc(proc, { op: "fork", as }));
      const copy = new Map<string, MapState>();
      for (const [k, v] of maps)
        copy.set(k, { ...v, mapped: [...v.mapped], prot: [...v.prot], huge: [...v.huge], pages: v.pages });
      procs.set(as, copy);
    } else if (roll < 0.87) {
      if (proc === "main") continue;
      ops.push({ op: "exit", proc });
      procs.delete(proc);
      for (let i = pins.length - 1; i >= 0; i--) if (pins[i]?.proc === proc) pins.splice(i, 1);
    } else if (roll < 0.9) {
      if (m.kind !== "anon" || !mapped || !all(m.prot, off, len, (p: string) => p === "rw") || pins.length >= 2) continue;
      ops.push(withProc(proc, { op: "pin", ...base }));
      pins.push({ proc, id, off, len });
    } else if (roll < 0.92) {
      const p = pins.findIndex((x) => x.proc === proc);
      if (p < 0) continue;
      const pin = pins[p] as (typeof pins)[number];
      ops.push(withProc(proc, { op: "unpin", id: pin.id, offset: ofs(pin.off), length: ofs(pin.len) }));
      pins.splice(p, 1);
    } else if (roll < 0.95) {
      ops.push({ op: "reclaim" });
    } else {
      const page = off + int(len);
      if (!m.mapped[page] || m.prot[page] === "none") continue;
      ops.push(withProc(proc, { op: "expect", id, offset: ofs(page), value: 0 }));
    }
  }
  return { name: `fuzz seed ${seed}`, config, ops };
}

/**
 * The model's values for the program's checked loads: each `expect {value}` gets what the model
 * reads there (a load on both sides), so the kernel's read is compared with the model's. Null
 * when the model refuses the program.
 */
export function withModelValues(
  p: Program,
  strategy: ZapStrategy,
): { program: Program; model: ReturnType<typeof modelRun> } | null {
  const profile = loadProfile(undefined);
  let program = p;
  for (let pass = 0; pass < 2; pass++) {
    let run: ReturnType<typeof modelRun>;
    try {
      parseScenario(program);
      run = modelRun(program, strategy, profile);
    } catch {
      return null;
    }
    const fixed = structuredClone(program);
    let changed = false;
    for (const e of run.result.expects) {
      const op = fixed.ops[e.op] as Op;
      if (e.ok || op.value === undefined) continue;
      const m = / reads (\d+) at /.exec(e.message);
      if (m) {
        op.value = Number(m[1]);
        changed = true;
      } else {
        // not readable on the model: drop the check rather than guess
        fixed.ops.splice(e.op, 1);
        return withModelValues(fixed, strategy);
      }
    }
    if (!changed) return { program, model: run };
    program = fixed;
  }
  return null;
}

export interface ProgramOutcome {
  program: Program;
  agree: boolean;
  /** Fields that mismatched in every kernel run. */
  fields: string[];
  kernel?: KernelResult;
  model?: ScenarioResult;
  rows?: Array<{ field: string; kernel: unknown; model: unknown }>;
}

type KernelRunner = typeof runOnKernel;

/** Run one program on the model and the kernel; confirm a disagreement with up to `confirm` more kernel runs. */
export async function judgeProgram(
  p: Program,
  strategy: ZapStrategy,
  run: KernelRunner,
  confirm = 2,
  only?: ReadonlySet<string>,
): Promise<ProgramOutcome | null> {
  const prepared = withModelValues(p, strategy);
  if (!prepared) return null;
  const { program, model } = prepared;
  let fields: Set<string> | undefined;
  const firstValue = new Map<string, unknown>();
  let last: { kernel: KernelResult; rows: Array<{ field: string; kernel: unknown; model: unknown }> } | undefined;
  for (let i = 0; i <= confirm; i++) {
    const kernel = await run(program);
    const cmp = compareKernelModel(kernel, model.result, {
      modelMemFreeStart: model.memFreeStart,
      opCount: program.ops.length,
    });
    const bad = cmp.rows.filter((x) => x.status === "mismatch");
    const now = new Map(bad.filter((x) => !only || only.has(x.field)).map((x) => [x.field, x.kernel]));
    // Stable: mismatched on every run so far, with the same kernel value each time.
    fields = fields ? new Set([...fields].filter((f) => now.has(f) && now.get(f) === firstValue.get(f))) : new Set(now.keys());
    if (i === 0) for (const [f, v] of now) firstValue.set(f, v);
    last = { kernel, rows: bad.map((x) => ({ field: x.field, kernel: x.kernel, model: x.model })) };
    if (fields.size === 0) break;
  }
  const list = [...(fields ?? [])];
  return {
    program,
    agree: list.length === 0,
    fields: list,
    ...(last ? { kernel: last.kernel, rows: last.rows } : {}),
    model: model.result,
  };
}

/**
 * Shrink a disagreeing program: drop ops (runs of them first, then one at a time) while the
 * smaller program still disagrees on one of the same fields. At most `budget` kernel checks.
 */
export async function shrinkProgram(
  found: ProgramOutcome,
  strategy: ZapStrategy,
  run: KernelRunner,
  budget: number,
): Promise<ProgramOutcome> {
  let best = found;
  let spent = 0;
  const target = new Set(found.fields);
  for (let chunk = Math.max(1, best.program.ops.length >> 1); chunk >= 1 && spent < budget; chunk >>= 1) {
    for (let i = best.program.ops.length - chunk; i >= 0 && spent < budget; i--) {
      const ops = [...best.program.ops.slice(0, i), ...best.program.ops.slice(i + chunk)];
      if (ops.length === 0) continue;
      const candidate: Program = { ...best.program, ops };
      spent++;
      const out = await judgeProgram(candidate, strategy, run, 1, target);
      if (out && !out.agree) {
        best = out;
        i = Math.min(i, best.program.ops.length - chunk + 1);
      }
    }
  }
  // Fewer config knobs too: each size set back to never.
  for (const size of Object.keys(best.program.config.mthp)) {
    if (spent >= budget || best.program.config.mthp[size] === "never") continue;
    const candidate: Program = structuredClone(best.program);
    candidate.config.mthp[size] = "never";
    spent++;
    const out = await judgeProgram(candidate, strategy, run, 1, target);
    if (out && !out.agree) best = out;
  }
  return best;
}

function kernelRunner(): KernelRunner {
  return (spec, options) => runOnKernel(spec, { ...options, opTimeoutMs: 60_000 });
}

async function fuzzKernel(flags: FuzzFlags, io: Io, run: KernelRunner): Promise<number> {
  const avail = kernelAvailable();
  const why = !avail.ok
    ? unusableMessage(avail)
    : !avail.root
      ? "cannot run on this machine's kernel: not root (the mTHP knobs and the swap file need it)"
      : !avail.mthp
        ? "cannot run on this machine's kernel: no mTHP (hugepages-<size>kB/enabled, Linux 6.8+)"
        : undefined;
  if (why) {
    printError(io, why);
    return EXIT.kernelUnusable;
  }
  const { loaded, failures } = await loadStrategies([KERNEL_STRATEGY], io.cwd);
  const strategy = loaded[0]?.strategy;
  if (!strategy) {
    printError(io, `strategy "${KERNEL_STRATEGY}" failed to load: ${failures[0]?.message ?? "not found"}`);
    return EXIT.failed;
  }
  const runs = flags.runs ?? 100;
  const seed = flags.seed ?? Date.now() >>> 0;
  const outDir = resolve(io.cwd, flags.out ?? `fuzz-kernel-${seed}`);
  let agree = 0;
  let judged = 0;
  let refused = 0;
  const disagreements: Array<{ seed: number; fields: string[]; file: string; ops: number; originalOps: number }> = [];
  const byField = new Map<string, number>();
  if (!flags.json)
    io.out(`fuzz --kernel: ${runs} programs, seed ${seed}, on Linux ${avail.kernel} against the model (${KERNEL_STRATEGY})\n`);
  for (let i = 0; i < runs; i++) {
    const s = (seed + i * 0x9e3779b1) >>> 0;
    const p = generateProgram(s, flags.maxMib, (flags.kinds ?? FUZZ_KINDS) as FuzzKind[]);
    let out: ProgramOutcome | null;
    try {
      out = await judgeProgram(p, strategy, run);
    } catch (e) {
      printError(io, `program ${i} (seed ${s}): the kernel run failed: ${(e as Error).message}`);
      return EXIT.failed;
    }
    if (!out) {
      refused++;
      continue;
    }
    judged++;
    if (out.agree) {
      agree++;
    } else {
      for (const f of out.fields) byField.set(f, (byField.get(f) ?? 0) + 1);
      const small = await shrinkProgram(out, strategy, run, flags.shrinkBudget);
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, `disagreement-${s}.json`);
      const scenario = { ...small.program, name: `fuzz seed ${s}, shrunk: ${small.fields.join(", ")}` };
      writeFileSync(join(outDir, `disagreement-${s}.scenario.json`), `${JSON.stringify(scenario, null, 2)}\n`);
      writeFileSync(
        file,
        `${JSON.stringify({ seed: s, fields: small.fields, rows: small.rows, scenario, original: out.program, kernel: small.kernel, model: small.model }, null, 2)}\n`,
      );
      disagreements.push({
        seed: s,
        fields: small.fields,
        file,
        ops: small.program.ops.length,
        originalOps: out.program.ops.length,
      });
      if (!flags.json)
        io.out(
          `  program ${i} (seed ${s}) disagrees on ${out.fields.join(", ")}; shrunk ${out.program.ops.length} -> ${small.program.ops.length} ops: ${file}\n`,
        );
    }
    if (!flags.json && io.isTTY) io.err(`\r  ${i + 1}/${runs} programs, ${agree}/${judged} agree   `);
  }
  if (!flags.json && io.isTTY) io.err("\n");
  const summary = `${agree}/${judged} programs agree`;
  if (flags.json) {
    io.out(
      `${JSON.stringify({ seed, runs, judged, agree, refusedByModel: refused, fields: Object.fromEntries(byField), disagreements, summary }, null, 2)}\n`,
    );
  } else {
    if (refused > 0) io.out(`${refused} generated program(s) the model refused were not run\n`);
    if (byField.size > 0) io.out(`fields that disagreed: ${[...byField].map(([f, n]) => `${f} (${n})`).join(", ")}\n`);
    io.out(`${summary}\n`);
  }
  return agree === judged ? EXIT.ok : EXIT.failed;
}

/** Without --kernel: packages/testkit/scripts/fuzz.mjs's loop (runProperty per strategy, per-page reference, checker on). */
async function fuzzModel(flags: FuzzFlags, io: Io): Promise<number> {
  const { runProperty } = await import("@foliolab/testkit/lib");
  const names = flags.strategy ?? [];
  const { loaded, failures } = await loadStrategies(names.length > 0 ? names : undefined, io.cwd);
  for (const f of failures) printError(io, `strategy "${f.name}" failed to load: ${f.message}`);
  if (failures.length > 0 && names.length > 0) return EXIT.failed;
  const runs = flags.runs ?? 100_000;
  const seed = flags.seed ?? Date.now() >>> 0;
  const chunk = 1000;
  let failed = false;
  const rows: Array<{ strategy: string; sequences: number; ok: boolean; message?: string }> = [];
  if (!flags.json) io.out(`fuzz: ${runs} sequences per strategy, seed ${seed}, mappings 1-${flags.maxMib} MiB\n`);
  for (const { strategy } of loaded) {
    let done = 0;
    let report: ReturnType<typeof runProperty> | undefined;
    for (let c = 0; done < runs; c++) {
      const n = Math.min(chunk, runs - done);
      report = runProperty(strategy, {
        numRuns: n,
        seed: (seed + c * 0x9e3779b1) >>> 0,
        minMappingMiB: 1,
        maxMappingMiB: flags.maxMib,
      });
      if (!report.ok) break;
      done += n;
    }
    const ok = report?.ok ?? true;
    if (!ok) failed = true;
    rows.push({
      strategy: strategy.name,
      sequences: ok ? done : done + (report?.numRuns ?? 0),
      ok,
      ...(ok ? {} : { message: report?.message ?? "" }),
    });
    if (!ok && !flags.json) io.out(`\n${strategy.name}: FAILED\n${report?.message}\n`);
  }
  if (flags.json) io.out(`${JSON.stringify({ seed, runs, strategies: rows }, null, 2)}\n`);
  else {
    for (const r of rows) io.out(`${r.strategy.padEnd(32)} ${String(r.sequences).padStart(10)}   ${r.ok ? "ok" : "FAIL"}\n`);
    io.out("(each sequence runs twice: under the strategy and under per-page, checker on)\n");
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/** `--kinds anon,file-shared`: a list of FUZZ_KINDS, each named once at least. */
function kindsArg(v: string, prev: string[] | undefined): string[] {
  const items = listArg("mapping kind")(v, prev);
  const bad = items.filter((k) => !(FUZZ_KINDS as readonly string[]).includes(k));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown mapping kind "${bad[0]}" (expected ${FUZZ_KINDS.join(", ")})`);
  return items;
}

export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("fuzz")
    .description(
      "Random programs. With --kernel: a differential fuzzer, each program on this machine's kernel and on the model (folio-batch), every field compared as `foliolab kernel` does, each disagreement shrunk to a minimal scenario file saved with both results; prints `K/N programs agree` last. Without --kernel: random operation sequences under each strategy and under per-page, checker on (the testkit's fuzz script). Exit 0: all agree; 1: a disagreement or a failed strategy; 2: bad flags; 3: the kernel cannot be used here.",
    )
    .option("--kernel", "differential fuzzing against this machine's kernel (root, mTHP)")
    .option("--runs <n>", "programs (--kernel; default 100) or sequences per strategy (default 100000)", intArg(1))
    .option("--seed <n>", "seed (default: from the clock, printed)", intArg(0))
    .option("--json", "print the summary as JSON")
    .option("--out <dir>", "where disagreements are saved (--kernel; default ./fuzz-kernel-<seed>)")
    .option("-s, --strategy <names>", "strategies to fuzz without --kernel (default: every built-in)", listArg("strategy"))
    .option("--max-mib <n>", "largest mapping, MiB", intArg(1), 4)
    .option("--kinds <list>", `mapping kinds the programs map (--kernel; default: ${FUZZ_KINDS.join(",")})`, kindsArg)
    .option("--shrink-budget <n>", "kernel runs allowed for shrinking each disagreement (--kernel)", intArg(0), 60)
    .action(async (flags: FuzzFlags) =>
      setCode(await (flags.kernel ? fuzzKernel(flags, io, kernelRunner()) : fuzzModel(flags, io))),
    );
}
