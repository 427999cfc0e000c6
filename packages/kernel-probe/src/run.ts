/**
 * runOnKernel(): run a scenario on the real kernel and return the model's result contract
 * (ScenarioResult) with the kernel's own values, plus per-op wall times and a `missing` list.
 */

import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type ExpectResult,
  MEMINFO_NAMES,
  type ProcStatus,
  parseScenario,
  parseSize,
  type Scenario,
  type ScenarioOp,
  type ScenarioResult,
} from "@foliolab/core";
import { ensureRunner } from "./compile.js";
import { KernelProbeError } from "./errors.js";
import { type FolioLayout, folioLayout } from "./layout.js";
import { buildProgram, type Program, type Step } from "./program.js";
import { type KnobLine, type Reply, RunnerSession, type StatusLine } from "./session.js";
import { acquireProbeSwap, type ProbeSwap } from "./swap.js";
import { type CounterSnapshot, diffCounters, knobFile, readPolicy, snapshotCounters, THP_DIR, writePolicy } from "./sysfs.js";
import { DEFAULT_TOLERANCE_PERCENT, judgeField } from "./tolerance.js";

export interface MappingInfo {
  /** Virtual address in the proc (a number: user addresses fit in 2^53). */
  address: number;
  size: number;
}

export interface OpContext {
  index: number;
  op: ScenarioOp;
  /** Repetition (0-based) when `repeat` > 1. */
  rep: number;
  /** Pids of the live procs, by name. */
  pids: Record<string, number>;
  /** Live mappings per proc: where each scenario id sits. */
  mappings: Record<string, Record<string, MappingInfo>>;
}

export interface RunOnKernelOptions {
  /** Run the scenario this many times (fresh processes each time); times get median and spread. Default 1. */
  repeat?: number;
  /** Capture the folio layout of every live mapping at the end (needs root for PFNs). Default false. */
  layout?: boolean;
  /** Called after every op while all procs are paused, e.g. to read a folioLayout() mid-scenario. */
  onOp?: (ctx: OpContext) => void | Promise<void>;
  /** Longest wait for one op's answer. Default 120 s. */
  opTimeoutMs?: number;
  /**
   * Tolerance of `expect {counters}` on the system-wide fields (tolerance.ts), percent; the same
   * rule `foliolab kernel` applies to its table. Default DEFAULT_TOLERANCE_PERCENT.
   */
  tolerancePercent?: number;
  /** Longest wait for the runner to start, including waiting for another run's lock. Default 10 min. */
  readyTimeoutMs?: number;
  /** Where the compiled runner is cached (default node_modules/.cache/foliolab-probe or the temp dir). */
  cacheDir?: string;
  /** Parent directory of the run's temporary work dir (files of file-* mappings). Default os.tmpdir(). */
  tmpDir?: string;
  /**
   * Clock of the op timings: "wall" (CLOCK_MONOTONIC, default) or "cpu" (the proc's thread CPU
   * time, user + system: time other tasks ran on the CPU is left out, so timings hold on a
   * loaded machine). An exit on "cpu" is the exiting proc's CPU time from just before _exit() to its
   * end (its zombie's /proc/<pid>/schedstat): the whole teardown, exit_mmap() included.
   */
  clock?: "wall" | "cpu";
  /**
   * true: with config.swap and not enough active swap, as root set up a swap file in node for all
   * the repetitions and remove it after (swap.ts). Default false: the runner makes one per
   * repetition when the machine has no swap at all.
   */
  swap?: boolean;
  /** Lock file that serialises runs (the mTHP knobs are system-wide). Default /run/lock or the temp dir. */
  lockFile?: string;
}

