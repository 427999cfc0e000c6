/**
 * runScenario(): run a scenario under a strategy and return the result contract, a plain
 * JSON object whose names are the kernel's own (per-size mTHP stats, /proc/vmstat,
 * /proc/meminfo, /proc/PID/status), so the same scenario can be compared with a real kernel.
 */

import { costsToRecord, Ev } from "./costs.js";
import { InternalError, isDomainError, ScenarioError } from "./errors.js";
import { doFork } from "./fork.js";
import { pinUserPage, unpinUserPages } from "./gup.js";
import { isHugeZeroPmd } from "./huge-memory.js";
import { auditInvariants } from "./invariants.js";
import { defaultMthp, defaultShmem, Kernel, type KernelConfig, type ShmemPolicy, type ThpPolicy } from "./kernel.js";
import { madviseColdOrPageout, madviseFree } from "./madvise.js";
import { PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, type MmStruct, VM } from "./mm.js";
import { observedFreePages } from "./observe.js";
import { PTE, ptePfn } from "./page-table.js";
import { type Scenario, type ScenarioOp, sizeField } from "./scenario.js";
import {
  type MeminfoName,
  MODEL_LIMITS,
  type PlannedMapping,
  type PlannedOp,
  type PlannedRange,
  planScenario,
} from "./scenario-plan.js";
import { MTHP_STAT_NAMES, VMSTAT, VMSTAT_NAMES } from "./stats.js";
import type { ZapStrategy } from "./strategy.js";
import { installSwap } from "./swapfile.js";
import {
  doExit,
  doMmap,
  doMprotect,
  doMremap,
  doMunmap,
  madviseDontfork,
  madviseDontneed,
  madviseHugepage,
  madviseRandom,
  userAccessRange,
  userRead,
} from "./syscalls.js";
import { hugepagesDirName, MTHP_ORDERS, PAGE_SIZE, PTRS_PER_PTE, parseSize, sizeNameToOrder } from "./units.js";
import { reclaimPass } from "./vmscan.js";

export interface ProcStatus {
  RssAnon: number;
  RssFile: number;
  RssShmem: number;
  VmSwap: number;
  AnonHugePages: number;
}

export interface ExpectResult {
  op: number;
  ok: boolean;
  message: string;
}

export interface ScenarioResult {
  scenario: string;
  strategy: string;
  arch: string;
  mthp: Record<string, Record<string, number>>;
  vmstat: Record<string, number>;
  meminfo: Record<MeminfoName, number>;
  procs: Record<string, ProcStatus>;
  expects: ExpectResult[];
  costs: Record<string, number>;
}

export interface RunOptions {
  strategy: ZapStrategy;
  /** Override config.invariants. */
  invariants?: boolean;
  /** Called after every op with the model, e.g. to inspect state in tests. */
  onOp?: (kernel: Kernel, op: ScenarioOp, index: number) => void;
}

/** Build the kernel config from the scenario's config, sizing memory when it is not given. */
export function kernelConfig(s: Scenario, invariants?: boolean): KernelConfig {
  const c = s.config ?? {};
  const mthp = defaultMthp();
  for (const [size, policy] of Object.entries(c.mthp ?? {})) {
    mthp[sizeNameToOrder(size) as number] = policy as ThpPolicy;
  }
  const shmem = defaultShmem();
  // Sizes a scenario does not name are "never" (the contract), 2M included.
  if (c.shmem) shmem[9] = "never";
  for (const [size, policy] of Object.entries(c.shmem ?? {})) {
    shmem[sizeNameToOrder(size) as number] = policy as ShmemPolicy;
  }
  let memoryPages: number;
  if (c.memory !== undefined) {
    const bytes = sizeField(c.memory, "config.memory");
    if (bytes % (4 << 20) !== 0 || bytes <= 4 << 20)
      throw new ScenarioError("config.memory: must be a multiple of 4M and larger than 4M");
    memoryPages = bytes / PAGE_SIZE;
  } else {
    let mapped = 0;
    let forks = 0;
    for (const op of s.ops) {
      if (op.op === "mmap") mapped += parseSize(op.size) ?? 0;
      if (op.op === "fork") forks++;
    }
    // Room for every COW copy and a fragmentation cushion; memory never touched costs nothing.
    const bytes = Math.min(2 * mapped * (1 + forks) + (32 << 20), MODEL_LIMITS.memoryBytes);
    memoryPages = Math.ceil(bytes / (4 << 20)) * 1024;
  }
  const swapPages = c.swap === undefined ? 0 : sizeField(c.swap, "config.swap", true) / PAGE_SIZE;
  return {
    arch: c.arch ?? "x86_64",
    mthp,
    shmem,
    memoryPages,
    swapPages,
    invariants: invariants ?? c.invariants ?? true,
    useHugeZeroPage: true,
    shrinkUnderused: true,
  };
}

