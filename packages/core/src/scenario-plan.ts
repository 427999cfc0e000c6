/**
 * The scenario language's one plan: a parsed scenario resolved into procs, mappings and page
 * ranges, with every static check (procs and ids exist, ranges lie inside mappings, strides,
 * counters, the model's limits) made once, in one set of words. The model's interpreter
 * (run-scenario.ts) and the kernel probe both run from it, so they accept and reject the same
 * scenarios with the same messages.
 */

import { ScenarioError } from "./errors.js";
import { MAX_MEMORY_PAGES } from "./mem-map.js";
import { MAX_VPN, MMAP_BASE_VPN, mmapPlacement, mremapPlacement, type VmaKind } from "./mm.js";
import { parseScenario, type Scenario, type ScenarioOp, sizeField } from "./scenario.js";
import { MTHP_STAT_NAMES, VMSTAT_NAMES } from "./stats.js";
import { formatBytes, hugepagesDirName, MTHP_ORDERS, PAGE_SIZE } from "./units.js";

const COUNTER_GROUPS = ["mthp", "vmstat", "meminfo", "procs"] as const;

/** The /proc/<pid>/status fields of procs.<p>. */
export const PROC_STATUS_NAMES = ["RssAnon", "RssFile", "RssShmem", "VmSwap", "AnonHugePages"] as const;

/** The /proc/meminfo fields of the result contract (kB). */
export const MEMINFO_NAMES = [
  "AnonPages",
  "AnonHugePages",
  "MemFree",
  "Shmem",
  "ShmemHugePages",
  "ShmemPmdMapped",
  "FileHugePages",
  "FilePmdMapped",
] as const;
export type MeminfoName = (typeof MEMINFO_NAMES)[number];