export interface OpTiming {
  op: number;
  name: string;
  proc: string | undefined;
  /** Time in ns of each repetition on `clock`: clock_gettime around the syscall(s); for write/read the access
   *  loop (faults included); for exit from just before _exit() to the exited process's end (cpu: the
   *  sum_exec_runtime its zombie reports; wall: the moment its pidfd fires). */
  samples: number[];
  /** The clock the samples are on: the run's clock, or "wall" for an exit whose CPU time could not be read. */
  clock: "wall" | "cpu";
  median: number;
  min: number;
  max: number;
  /** (max - min) / median; 0 with one sample. */
  spread: number;
  /** Syscalls (or pages touched, for write/read) per repetition. */
  syscalls: number;
  /** 4K pages the op covers (0 when not meaningful: mmap, fork, exit). */
  pages: number;
  /** median / pages, when pages > 0. */
  nsPerPage: number | undefined;
}

export interface KnobChange {
  /** hugepages-<size>kB */
  dir: string;
  /** Value before the run (null: no such knob on this kernel). */
  original: string | null;
  wanted: string;
  /** ok: written (and restored after); same: already so; absent: no such knob; denied/error: could not write. */
  status: "ok" | "same" | "absent" | "denied" | "error";
  message?: string;
}

export interface KernelResult extends ScenarioResult {
  strategy: "linux";
  /** uname -r */
  kernel: string;
  repeat: number;
  /** Per op wall times (expect ops are not timed). */
  timings: OpTiming[];
  /** Dotted names of result fields the kernel could not give (e.g. "costs", "mthp.hugepages-64kB.split"). */
  missing: string[];
  /** Things that make this run differ from what the scenario asked (knobs not writable, no swap, ...). */
  warnings: string[];
  /** Ops the kernel refused (errno) or that faulted; the run goes on after them. */
  errors: Array<{ op: number; message: string }>;
  knobs: KnobChange[];
  /** Pid of every proc of the first repetition. */
  pids: Record<string, number>;
  /** Where each mapping was placed, per proc, at the end (first repetition). */
  mappings: Record<string, Record<string, MappingInfo>>;
  /**
   * kB of the swap file the runner enabled for this run (config.swap on a machine without swap;
   * swapoff and removed after the run). Absent when no file was made.
   */
  swapFileKb?: number;
  /** procs as read (kB), before subtracting the runner's own footprint. */
  procsRaw: Record<string, ProcStatus>;
  /** The runner's own footprint (main before op 0), subtracted from every proc in `procs`. */
  baseline: ProcStatus;
  /** With options.layout: folio layout of every live mapping at the end, per proc and id. */
  layouts?: Record<string, Record<string, FolioLayout>>;
  /** With repeat > 1: counter fields whose value differed between repetitions. */
  repeatsDiffer?: string[];
  /** Clock of the timings (see RunOnKernelOptions.clock). */
  clock: "wall" | "cpu";
  /**
   * What two back-to-back reads of that clock cost main (median of 63 pairs, first repetition),
   * taken off every op time: the end of the read before an op and the start of the one after
   * count in neither. About 0.6 us for the CPU clock in a PVM guest (a syscall), 30 ns for the
   * wall clock (vDSO). Absent from runners older than the field.
   */
  clockCostNs?: number;
  /** With config.swap: the swap the run had ("created": a probe swap file, removed after the run). */
  swap?: Omit<ProbeSwap, "warning">;
}

const PROC_FIELDS = ["RssAnon", "RssFile", "RssShmem", "VmSwap", "AnonHugePages"] as const;

function kernelArch(): string {
  return process.arch === "x64"
    ? "x86_64"
    : process.arch === "s390x"
      ? "s390"
      : process.arch === "arm64"
        ? "aarch64"
        : process.arch;
}

function lockPath(opt?: string): string {
  if (opt) return opt;
  try {
    if (statSync("/run/lock").isDirectory()) {
      accessSync("/run/lock", constants.W_OK);
      return "/run/lock/foliolab-kernel-probe.lock";
    }
  } catch {
    // fall through
  }
  return path.join(os.tmpdir(), "foliolab-kernel-probe.lock");
}