function procStatus(k: Kernel, mm: MmStruct): ProcStatus {
  let pmdAnon = 0;
  for (const pmd of mm.pgtables.hugePmd.values()) {
    if (!isHugeZeroPmd(pmd) && ((k.mem.flags[ptePfn(pmd)] as number) & PG.anon) !== 0) pmdAnon++;
  }
  return {
    RssAnon: (mm.rss[MM_ANONPAGES] as number) * 4,
    RssFile: (mm.rss[MM_FILEPAGES] as number) * 4,
    RssShmem: (mm.rss[MM_SHMEMPAGES] as number) * 4,
    VmSwap: (mm.rss[MM_SWAPENTS] as number) * 4,
    AnonHugePages: pmdAnon * 2048,
  };
}

/** The counters part of the result contract at this moment. */
export function snapshotCounters(
  k: Kernel,
  exitedStatus: Map<string, ProcStatus>,
): Omit<ScenarioResult, "scenario" | "strategy" | "arch" | "expects"> {
  const mthp: Record<string, Record<string, number>> = {};
  for (const order of MTHP_ORDERS) {
    const row: Record<string, number> = {};
    MTHP_STAT_NAMES.forEach((name, i) => {
      row[name] = k.stats.mthpValue(order, i);
    });
    mthp[hugepagesDirName(order)] = row;
  }
  const vmstat: Record<string, number> = {};
  VMSTAT_NAMES.forEach((name, i) => {
    vmstat[name] = k.stats.vmstat[i] as number;
  });
  const procs: Record<string, ProcStatus> = {};
  for (const [name, mm] of k.procs) procs[name] = exitedStatus.get(name) ?? procStatus(k, mm);
  return {
    mthp,
    vmstat,
    meminfo: {
      AnonPages: k.stats.nrAnonMapped * 4,
      AnonHugePages: k.stats.nrAnonThps * 4,
      // as after lru_add_drain_all(): a folio only the lru_add batch holds counts free (observe.ts)
      MemFree: observedFreePages(k) * 4,
      Shmem: (k.stats.vmstat[VMSTAT.nrShmem] as number) * 4,
      ShmemHugePages: k.stats.nrShmemThps * 4,
      ShmemPmdMapped: k.stats.nrShmemPmdmapped * 4,
      FileHugePages: k.stats.nrFileThps * 4,
      FilePmdMapped: k.stats.nrFilePmdmapped * 4,
    },
    procs,
    costs: costsToRecord(k.costs),
  };
}

function compareCounters(expected: Record<string, unknown>, actual: unknown, path: string, out: string[]): void {
  for (const [key, want] of Object.entries(expected)) {
    const have = (actual as Record<string, unknown> | undefined)?.[key];
    const p = path ? `${path}.${key}` : key;
    if (typeof want === "object" && want !== null) compareCounters(want as Record<string, unknown>, have, p, out);
    else if (have !== want) out.push(`${p}: expected ${String(want)}, got ${have === undefined ? "nothing" : String(have)}`);
  }
}

/** The [start, end) page ranges a planned op addresses in the model (strided ops give several). */
function opRanges(mm: MmStruct, p: PlannedOp): Array<[number, number]> {
  const mapping = mm.mappings.get((p.mapping as PlannedMapping).id);
  const r = p.range as PlannedRange;
  if (!mapping) throw new ScenarioError(`${p.where}: mapping "${p.mapping?.id}" is not in proc "${mm.name}"`);
  const off = r.offset / PAGE_SIZE;
  const len = r.length / PAGE_SIZE;
  if (r.stride === 0) return [[mapping.start + off, mapping.start + off + len]];
  const out: Array<[number, number]> = [];
  const stride = r.stride / PAGE_SIZE;
  for (let s = off; s + len <= mapping.nrPages; s += stride) out.push([mapping.start + s, mapping.start + s + len]);
  return out;
}