/** "ops[3] (munmap)": how every message names an op. */
export function opName(op: ScenarioOp, i: number): string {
  return `ops[${i}] (${op.op})`;
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

export function checkMemoryLimit(field: string, value: string | number, bytes: number, limit: number): void {
  if (bytes > limit) {
    throw new ScenarioError(`${field}: ${sizeText(value)} is beyond the model's limit of ${formatBytes(limit)}`);
  }
}

/** A mapping as the plan knows it: its slot (creation order), size, kind and model placement. */
export interface PlannedMapping {
  id: string;
  /** 0, 1, ... in the order mmap and mremap create mappings (fork shares its parent's). */
  slot: number;
  /** Bytes. */
  size: number;
  kind: VmaKind;
  /** First virtual page where the model places it (mmapPlacement()/mremapPlacement()). */
  start: number;
  /** The named file it maps (mmap `file`; mremap keeps it), if any. */
  file?: string;
}

/** A named file's name: what the kernel probe can use as a file name. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/**
 * The pages an op addresses in its mapping, in bytes from the mapping's start: [offset,
 * offset + length), then again every `stride` bytes while a whole range fits (stride 0: once).
 */
export interface PlannedRange {
  offset: number;
  length: number;
  stride: number;
  /** Pages addressed over all repetitions. */
  pages: number;
}

/** One op, resolved. */
export interface PlannedOp {
  index: number;
  /** "ops[i] (op)", for messages. */
  where: string;
  op: ScenarioOp;
  /** The proc it runs in, and that proc's number (0 = main, then forks in order). */
  proc: string;
  procId: number;
  /** The mapping it addresses (range ops, expect with an id, mremap's source). */
  mapping?: PlannedMapping;
  range?: PlannedRange;
  /** What mmap or mremap creates. */
  creates?: PlannedMapping;
  /** fork: the child. */
  child?: { name: string; procId: number };
}

/** A scenario resolved: its procs by number, every mapping ever created, and the ops. */
export interface ScenarioPlan {
  scenario: Scenario;
  procs: string[];
  mappings: PlannedMapping[];
  ops: PlannedOp[];
}

interface ProcShape {
  id: number;
  ids: Map<string, PlannedMapping>;
  cursor: number;
  exited: boolean;
}

/** Parse a scenario and resolve it into a plan; anything wrong throws ScenarioError naming it. */
export function planScenario(input: unknown): ScenarioPlan {
  const s = parseScenario(input);
  if (s.config?.swap !== undefined) {
    checkMemoryLimit("config.swap", s.config.swap, sizeField(s.config.swap, "config.swap", true), MODEL_LIMITS.swapBytes);
  }
  if (s.config?.memory !== undefined) {
    checkMemoryLimit("config.memory", s.config.memory, sizeField(s.config.memory, "config.memory"), MODEL_LIMITS.memoryBytes);
  }
  const procNames = ["main"];
  const mappings: PlannedMapping[] = [];
  const procs = new Map<string, ProcShape>([["main", { id: 0, ids: new Map(), cursor: MMAP_BASE_VPN, exited: false }]]);
  /** Named files: size in bytes and the op that created each. */
  const files = new Map<string, { size: number; where: string }>();
  const ops: PlannedOp[] = s.ops.map((op, i) => {
    const where = opName(op, i);
    if (op.op === "reclaim") return { index: i, where, op, proc: "main", procId: 0 };
    if (op.op === "expect" && op.id === undefined && op.proc === undefined) {
      if (op.value !== undefined) throw new ScenarioError(`${where}: field "value" needs an "id" (and "offset") to read from`);
      if (op.counters) validateCounters(op.counters, where);
      return { index: i, where, op, proc: "main", procId: 0 };
    }
    const pname = ("proc" in op ? op.proc : undefined) ?? "main";
    const p = procs.get(pname);
    if (!p) throw new ScenarioError(`${where}: field "proc": unknown proc "${pname}"`);
    if (p.exited) throw new ScenarioError(`${where}: field "proc": proc "${pname}" has already exited`);
    const planned: PlannedOp = { index: i, where, op, proc: pname, procId: p.id };
    const mappingOf = (id: string): PlannedMapping => {
      const m = p.ids.get(id);
      if (m === undefined) throw new ScenarioError(`${where}: field "id": unknown mapping "${id}" in proc "${pname}"`);
      return m;
    };
    const offsetIn = (m: PlannedMapping, offset: string | number | undefined): number => {
      const off = offset === undefined ? 0 : sizeField(offset, `${where}: field "offset"`, true);
      if (off >= m.size)
        throw new ScenarioError(`${where}: field "offset": ${off} is outside mapping "${m.id}" (size ${m.size})`);
      return off;
    };
    const create = (id: string, size: number, kind: VmaKind, start: number): PlannedMapping => {
      const m: PlannedMapping = { id, slot: mappings.length, size, kind, start };
      mappings.push(m);
      p.ids.set(id, m);
      return m;
    };
    switch (op.op) {
      case "mmap": {
        if (p.ids.has(op.id))
          throw new ScenarioError(`${where}: field "id": mapping "${op.id}" already exists in proc "${pname}"`);
        const size = sizeField(op.size, `${where}: field "size"`);
        let align = 2 << 20;
        if (op.align !== undefined) {
          align = sizeField(op.align, `${where}: field "align"`);
          if (!Number.isInteger(Math.log2(align))) throw new ScenarioError(`${where}: field "align": must be a power of two`);
        }
        if (op.file !== undefined) checkNamedFile(op.file, op.kind, size, where, files);
        const { start, next } = mmapPlacement(p.cursor, size / PAGE_SIZE, align / PAGE_SIZE);
        checkAddressLimit(where, "size", op.size, start + size / PAGE_SIZE);
        p.cursor = next;
        planned.creates = create(op.id, size, op.kind, start);
        if (op.file !== undefined) planned.creates.file = op.file;
        return planned;
      }
      case "exit":
        p.exited = true;
        return planned;
      case "fork": {
        if (procs.has(op.as)) throw new ScenarioError(`${where}: field "as": proc "${op.as}" already exists`);
        const id = procNames.length;
        procNames.push(op.as);
        procs.set(op.as, { id, ids: new Map(p.ids), cursor: p.cursor, exited: false });
        planned.child = { name: op.as, procId: id };
        return planned;
      }
      case "expect": {
        if (op.id !== undefined) {
          planned.mapping = mappingOf(op.id);
          planned.range = { offset: offsetIn(planned.mapping, op.offset), length: PAGE_SIZE, stride: 0, pages: 1 };
        } else if (op.value !== undefined) {
          throw new ScenarioError(`${where}: field "value" needs an "id" (and "offset") to read from`);
        }
        if (op.counters) validateCounters(op.counters, where);
        return planned;
      }
      default:
        break;
    }
    const m = mappingOf(op.id);
    const off = offsetIn(m, op.offset);
    const stride = "stride" in op && op.stride !== undefined ? sizeField(op.stride, `${where}: field "stride"`) : 0;
    // A write or read with a stride and no length touches one page every stride bytes.
    const onePage = stride > 0 && op.length === undefined && (op.op === "write" || op.op === "read");
    const len = op.length === undefined ? (onePage ? PAGE_SIZE : m.size - off) : sizeField(op.length, `${where}: field "length"`);
    if (off + len > m.size) {
      throw new ScenarioError(
        `${where}: field "length": offset ${off} + length ${len} runs past the end of mapping "${op.id}" (size ${m.size})`,
      );
    }
    if (stride > 0 && stride < len) throw new ScenarioError(`${where}: field "stride": ${stride} is smaller than length ${len}`);
    let pages = len / PAGE_SIZE;
    if (stride > 0) pages = (Math.floor((m.size - off - len) / stride) + 1) * pages;
    planned.mapping = m;
    planned.range = { offset: off, length: len, stride, pages };
    if (op.op === "mremap") {
      if (p.ids.has(op.to)) throw new ScenarioError(`${where}: field "to": mapping "${op.to}" already exists in proc "${pname}"`);
      const { start, next } = mremapPlacement(p.cursor, m.start + off / PAGE_SIZE, len / PAGE_SIZE);
      checkAddressLimit(where, "length", op.length ?? len, start + len / PAGE_SIZE);
      p.cursor = next;
      planned.creates = create(op.to, len, m.kind, start);
      if (m.file !== undefined) planned.creates.file = m.file;
    }
    return planned;
  });
  return { scenario: s, procs: procNames, mappings, ops };
}

/**
 * mmap `file`: a usable name, on a file kind, no larger than the file its first mmap made
 * (a mapping beyond EOF would SIGBUS on the kernel).
 */
function checkNamedFile(
  name: string,
  kind: VmaKind,
  size: number,
  where: string,
  files: Map<string, { size: number; where: string }>,
): void {
  if (kind !== "file-private" && kind !== "file-shared") {
    throw new ScenarioError(
      `${where}: field "file": only file-private and file-shared mappings map a named file (this one is "${kind}")`,
    );
  }
  if (!FILE_NAME.test(name)) {
    throw new ScenarioError(
      `${where}: field "file": ${JSON.stringify(name)} is not a file name (use 1 to 64 letters, digits, "_", "-" or ".", not starting with ".")`,
    );
  }
  const f = files.get(name);
  if (f === undefined) files.set(name, { size, where });
  else if (size > f.size) {
    throw new ScenarioError(
      `${where}: field "size": ${formatBytes(size)} is larger than file "${name}" (${formatBytes(f.size)}, made by ${f.where})`,
    );
  }
}

/**
 * Parse a scenario and run every static check runScenario() runs before it starts (procs and
 * ids exist, ranges lie inside mappings, counters are known): planScenario()'s scenario.
 */
export function validateScenario(input: unknown): Scenario {
  return planScenario(input).scenario;
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
          if (!(PROC_STATUS_NAMES as readonly string[]).includes(k2))
            throw new ScenarioError(`${where}: field "${path}.${k2}": unknown field`);
          if (typeof v2 !== "number") throw new ScenarioError(`${where}: field "${path}.${k2}": must be a number`);
        }
      } else {
        const names: readonly string[] = group === "vmstat" ? VMSTAT_NAMES : MEMINFO_NAMES;
        if (!names.includes(k1)) throw new ScenarioError(`${where}: field "${path}": unknown counter`);
        if (typeof v1 !== "number") throw new ScenarioError(`${where}: field "${path}": must be a number`);
      }
    }
  }
}