// ---- signal safety: knobs back and runners stopped on SIGINT/SIGTERM of this process ----
interface Active {
  session: RunnerSession;
  workdir: string;
}
const active = new Set<Active>();
let handlersInstalled = false;

function restoreKnobsSync(knobs: KnobLine[]): string[] {
  const problems: string[] = [];
  for (const k of knobs) {
    if (k.status !== "ok" || k.original === null) continue;
    if (readPolicy(k.dir) === k.original) continue;
    try {
      writePolicy(k.dir, k.original);
    } catch (e) {
      problems.push(`could not restore ${knobFile(k.dir)} to ${k.original}: ${(e as Error).message}`);
      continue;
    }
    problems.push(`restored ${knobFile(k.dir).slice(THP_DIR.length + 1)} to ${k.original} (the runner had not)`);
  }
  return problems;
}

function onSignal(sig: NodeJS.Signals): void {
  for (const a of active) {
    restoreKnobsSync(a.session.knobs);
    a.session.child.kill("SIGTERM");
    rmSync(a.workdir, { recursive: true, force: true });
  }
  active.clear();
  uninstallHandlers();
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
}

// ---- one repetition ----
interface OnceResult {
  counters: CounterSnapshot;
  procsRaw: Record<string, ProcStatus>;
  procs: Record<string, ProcStatus>;
  baseline: ProcStatus;
  expects: ExpectResult[];
  /** Per op: summed ns and syscalls; `wall` when the runner fell back to the wall clock (an exit). */
  times: Map<number, { ns: number; syscalls: number; wall?: boolean }>;
  errors: Array<{ op: number; message: string }>;
  knobs: KnobLine[];
  warnings: string[];
  missing: string[];
  pids: Record<string, number>;
  mappings: Record<string, Record<string, MappingInfo>>;
  layouts: Record<string, Record<string, FolioLayout>> | undefined;
  clockCostNs: number | undefined;
}

function statusOf(s: StatusLine): ProcStatus {
  return { RssAnon: s.RssAnon, RssFile: s.RssFile, RssShmem: s.RssShmem, VmSwap: s.VmSwap, AnonHugePages: s.AnonHugePages };
}

/**
 * An expect's counters against the kernel's, by the same rule as `foliolab kernel`'s table
 * (tolerance.ts): exact, except the system-wide fields, which pass within their allowance.
 */
function compareCounters(
  expected: Record<string, unknown>,
  actual: unknown,
  pathName: string,
  out: string[],
  tol: { percent: number; ops: number },
): void {
  for (const [key, want] of Object.entries(expected)) {
    const have = (actual as Record<string, unknown> | undefined)?.[key];
    const p = pathName ? `${pathName}.${key}` : key;
    if (typeof want === "object" && want !== null) compareCounters(want as Record<string, unknown>, have, p, out, tol);
    else if (have === want) continue;
    else if (typeof have === "number" && typeof want === "number") {
      const v = judgeField(p, have, want, tol.percent, tol.ops);
      if (v === "mismatch") out.push(`${p}: expected ${want}, got ${have}`);
    } else out.push(`${p}: expected ${String(want)}, got ${have === undefined ? "nothing" : String(have)}`);
  }
}