/** The pfn a process maps at vpn right now, or -1. */
function mappedPfn(mm: MmStruct, vpn: number): number {
  const idx = Math.floor(vpn / PTRS_PER_PTE);
  const huge = mm.pgtables.hugePmd.get(idx);
  if (huge !== undefined) return ptePfn(huge) + (vpn - idx * PTRS_PER_PTE);
  const pte = mm.pgtables.readPte(vpn);
  return (pte & PTE.present) !== 0 ? ptePfn(pte) : -1;
}

/** Run one validated op against the model. */
/** Ops that are one syscall per range (the probe issues one per stride). */
const SYSCALL_OPS: ReadonlySet<string> = new Set(["mmap", "munmap", "madvise", "mprotect", "mremap"]);

function runOp(k: Kernel, p: PlannedOp, exited: Map<string, ProcStatus>, expects: ExpectResult[]): void {
  const { op, index } = p;
  k.opMm = undefined;
  if (op.op === "reclaim") {
    // The probe's first live proc writes memory.force_empty: the reclaim runs as that task.
    k.opMm = [...k.procs.values()].find((mm) => !mm.exited);
    reclaimPass(k);
    return;
  }
  const mm = k.procs.get(p.proc) as MmStruct;
  k.opMm = mm;
  if (SYSCALL_OPS.has(op.op)) k.costs[Ev.syscall] += op.op === "mmap" ? 1 : opRanges(mm, p).length;
  else if (op.op === "fork") k.costs[Ev.procFork]++;
  else if (op.op === "exit") k.costs[Ev.procExit]++;
  switch (op.op) {
    case "mmap": {
      const align = op.align === undefined ? 2 << 20 : (parseSize(op.align) as number);
      doMmap(
        k,
        mm,
        op.id,
        (p.creates as PlannedMapping).size / PAGE_SIZE,
        op.kind,
        Math.max(1, align / PAGE_SIZE),
        op.locked ?? false,
        op.file,
      );
      return;
    }
    case "write": {
      const value = op.value ?? index + 1;
      for (const [s, e] of opRanges(mm, p)) userAccessRange(k, mm, s, e, true, value);
      return;
    }
    case "read":
      for (const [s, e] of opRanges(mm, p)) userAccessRange(k, mm, s, e, false, 0);
      return;
    case "munmap":
      for (const [s, e] of opRanges(mm, p)) doMunmap(k, mm, s, e);
      return;
    case "madvise":
      for (const [s, e] of opRanges(mm, p)) {
        if (op.advice === "dontneed") madviseDontneed(k, mm, s, e);
        else if (op.advice === "hugepage" || op.advice === "nohugepage") madviseHugepage(k, mm, s, e, op.advice === "hugepage");
        else if (op.advice === "free") madviseFree(k, mm, s, e);
        else if (op.advice === "dontfork" || op.advice === "dofork") madviseDontfork(k, mm, s, e, op.advice === "dontfork");
        else if (op.advice === "random" || op.advice === "normal") madviseRandom(k, mm, s, e, op.advice === "random");
        else madviseColdOrPageout(k, mm, s, e, op.advice === "pageout");
      }
      return;
    case "mremap": {
      const [[s, e]] = opRanges(mm, p) as [[number, number]];
      doMremap(k, mm, s, e, op.to);
      return;
    }
    case "mprotect":
      for (const [s, e] of opRanges(mm, p)) doMprotect(k, mm, s, e, op.prot);
      return;
    case "exit":
      exited.set(mm.name, procStatus(k, mm));
      doExit(k, mm);
      unpinUserPages(k, mm, 0, Number.MAX_SAFE_INTEGER);
      return;
    case "fork":
      doFork(k, mm, op.as);
      return;
    case "pin":
      for (const [s, e] of opRanges(mm, p)) for (let v = s; v < e; v++) pinUserPage(k, mm, v, op.write ?? true);
      return;
    case "unpin":
      for (const [s, e] of opRanges(mm, p)) unpinUserPages(k, mm, s, e);
      return;
    case "expect": {
      const problems: string[] = [];
      if (op.value !== undefined && op.id !== undefined) {
        const mapping = mm.mappings.get(op.id);
        const vpn = (mapping?.start ?? 0) + (p.range as PlannedRange).offset / PAGE_SIZE;
        // A load, as reading the page is on the kernel: it faults like `read` (swap-in, zero page).
        const where = `${op.id}+${op.offset ?? 0}`;
        const vma = mm.findVma(vpn);
        if (!vma) problems.push(`${mm.name} reads nothing at ${where}: not mapped`);
        else if ((vma.flags & VM.read) === 0) problems.push(`${mm.name} cannot read ${where}: fault`);
        else {
          const got = userRead(k, mm, vpn);
          if (got !== op.value) problems.push(`${mm.name} reads ${got} at ${where}, expected ${op.value}`);
        }
      }
      if (op.pinned !== undefined && op.id !== undefined) {
        const mapping = mm.mappings.get(op.id);
        const vpn = (mapping?.start ?? 0) + (p.range as PlannedRange).offset / PAGE_SIZE;
        const pin = mm.pins.find((p) => p.vpn === vpn);
        const same = pin !== undefined && mappedPfn(mm, vpn) === pin.pfn;
        if (pin === undefined) problems.push(`${mm.name} holds no pin at ${op.id}+${op.offset ?? 0}`);
        else if (same !== op.pinned)
          problems.push(`${mm.name} ${same ? "maps" : "no longer maps"} the pinned page at ${op.id}+${op.offset ?? 0}`);
      }
      if (op.counters) compareCounters(op.counters, snapshotCounters(k, exited), "", problems);
      expects.push({ op: index, ok: problems.length === 0, message: problems.length === 0 ? "ok" : problems.join("; ") });
      return;
    }
    default:
      throw new ScenarioError(`${p.where}: op "${(op as ScenarioOp).op}" is not supported`);
  }
}

