/**
 * runScenario(): run a scenario under a strategy and return the result contract, a plain
 * JSON object whose names are the kernel's own (per-size mTHP stats, /proc/vmstat,
 * /proc/meminfo, /proc/PID/status), so the same scenario can be compared with a real kernel.
 */

import { costsToRecord } from "./costs.js";
import { InternalError, isDomainError, ScenarioError } from "./errors.js";
import { doFork } from "./fork.js";
import { pinUserPage, unpinUserPages } from "./gup.js";
import { isHugeZeroPmd } from "./huge-memory.js";
import { auditInvariants } from "./invariants.js";
import { defaultMthp, Kernel, type KernelConfig, type ThpPolicy } from "./kernel.js";
import { madviseColdOrPageout, madviseFree } from "./madvise.js";
import { MAX_MEMORY_PAGES } from "./mem-map.js";
import {
  MAX_VPN,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SWAPENTS,
  MMAP_BASE_VPN,
  type MmStruct,
  mmapPlacement,
  mremapPlacement,
} from "./mm.js";
import { PTE, ptePfn } from "./page-table.js";
import { parseScenario, type Scenario, type ScenarioOp, sizeField } from "./scenario.js";
import { MTHP_STAT_NAMES, VMSTAT_NAMES } from "./stats.js";
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
  peekContent,
  userAccessRange,
} from "./syscalls.js";
import { formatBytes, hugepagesDirName, MTHP_ORDERS, PAGE_SIZE, PTRS_PER_PTE, parseSize, sizeNameToOrder } from "./units.js";
import { reclaimPass } from "./vmscan.js";