async function runOnce(scenario: Scenario, program: Program, options: RunOnKernelOptions, rep: number): Promise<OnceResult> {
  const bin = ensureRunner(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  const opTimeout = options.opTimeoutMs ?? 120_000;
  const workdir = mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), "foliolab-probe-"));
  const lock = lockPath(options.lockFile);
  const journal = `${lock.replace(/\.lock$/, "")}.thp-journal`;
  const session = new RunnerSession(
    bin.path,
    ["run", workdir, lock, journal],
    options.clock === "cpu" ? { FOLIOLAB_PROBE_CLOCK: "cpu" } : undefined,
  );
  const entry: Active = { session, workdir };
  active.add(entry);
  installHandlers();

  const names = program.procNames;
  const live = new Map<number, string>([[0, "main"]]);
  const pids: Record<string, number> = {};
  const mappings: Record<string, Record<string, MappingInfo>> = { main: {} };
  const exited = new Map<string, ProcStatus>();
  const times = new Map<number, { ns: number; syscalls: number; wall?: boolean }>();
  const errors: Array<{ op: number; message: string }> = [];
  const expects: ExpectResult[] = [];
  const missing: string[] = [];
  let baseline: ProcStatus = { RssAnon: 0, RssFile: 0, RssShmem: 0, VmSwap: 0, AnonHugePages: 0 };
  let before: CounterSnapshot | undefined;

  const addTime = (i: number, r: Reply) => {
    const t = times.get(i) ?? { ns: 0, syscalls: 0 };
    t.ns += r.ns;
    t.syscalls += r.syscalls;
    times.set(i, t);
  };
  const liveStatuses = async (tag: string): Promise<Map<string, ProcStatus>> => {
    const m = new Map<string, ProcStatus>();
    let k = 0;
    for (const [id, name] of live) {
      const r = await session.request(`${tag}s${k++}`, id, "status", opTimeout);
      const s = r.statuses[0];
      if (s) m.set(name, statusOf(s));
    }
    return m;
  };
  const procView = (statuses: Map<string, ProcStatus>): Record<string, ProcStatus> => {
    const procs: Record<string, ProcStatus> = {};
    for (const name of names) {
      const raw = statuses.get(name) ?? exited.get(name);
      if (!raw) continue;
      const v = { ...raw };
      for (const f of PROC_FIELDS) v[f] = raw[f] < 0 ? raw[f] : raw[f] - baseline[f];
      procs[name] = v;
    }
    return procs;
  };

  try {
    await session.start(names.length, program.knobs, options.readyTimeoutMs ?? 600_000, program.swapBytes);
    pids.main = session.mainPid;
    const b = await session.request("b", 0, "status", opTimeout);
    if (b.statuses[0]) baseline = statusOf(b.statuses[0]);
    before = snapshotCounters();

    const steps = program.steps;
    for (let i = 0; i < steps.length; ) {
      const n = options.onOp ? 1 : pipelineRun(steps, i);
      if (n > 1) {
        await runPipelined(steps.slice(i, i + n) as Array<Extract<Step, { kind: "cmd" }>>);
        i += n;
        continue;
      }
      const step = steps[i++] as Step;
      await runStep(step);
      if (options.onOp) {
        await options.onOp({
          index: step.index,
          op: scenario.ops[step.index] as ScenarioOp,
          rep,
          pids: { ...pids },
          mappings: structuredClone(mappings),
        });
      }
    }

    const finalStatuses = await liveStatuses("e");
    const after = snapshotCounters();
    const counters = diffCounters(before, after);
    const procsRaw: Record<string, ProcStatus> = {};
    for (const name of names) {
      const raw = finalStatuses.get(name) ?? exited.get(name);
      if (raw) procsRaw[name] = raw;
      else missing.push(`procs.${name}`);
      for (const f of PROC_FIELDS) if (raw && raw[f] < 0) missing.push(`procs.${name}.${f}`);
    }
    let layouts: Record<string, Record<string, FolioLayout>> | undefined;
    if (options.layout) {
      layouts = {};
      for (const [, name] of live) {
        const pid = pids[name];
        if (pid === undefined) continue;
        const per: Record<string, FolioLayout> = {};
        for (const [id, m] of Object.entries(mappings[name] ?? {})) per[id] = folioLayout(pid, m.address, m.address + m.size);
        layouts[name] = per;
      }
    }
    await session.quit(30_000);
    return {
      counters,
      procsRaw,
      procs: procView(finalStatuses),
      baseline,
      expects,
      times,
      errors,
      knobs: session.knobs,
      warnings: session.warnings,
      missing,
      pids,
      mappings,
      layouts,
      clockCostNs: session.clockCost.get(0),
    };
  } finally {
    if (session.running) await session.kill();
    const problems = restoreKnobsSync(session.knobs);
    session.warnings.push(...problems);
    rmSync(workdir, { recursive: true, force: true });
    active.delete(entry);
    if (active.size === 0) uninstallHandlers();
  }

  /**
   * Consecutive small ops of one proc go to the runner at once: the proc finds the next command
   * already in its pipe and runs them back to back, as a benchmark's loop does, instead of
   * sleeping for each (a context switch to the controller and back between two madvise calls,
   * which left each call a flushed TLB and cold caches the loop never has). Replies are taken in
   * order, each as runStep() would.
   */
  async function runPipelined(batch: Array<Extract<Step, { kind: "cmd" }>>): Promise<void> {
    const sent = batch.map((step) => {
      const p = session.request(String(step.index), step.procId, step.line, opTimeout);
      p.catch(() => {});
      return p;
    });
    for (let k = 0; k < batch.length; k++) {
      const step = batch[k] as Extract<Step, { kind: "cmd" }>;
      const r = await (sent[k] as Promise<Reply>);
      if (!r.ok) errors.push({ op: step.index, message: r.message });
      else addTime(step.index, r);
    }
  }

  async function runStep(step: Step): Promise<void> {
    const tok = String(step.index);
    switch (step.kind) {
      case "reclaim": {
        // One reclaim of the scenario's memory cgroup (memory.force_empty) covers every proc in it:
        // the first live proc asks for it.
        const [id] = live.keys();
        if (id === undefined) {
          errors.push({ op: step.index, message: "reclaim: no live process" });
          return;
        }
        const r = await session.request(tok, id, "reclaim", opTimeout);
        if (r.ok) addTime(step.index, r);
        else errors.push({ op: step.index, message: r.message });
        return;
      }
      case "exit": {
        const pid = pids[step.proc];
        const r = await session.request(tok, step.procId, `exit ${pid ?? 0}`, opTimeout);
        const s = r.statuses[0];
        if (s) exited.set(step.proc, statusOf(s));
        live.delete(step.procId);
        delete mappings[step.proc];
        if (r.ok) {
          addTime(step.index, r);
          if (r.extra === "wall") (times.get(step.index) as { wall?: boolean }).wall = true;
        } else errors.push({ op: step.index, message: r.message });
        return;
      }
      case "expect": {
        const problems: string[] = [];
        if (step.peek && step.value !== undefined) {
          const r = await session.request(tok, step.procId, `load ${step.peek.slot} ${step.peek.offset}`, opTimeout);
          const where = `${step.peek.id}+${step.peek.offsetText}`;
          if (!r.ok || !r.peek) problems.push(`${step.proc} cannot read ${where}: ${r.message}`);
          else if (r.peek.state === "unmapped") problems.push(`${step.proc} reads nothing at ${where}: not mapped`);
          else if (r.peek.state === "fault") problems.push(`${step.proc} cannot read ${where}: fault`);
          else if (r.peek.value !== step.value)
            problems.push(`${step.proc} reads ${r.peek.value} at ${where}, expected ${step.value}`);
        }
        if (step.pinned !== undefined) missing.push(`expects.${step.index}.pinned`);
        if (step.counters) {
          const now = diffCounters(before!, snapshotCounters());
          const statuses = await liveStatuses(`${tok}:`);
          const view = { mthp: now.mthp, vmstat: now.vmstat, meminfo: now.meminfo, procs: procView(statuses) };
          const tol = { percent: options.tolerancePercent ?? DEFAULT_TOLERANCE_PERCENT, ops: scenario.ops.length };
          compareCounters(step.counters, view, "", problems, tol);
        }
        expects.push({ op: step.index, ok: problems.length === 0, message: problems.length === 0 ? "ok" : problems.join("; ") });
        return;
      }
      default: {
        const r = await session.request(tok, step.procId, step.line, opTimeout);
        if (!r.ok) {
          errors.push({ op: step.index, message: r.message });
          return;
        }
        addTime(step.index, r);
        if ((step.kind === "mmap" || step.kind === "mremap") && r.extra) {
          const m = (mappings[step.proc] ??= {});
          m[step.id] = { address: Number.parseInt(r.extra, 16), size: step.pages * 4096 || sizeFromLine(step.line) };
        }
        if (step.kind === "fork" && r.extra) {
          pids[step.child] = Number(r.extra);
          live.set(step.childId, step.child);
          mappings[step.child] = structuredClone(mappings[step.proc] ?? {});
        }
      }
    }
  }
}