/** Create a model for a parsed scenario without running it (tests and tools drive it). */
export function createKernel(scenario: Scenario, options: RunOptions): Kernel {
  if (typeof options?.strategy?.name !== "string") {
    throw new TypeError(
      "the run options need a strategy: runScenario(spec, { strategy }) with a ZapStrategy, e.g. the default export of @foliolab/strategy-per-page",
    );
  }
  const k = new Kernel(kernelConfig(scenario, options.invariants), options.strategy);
  if (k.config.swapPages > 0) installSwap(k, k.config.swapPages);
  k.newMm("main");
  return k;
}

/**
 * Run a scenario (object or JSON text) under a strategy. Invalid input throws ScenarioError
 * before anything runs; a broken invariant throws InvariantViolation naming it; anything a
 * strategy throws comes back as StrategyError naming the strategy and the op; a bug of core's
 * own code as InternalError, with its stack.
 */
export function runScenario(spec: unknown, options: RunOptions): ScenarioResult {
  return runScenarioDetailed(spec, options).result;
}

/** runScenario() that also hands back the model, to observe or audit its final state. */
export function runScenarioDetailed(spec: unknown, options: RunOptions): { result: ScenarioResult; kernel: Kernel } {
  const plan = planScenario(spec);
  const scenario = plan.scenario;
  const k = createKernel(scenario, options);
  const exited = new Map<string, ProcStatus>();
  const expects: ExpectResult[] = [];
  plan.ops.forEach((p, i) => {
    const op = p.op;
    k.currentOp = p.where;
    try {
      runOp(k, p, exited, expects);
      // An expect's load takes the read-fault paths `read` ops are audited on.
      if (k.invariants && op.op !== "expect") auditInvariants(k);
    } catch (e) {
      // A strategy's own hooks report what they throw as StrategyError, or as InternalError
      // when core's code threw inside them (strategyHooks()); anything else that is not of the
      // domain is core's bug, reported as core's.
      if (isDomainError(e) || e instanceof InternalError) throw e;
      throw new InternalError(k.currentOp, e);
    }
    options.onOp?.(k, op, i);
  });
  const result: ScenarioResult = {
    scenario: scenario.name,
    strategy: options.strategy.name,
    arch: k.config.arch,
    ...snapshotCounters(k, exited),
    expects,
  };
  return { result, kernel: k };
}