export interface ProcStatus {
  RssAnon: number;
  RssFile: number;
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
  meminfo: { AnonPages: number; AnonHugePages: number; MemFree: number };
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

const COUNTER_GROUPS = ["mthp", "vmstat", "meminfo", "procs"] as const;

function opName(op: ScenarioOp, i: number): string {
  return `ops[${i}] (${op.op})`;
}

/** Build the kernel config from the scenario's config, sizing memory when it is not given. */
export function kernelConfig(s: Scenario, invariants?: boolean): KernelConfig {
  const c = s.config ?? {};
  const mthp = defaultMthp();
  for (const [size, policy] of Object.entries(c.mthp ?? {})) {
    mthp[sizeNameToOrder(size) as number] = policy as ThpPolicy;
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
    memoryPages,
    swapPages,
    invariants: invariants ?? c.invariants ?? true,
    useHugeZeroPage: true,
    shrinkUnderused: true,
  };
}

interface ProcShape {
  /** Mapping id -> [start vpn, size in bytes], placed exactly as doMmap()/doMremap() will. */
  ids: Map<string, number>;
  starts: Map<string, number>;
  cursor: number;
  exited: boolean;
}

/**
 * The model's limits, each refused by name before anything runs. Memory and swap: pfns and
 * swap slots stay Int32 (MAX_MEMORY_PAGES). Address space: MAX_VPN, with mmap starting at
 * MMAP_BASE_VPN.
 */
export const MODEL_LIMITS = {
  /** config.memory and config.swap, bytes: 8 TiB. */
  memoryBytes: MAX_MEMORY_PAGES * PAGE_SIZE,
  swapBytes: MAX_MEMORY_PAGES * PAGE_SIZE,
  /** Where a process's virtual address space ends, bytes: 8 TiB. */
  addressSpaceEnd: MAX_VPN * PAGE_SIZE,
  /** Where mmap starts placing mappings, bytes: 1 TiB (so at most 7 TiB of mappings a process). */
  mmapBase: MMAP_BASE_VPN * PAGE_SIZE,
} as const;

/** A size as the scenario gave it, with its unit form when it was a byte count. */
function sizeText(value: string | number): string {
  return typeof value === "number" ? `${value} (${formatBytes(value)})` : value;
}

function checkAddressLimit(where: string, field: string, value: string | number, endVpn: number): void {
  if (endVpn > MAX_VPN) {
    throw new ScenarioError(
      `${where}: field "${field}": ${sizeText(value)} does not fit the model's virtual address space: the process's mappings would end at ${Number(((endVpn * PAGE_SIZE) / 2 ** 40).toFixed(3))}T, beyond the limit of ${formatBytes(MODEL_LIMITS.addressSpaceEnd)} (mmap starts at ${formatBytes(MODEL_LIMITS.mmapBase)}, so at most ${formatBytes(MODEL_LIMITS.addressSpaceEnd - MODEL_LIMITS.mmapBase)} of mappings per process)`,
    );
  }
}

function checkMemoryLimit(field: string, value: string | number, bytes: number, limit: number): void {
  if (bytes > limit) {
    throw new ScenarioError(`${field}: ${sizeText(value)} is beyond the model's limit of ${formatBytes(limit)}`);
  }
}

/**
 * Parse a scenario and run every static check runScenario() runs before it starts (procs and
 * ids exist, ranges lie inside mappings, counters are known), so other runners (the
 * kernel probe) reject exactly what the model rejects, with the same messages.
 */
export function validateScenario(input: unknown): Scenario {
  const scenario = parseScenario(input);
  validateOps(scenario);
  return scenario;
}

/** Static checks: procs and ids exist, ranges lie inside mappings, unsupported ops named. */
function validateOps(s: Scenario): void {
  if (s.config?.swap !== undefined) {
    checkMemoryLimit("config.swap", s.config.swap, sizeField(s.config.swap, "config.swap", true), MODEL_LIMITS.swapBytes);
  }
  if (s.config?.memory !== undefined) {
    checkMemoryLimit("config.memory", s.config.memory, sizeField(s.config.memory, "config.memory"), MODEL_LIMITS.memoryBytes);
  }
  const procs = new Map<string, ProcShape>([
    ["main", { ids: new Map(), starts: new Map(), cursor: MMAP_BASE_VPN, exited: false }],
  ]);
  s.ops.forEach((op, i) => {
    const where = opName(op, i);
    if (op.op === "reclaim") return;
    if (op.op === "expect" && op.id === undefined && op.proc === undefined) {
      if (op.value !== undefined) throw new ScenarioError(`${where}: field "value" needs an "id" (and "offset") to read from`);
      if (op.counters) validateCounters(op.counters, where);
      return;
    }
    const pname = ("proc" in op ? op.proc : undefined) ?? "main";
    const p = procs.get(pname);
    if (!p) throw new ScenarioError(`${where}: field "proc": unknown proc "${pname}"`);
    if (p.exited) throw new ScenarioError(`${where}: field "proc": proc "${pname}" has already exited`);
    if (op.op === "mmap") {
      if (p.ids.has(op.id)) throw new ScenarioError(`${where}: field "id": mapping "${op.id}" already exists in proc "${pname}"`);
      const size = sizeField(op.size, `${where}: field "size"`);
      let align = 2 << 20;
      if (op.align !== undefined) {
        align = sizeField(op.align, `${where}: field "align"`);
        if (!Number.isInteger(Math.log2(align))) throw new ScenarioError(`${where}: field "align": must be a power of two`);
      }
      const { start, next } = mmapPlacement(p.cursor, size / PAGE_SIZE, align / PAGE_SIZE);
      checkAddressLimit(where, "size", op.size, start + size / PAGE_SIZE);
      p.cursor = next;
      p.ids.set(op.id, size);
      p.starts.set(op.id, start);
      return;
    }
    if (op.op === "exit") {
      p.exited = true;
      return;
    }
    if (op.op === "fork") {
      if (procs.has(op.as)) throw new ScenarioError(`${where}: field "as": proc "${op.as}" already exists`);
      procs.set(op.as, { ids: new Map(p.ids), starts: new Map(p.starts), cursor: p.cursor, exited: false });
      return;
    }
    if (op.op === "expect") {
      if (op.id !== undefined) {
        const size = p.ids.get(op.id);
        if (size === undefined) throw new ScenarioError(`${where}: field "id": unknown mapping "${op.id}" in proc "${pname}"`);
        const off = op.offset === undefined ? 0 : sizeField(op.offset, `${where}: field "offset"`, true);
        if (off >= size) throw new ScenarioError(`${where}: field "offset": ${off} is outside mapping "${op.id}" (size ${size})`);
      } else if (op.value !== undefined) {
        throw new ScenarioError(`${where}: field "value" needs an "id" (and "offset") to read from`);
      }
      if (op.counters) validateCounters(op.counters, where);
      return;
    }
    const size = p.ids.get(op.id);
    if (size === undefined) throw new ScenarioError(`${where}: field "id": unknown mapping "${op.id}" in proc "${pname}"`);
    const off = op.offset === undefined ? 0 : sizeField(op.offset, `${where}: field "offset"`, true);
    if (off >= size) throw new ScenarioError(`${where}: field "offset": ${off} is outside mapping "${op.id}" (size ${size})`);
    const len = op.length === undefined ? size - off : sizeField(op.length, `${where}: field "length"`);
    if (off + len > size) {
      throw new ScenarioError(
        `${where}: field "length": offset ${off} + length ${len} runs past the end of mapping "${op.id}" (size ${size})`,
      );
    }
    if (op.op === "mremap") {
      if (p.ids.has(op.to)) throw new ScenarioError(`${where}: field "to": mapping "${op.to}" already exists in proc "${pname}"`);
      const from = (p.starts.get(op.id) as number) + off / PAGE_SIZE;
      const { start, next } = mremapPlacement(p.cursor, from, len / PAGE_SIZE);
      checkAddressLimit(where, "length", op.length ?? len, start + len / PAGE_SIZE);
      p.cursor = next;
      p.ids.set(op.to, len);
      p.starts.set(op.to, start);
    }
    if ("stride" in op && op.stride !== undefined) {
      const stride = sizeField(op.stride, `${where}: field "stride"`);
      if (stride < len) throw new ScenarioError(`${where}: field "stride": ${stride} is smaller than length ${len}`);
    }
  });
}

function validateCounters(counters: Record<string, unknown>, where: string): void {
  for (const [group, value] of Object.entries(counters)) {
    if (!(COUNTER_GROUPS as readonly string[]).includes(group)) {
      throw new ScenarioError(`${where}: field "counters.${group}": unknown group (expected ${COUNTER_GROUPS.join(", ")})`);
    }
    if (typeof value !== "object" || value === null)
      throw new ScenarioError(`${where}: field "counters.${group}": must be an object`);
    for (const [k1, v1] of Object.entries(value)) {
      const path = `counters.${group}.${k1}`;
      if (group === "mthp") {
        if (!MTHP_ORDERS.some((o) => hugepagesDirName(o) === k1))
          throw new ScenarioError(`${where}: field "${path}": unknown size directory`);
        if (typeof v1 !== "object" || v1 === null) throw new ScenarioError(`${where}: field "${path}": must be an object`);
        for (const [k2, v2] of Object.entries(v1)) {
          if (!(MTHP_STAT_NAMES as readonly string[]).includes(k2))
            throw new ScenarioError(`${where}: field "${path}.${k2}": unknown counter`);
          if (typeof v2 !== "number") throw new ScenarioError(`${where}: field "${path}.${k2}": must be a number`);
        }
      } else if (group === "procs") {
        if (typeof v1 !== "object" || v1 === null) throw new ScenarioError(`${where}: field "${path}": must be an object`);
        for (const [k2, v2] of Object.entries(v1)) {
          if (!["RssAnon", "RssFile", "VmSwap", "AnonHugePages"].includes(k2))
            throw new ScenarioError(`${where}: field "${path}.${k2}": unknown field`);
          if (typeof v2 !== "number") throw new ScenarioError(`${where}: field "${path}.${k2}": must be a number`);
        }
      } else {
        const names: readonly string[] = group === "vmstat" ? VMSTAT_NAMES : ["AnonPages", "AnonHugePages", "MemFree"];
        if (!names.includes(k1)) throw new ScenarioError(`${where}: field "${path}": unknown counter`);
        if (typeof v1 !== "number") throw new ScenarioError(`${where}: field "${path}": must be a number`);
      }
    }
  }
}

function procStatus(mm: MmStruct): ProcStatus {
  let pmdAnon = 0;
  for (const pmd of mm.pgtables.hugePmd.values()) if (!isHugeZeroPmd(pmd)) pmdAnon++;
  return {
    RssAnon: (mm.rss[MM_ANONPAGES] as number) * 4,
    RssFile: (mm.rss[MM_FILEPAGES] as number) * 4,
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
  for (const [name, mm] of k.procs) procs[name] = exitedStatus.get(name) ?? procStatus(mm);
  return {
    mthp,
    vmstat,
    meminfo: { AnonPages: k.stats.nrAnonMapped * 4, AnonHugePages: k.stats.nrAnonThps * 4, MemFree: k.mem.nrFree * 4 },
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

/** Resolve [start, end) page ranges an op addresses (strided ops give several). */
function opRanges(
  mm: MmStruct,
  op: {
    id: string;
    offset?: string | number | undefined;
    length?: string | number | undefined;
    stride?: string | number | undefined;
  },
): Array<[number, number]> {
  const mapping = mm.mappings.get(op.id);
  if (!mapping) throw new ScenarioError(`mapping "${op.id}" is not in proc "${mm.name}"`);
  const off = op.offset === undefined ? 0 : (parseSize(op.offset) as number) / PAGE_SIZE;
  const len = op.length === undefined ? mapping.nrPages - off : (parseSize(op.length) as number) / PAGE_SIZE;
  const out: Array<[number, number]> = [];
  if (op.stride === undefined) {
    out.push([mapping.start + off, mapping.start + off + len]);
    return out;
  }
  const stride = (parseSize(op.stride) as number) / PAGE_SIZE;
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
function runOp(k: Kernel, op: ScenarioOp, index: number, exited: Map<string, ProcStatus>, expects: ExpectResult[]): void {
  if (op.op === "reclaim") {
    reclaimPass(k);
    return;
  }
  const mm = k.procs.get(("proc" in op ? op.proc : undefined) ?? "main") as MmStruct;
  switch (op.op) {
    case "mmap": {
      const align = op.align === undefined ? 2 << 20 : (parseSize(op.align) as number);
      doMmap(
        k,
        mm,
        op.id,
        (parseSize(op.size) as number) / PAGE_SIZE,
        op.kind,
        Math.max(1, align / PAGE_SIZE),
        op.locked ?? false,
      );
      return;
    }
    case "write": {
      const value = op.value ?? index + 1;
      for (const [s, e] of opRanges(mm, op)) userAccessRange(k, mm, s, e, true, value);
      return;
    }
    case "read":
      for (const [s, e] of opRanges(mm, op)) userAccessRange(k, mm, s, e, false, 0);
      return;
    case "munmap":
      for (const [s, e] of opRanges(mm, op)) doMunmap(k, mm, s, e);
      return;
    case "madvise":
      for (const [s, e] of opRanges(mm, op)) {
        if (op.advice === "dontneed") madviseDontneed(k, mm, s, e);
        else if (op.advice === "hugepage" || op.advice === "nohugepage") madviseHugepage(k, mm, s, e, op.advice === "hugepage");
        else if (op.advice === "free") madviseFree(k, mm, s, e);
        else if (op.advice === "dontfork" || op.advice === "dofork") madviseDontfork(k, mm, s, e, op.advice === "dontfork");
        else madviseColdOrPageout(k, mm, s, e, op.advice === "pageout");
      }
      return;
    case "mremap": {
      const [[s, e]] = opRanges(mm, op) as [[number, number]];
      doMremap(k, mm, s, e, op.to);
      return;
    }
    case "mprotect":
      for (const [s, e] of opRanges(mm, op)) doMprotect(k, mm, s, e, op.prot);
      return;
    case "exit":
      exited.set(mm.name, procStatus(mm));
      doExit(k, mm);
      unpinUserPages(k, mm, 0, Number.MAX_SAFE_INTEGER);
      return;
    case "fork":
      doFork(k, mm, op.as);
      return;
    case "pin":
      for (const [s, e] of opRanges(mm, op)) for (let v = s; v < e; v++) pinUserPage(k, mm, v, op.write ?? true);
      return;
    case "unpin":
      for (const [s, e] of opRanges(mm, op)) unpinUserPages(k, mm, s, e);
      return;
    case "expect": {
      const problems: string[] = [];
      if (op.value !== undefined && op.id !== undefined) {
        const mapping = mm.mappings.get(op.id);
        const vpn = (mapping?.start ?? 0) + (op.offset === undefined ? 0 : (parseSize(op.offset) as number) / PAGE_SIZE);
        const got = peekContent(k, mm, vpn);
        if (got === null) problems.push(`${mm.name} reads nothing at ${op.id}+${op.offset ?? 0}: not mapped`);
        else if (got !== op.value) problems.push(`${mm.name} reads ${got} at ${op.id}+${op.offset ?? 0}, expected ${op.value}`);
      }
      if (op.pinned !== undefined && op.id !== undefined) {
        const mapping = mm.mappings.get(op.id);
        const vpn = (mapping?.start ?? 0) + (op.offset === undefined ? 0 : (parseSize(op.offset) as number) / PAGE_SIZE);
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
      throw new ScenarioError(`${opName(op, index)}: op "${(op as ScenarioOp).op}" is not yet supported`);
  }
}

/** Create a model for a parsed scenario without running it (tests and tools drive it). */
export function createKernel(scenario: Scenario, options: RunOptions): Kernel {
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
  const scenario = validateScenario(spec);
  const k = createKernel(scenario, options);
  const exited = new Map<string, ProcStatus>();
  const expects: ExpectResult[] = [];
  scenario.ops.forEach((op, i) => {
    k.currentOp = opName(op, i);
    try {
      runOp(k, op, i, exited, expects);
      if (k.invariants && op.op !== "expect") auditInvariants(k);
    } catch (e) {
      // A strategy's own hooks report what they throw as StrategyError (strategyHooks());
      // anything else that is not of the domain is core's bug, reported as core's.
      if (isDomainError(e)) throw e;
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