function sizeFromLine(line: string): number {
  // "mmap <slot> <size> ..." / "mremap <slot> <off> <len> <new>"
  const p = line.split(" ");
  return Number(p[0] === "mmap" ? p[2] : p[3]);
}

function knobChanges(lines: KnobLine[], warnings: string[], missing: string[]): KnobChange[] {
  return lines.map((k) => {
    const knob = knobFile(k.dir);
    const shmem = k.dir.endsWith("/shmem_enabled");
    const field = shmem ? `config.shmem.${k.dir.slice(0, -"/shmem_enabled".length)}` : `config.mthp.${k.dir}`;
    if (k.status === "ok" || k.status === "same") return { dir: k.dir, original: k.original, wanted: k.wanted, status: k.status };
    if (k.status === "absent") {
      if (k.wanted !== "never") {
        warnings.push(`${knob} does not exist (kernel without mTHP of this size): the scenario wants ${k.wanted}`);
        missing.push(field);
      }
      return { dir: k.dir, original: null, wanted: k.wanted, status: "absent" };
    }
    const msg = k.status.replace(/^err:/, "");
    const denied = /permission|not permitted/i.test(msg);
    warnings.push(
      `needs write access to ${knob} (it is ${k.original}, the scenario wants ${k.wanted}${denied ? "; run as root" : ""}): ${msg}`,
    );
    missing.push(field);
    return { dir: k.dir, original: k.original, wanted: k.wanted, status: denied ? "denied" : "error", message: msg };
  });
}

/** Pids (other than ours) with MADV_HUGEPAGE regions: with a small size set to madvise they fault mTHPs too. */
function hugepageUsers(exclude: Set<number>): number[] {
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  for (const d of entries) {
    const pid = Number(d);
    if (exclude.has(pid)) continue;
    try {
      if (/^VmFlags:.* hg/m.test(readFileSync(`/proc/${d}/smaps`, "utf8"))) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function flatten(o: unknown, prefix: string, out: Map<string, unknown>): void {
  if (typeof o === "object" && o !== null) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, o);
}

/**
 * Run a scenario (object or JSON text, the model's format) on this machine's kernel.
 * Invalid scenarios throw ScenarioError before anything runs; an unusable machine (not Linux,
 * no C compiler) throws KernelProbeError. Ops the kernel refuses are reported in `errors`.
 */
export async function runOnKernel(spec: unknown, options: RunOnKernelOptions = {}): Promise<KernelResult> {
  const scenario = parseScenario(spec);
  const program = buildProgram(scenario);
  if (process.platform !== "linux") throw new KernelProbeError(`the kernel probe needs Linux (this is ${process.platform})`);
  const repeat = Math.max(1, Math.floor(options.repeat ?? 1));
  const runs: OnceResult[] = [];
  const wantSwap = scenario.config?.swap === undefined ? 0 : (parseSize(scenario.config.swap) ?? 0);
  const swap = options.swap === true ? acquireProbeSwap(wantSwap) : undefined;
  let swapProblem: string | undefined;
  try {
    for (let rep = 0; rep < repeat; rep++) runs.push(await runOnce(scenario, program, options, rep));
  } finally {
    swapProblem = swap?.release();
  }
  const first = runs[0] as OnceResult;

  const SWAP_NOTE = "swap: a swap file of ";
  const swapNote = runs[0]?.warnings.find((w) => w.startsWith(SWAP_NOTE));
  const warnings = [...new Set(runs.flatMap((r) => r.warnings))].filter((w) => !w.startsWith(SWAP_NOTE));
  const missing = [...first.counters.missing, ...first.missing, "costs"];
  const knobs = knobChanges(first.knobs, warnings, missing);
  const always = knobs.filter((k) => k.wanted === "always" && k.status !== "absent").map((k) => k.dir);
  if (always.length > 0) {
    warnings.push(
      `${always.join(", ")} set to "always" hands those folio sizes to every process on the machine: the system-wide counters (mthp, vmstat, meminfo) include their faults; prefer "madvise" with MADV_HUGEPAGE`,
    );
  }
  const smallMadvise = knobs.some((k) => k.wanted === "madvise" && k.dir !== "hugepages-2048kB" && k.original !== "madvise");
  if (smallMadvise) {
    const others = hugepageUsers(new Set([process.pid]));
    if (others.length > 0) {
      warnings.push(
        `${others.length} other process(es) have MADV_HUGEPAGE regions (pids ${others.slice(0, 8).join(", ")}${others.length > 8 ? ", ..." : ""}): their faults during the run count in the same system-wide counters; per-process values (procs, layouts) are exact`,
      );
    }
  }
  const arch = kernelArch();
  const c = scenario.config ?? {};
  if (c.arch !== undefined && c.arch !== arch) warnings.push(`the scenario models ${c.arch}, this machine is ${arch}`);
  if (c.swap !== undefined && wantSwap > 0) {
    // The runner makes a swap file of its own when none is active (swapNote); ours comes first when we can.
    if ((swap === undefined || swap.kind === "none") && swapNote === undefined) {
      warnings.push(
        `the scenario asks for swap (${c.swap}) but ${swap?.warning ?? "this machine has none and no swap file could be enabled"}: nothing is swapped out`,
      );
    }
  }
  if (swapProblem) warnings.push(swapProblem);
  if (c.memory !== undefined) warnings.push("config.memory is the model's memory size; the kernel uses the machine's memory");

  const timings: OpTiming[] = [];
  for (const step of program.steps) {
    if (step.kind === "expect") continue;
    const samples = runs.map((r) => r.times.get(step.index)?.ns).filter((x): x is number => x !== undefined);
    if (samples.length === 0) continue;
    const med = median(samples);
    const min = Math.min(...samples);
    const max = Math.max(...samples);
    const pages = "pages" in step ? step.pages : 0;
    timings.push({
      op: step.index,
      name: step.name,
      proc: "proc" in step ? step.proc : undefined,
      samples,
      clock: options.clock === "cpu" && !runs.some((r) => r.times.get(step.index)?.wall) ? "cpu" : "wall",
      median: med,
      min,
      max,
      spread: med > 0 ? (max - min) / med : 0,
      syscalls: first.times.get(step.index)?.syscalls ?? 0,
      pages,
      nsPerPage: pages > 0 ? med / pages : undefined,
    });
  }

  const result: KernelResult = {
    scenario: scenario.name,
    strategy: "linux",
    arch,
    mthp: first.counters.mthp,
    vmstat: first.counters.vmstat,
    meminfo: Object.fromEntries(MEMINFO_NAMES.map((n) => [n, first.counters.meminfo[n] ?? 0])) as KernelResult["meminfo"],
    procs: first.procs,
    expects: first.expects,
    costs: {},
    kernel: os.release(),
    clock: options.clock ?? "wall",
    repeat,
    timings,
    missing: [...new Set(missing)],
    warnings,
    errors: first.errors,
    knobs,
    pids: first.pids,
    mappings: first.mappings,
    procsRaw: first.procsRaw,
    baseline: first.baseline,
  };
  if (first.layouts) result.layouts = first.layouts;
  if (first.clockCostNs !== undefined) result.clockCostNs = first.clockCostNs;
  if (swap && wantSwap > 0) result.swap = { kind: swap.kind, bytes: swap.bytes, ...(swap.path ? { path: swap.path } : {}) };
  if (swapNote) result.swapFileKb = Number.parseInt(swapNote.slice(SWAP_NOTE.length), 10);
  if (repeat > 1) {
    const ref = new Map<string, unknown>();
    flatten({ mthp: first.counters.mthp, procs: first.procs }, "", ref);
    const differ = new Set<string>();
    for (const r of runs.slice(1)) {
      const m = new Map<string, unknown>();
      flatten({ mthp: r.counters.mthp, procs: r.procs }, "", m);
      for (const [k, v] of ref) if (m.get(k) !== v) differ.add(k);
    }
    result.repeatsDiffer = [...differ];
  }
  return result;
}

/** Ops a proc is sent at once: at most this many, each of at most PIPELINE_MAX_PAGES pages. */
export const PIPELINE_MAX_OPS = 256;
const PIPELINE_MAX_PAGES = 512;

/**
 * How many steps from i on can be sent at once (1: this one alone): plain commands (madvise,
 * write, read, munmap, mprotect, pin) of the same proc, each over at most 2M, whose replies
 * nothing in between waits for.
 */
export function pipelineRun(steps: readonly Step[], i: number): number {
  const first = steps[i];
  if (first?.kind !== "cmd" || first.pages > PIPELINE_MAX_PAGES) return 1;
  let n = 1;
  while (n < PIPELINE_MAX_OPS) {
    const s = steps[i + n];
    if (s?.kind !== "cmd" || s.procId !== first.procId || s.pages > PIPELINE_MAX_PAGES) break;
    n++;
  }
  return n;
}

/**
 * One result from several runs of the same scenario taken at different times (each a KernelResult,
 * e.g. one per pass over a set of scenarios, so a slow minute of the machine does not hit every
 * sample of one): every op's samples in run order with their median and spread recomputed; counters,
 * procs, mappings and errors are the first run's, warnings and missing fields those of any run,
 * and `repeatsDiffer` names the counter fields that differed between them.
 */
export function mergeKernelResults(results: readonly KernelResult[]): KernelResult {
  const first = results[0];
  if (first === undefined) throw new KernelProbeError("mergeKernelResults: no results to merge");
  if (results.length === 1) return first;
  for (const r of results) {
    if (r.scenario !== first.scenario) throw new KernelProbeError(`mergeKernelResults: ${r.scenario} is not ${first.scenario}`);
  }
  const timings: OpTiming[] = first.timings.map((t) => {
    const parts = results.map((r) => r.timings.find((x) => x.op === t.op));
    const samples = parts.flatMap((p) => p?.samples ?? []);
    const med = median(samples);
    return {
      ...t,
      samples,
      clock: parts.some((p) => p?.clock === "wall") ? "wall" : t.clock,
      median: med,
      min: Math.min(...samples),
      max: Math.max(...samples),
      spread: med > 0 ? (Math.max(...samples) - Math.min(...samples)) / med : 0,
      nsPerPage: t.pages > 0 ? med / t.pages : undefined,
    };
  });
  const ref = new Map<string, unknown>();
  flatten({ mthp: first.mthp, procs: first.procs }, "", ref);
  const differ = new Set<string>(results.flatMap((r) => r.repeatsDiffer ?? []));
  for (const r of results.slice(1)) {
    const m = new Map<string, unknown>();
    flatten({ mthp: r.mthp, procs: r.procs }, "", m);
    for (const [k, v] of ref) if (m.get(k) !== v) differ.add(k);
  }
  return {
    ...first,
    repeat: results.reduce((n, r) => n + r.repeat, 0),
    timings,
    warnings: [...new Set(results.flatMap((r) => r.warnings))],
    missing: [...new Set(results.flatMap((r) => r.missing))],
    repeatsDiffer: [...differ],
  };
}
