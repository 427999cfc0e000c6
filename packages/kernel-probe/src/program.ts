/**
 * Turn a scenario into the runner's line program, from core's plan of it: the scenario's
 * checks (procs and ids exist, ranges inside mappings, strides) are core's, so the probe
 * rejects what the model rejects, with the same messages.
 */

import { type PlannedMapping, type PlannedRange, parseSize, planScenario, type Scenario, ScenarioError } from "@foliolab/core";
import {
  defaultMthp,
  defaultShmem,
  HPAGE_PMD_ORDER,
  hugepagesDirName,
  MTHP_ORDERS,
  sizeNameToOrder,
} from "@foliolab/core/internals";

const PAGE = 4096;

export interface MappingShape {
  slot: number;
  size: number;
  kind: "anon" | "file-private" | "file-shared" | "shmem";
}

/** One step of the program; `line` is what the runner gets after "<op> <proc> ". */
export type Step =
  | { kind: "cmd"; index: number; name: string; proc: string; procId: number; line: string; pages: number }
  | { kind: "mmap"; index: number; name: "mmap"; proc: string; procId: number; line: string; pages: number; id: string }
  | { kind: "mremap"; index: number; name: "mremap"; proc: string; procId: number; line: string; pages: number; id: string }
  | { kind: "fork"; index: number; name: "fork"; proc: string; procId: number; child: string; childId: number; line: string }
  | { kind: "exit"; index: number; name: "exit"; proc: string; procId: number }
  | { kind: "reclaim"; index: number; name: "reclaim" }
  | {
      kind: "expect";
      index: number;
      name: "expect";
      proc: string;
      procId: number;
      peek?: { slot: number; offset: number; id: string; offsetText: string };
      value?: number;
      /** expect.pinned (newer scenario format): not observable from user space, reported as missing. */
      pinned?: boolean;
      counters?: Record<string, unknown>;
    };

export interface Program {
  steps: Step[];
  /** Proc names by id (0 = main). */
  procNames: string[];
  /**
   * Wanted value of every hugepages-<size>kB/enabled of the model (orders 2..9), then of every
   * hugepages-<size>kB/shmem_enabled (dir "hugepages-<size>kB/shmem_enabled").
   */
  knobs: Array<{ dir: string; policy: string }>;
  /**
   * Bytes of the swap file the runner enables for the run (config.swap, at most MAX_SWAP_FILE_BYTES;
   * 0 = none). Only made when the machine has no swap of its own.
   */
  swapBytes: number;
}

/** The largest swap file the runner makes (the probe's scenarios are small; the disk is shared). */
export const MAX_SWAP_FILE_BYTES = 4 * 2 ** 30;

/** mTHP policy per size: the model's defaults (all never, 2M madvise) overridden by config.mthp. */
export function wantedKnobs(s: Scenario): Array<{ dir: string; policy: string }> {
  const policy = defaultMthp();
  for (const [name, p] of Object.entries(s.config?.mthp ?? {})) {
    const bytes = parseSize(name);
    if (bytes === null) continue;
    const order = Math.log2(bytes / PAGE);
    if (Number.isInteger(order) && order >= 2 && order <= HPAGE_PMD_ORDER) policy[order] = p;
  }
  return MTHP_ORDERS.map((o) => ({ dir: hugepagesDirName(o), policy: policy[o] as string }));
}

/** shmem_enabled per size: the model's defaults (every size never) overridden by config.shmem. */
export function wantedShmemKnobs(s: Scenario): Array<{ dir: string; policy: string }> {
  const policy = defaultShmem();
  if (s.config?.shmem) policy[HPAGE_PMD_ORDER] = "never";
  for (const [name, p] of Object.entries(s.config?.shmem ?? {})) {
    const order = sizeNameToOrder(name);
    if (order !== null && order >= 2 && order <= HPAGE_PMD_ORDER) policy[order] = p;
  }
  return MTHP_ORDERS.map((o) => ({ dir: `${hugepagesDirName(o)}/shmem_enabled`, policy: policy[o] as string }));
}

/** The kernel runner's own limits (what the model has no limit for). */
const MAX_MAPPINGS = 256;
const MAX_PROCS = 64;

/**
 * The runner's program for a scenario, from core's plan of it (planScenario()): every check of
 * the scenario is core's, in core's words; only the runner's own limits are checked here.
 */
export function buildProgram(s: Scenario): Program {
  const plan = planScenario(s);
  const slots = (m: PlannedMapping | undefined) => m as PlannedMapping;
  const steps: Step[] = plan.ops.map((p): Step => {
    const op = p.op;
    const base = { index: p.index, proc: p.proc, procId: p.procId };
    const args = () => {
      const r = p.range as PlannedRange;
      return `${slots(p.mapping).slot} ${r.offset} ${r.length} ${r.stride}`;
    };
    const pages = () => (p.range as PlannedRange).pages;
    const created = () => {
      const m = p.creates as PlannedMapping;
      if (m.slot >= MAX_MAPPINGS)
        throw new ScenarioError(`${p.where}: the kernel runner supports at most ${MAX_MAPPINGS} mappings`);
      return m;
    };
    switch (op.op) {
      case "reclaim":
        return { kind: "reclaim", index: p.index, name: "reclaim" };
      case "mmap": {
        const m = created();
        const align = op.align === undefined ? 2 << 20 : (parseSize(op.align) as number);
        const k = { anon: "a", "file-private": "p", "file-shared": "s", shmem: "m" }[op.kind];
        return {
          ...base,
          kind: "mmap",
          name: "mmap",
          id: op.id,
          line: `mmap ${m.slot} ${m.size} ${align} ${k} ${op.locked ? 1 : 0}${m.file === undefined ? "" : ` ${m.file}`}`,
          pages: op.locked ? m.size / PAGE : 0,
        };
      }
      case "madvise":
        return { ...base, kind: "cmd", name: "madvise", line: `madv ${args()} ${op.advice}`, pages: pages() };
      case "write":
        return { ...base, kind: "cmd", name: "write", line: `write ${args()} ${op.value ?? p.index + 1}`, pages: pages() };
      case "read":
        return { ...base, kind: "cmd", name: "read", line: `read ${args()}`, pages: pages() };
      case "munmap":
        return { ...base, kind: "cmd", name: "munmap", line: `munmap ${args()}`, pages: pages() };
      case "mprotect": {
        const r = p.range as PlannedRange;
        return {
          ...base,
          kind: "cmd",
          name: "mprotect",
          line: `mprotect ${slots(p.mapping).slot} ${r.offset} ${r.length} ${op.prot}`,
          pages: r.length / PAGE,
        };
      }
      case "mremap": {
        const r = p.range as PlannedRange;
        const m = created();
        return {
          ...base,
          kind: "mremap",
          name: "mremap",
          id: op.to,
          line: `mremap ${slots(p.mapping).slot} ${r.offset} ${r.length} ${m.slot}`,
          pages: r.length / PAGE,
        };
      }
      case "pin":
      case "unpin": {
        const r = p.range as PlannedRange;
        return {
          ...base,
          kind: "cmd",
          name: op.op,
          line: `${op.op} ${slots(p.mapping).slot} ${r.offset} ${r.length}`,
          pages: r.length / PAGE,
        };
      }
      case "fork": {
        const child = p.child as { name: string; procId: number };
        if (child.procId >= MAX_PROCS)
          throw new ScenarioError(`${p.where}: the kernel runner supports at most ${MAX_PROCS} procs`);
        return { ...base, kind: "fork", name: "fork", child: child.name, childId: child.procId, line: `fork ${child.procId}` };
      }
      case "exit":
        return { ...base, kind: "exit", name: "exit" };
      case "expect": {
        const step: Step = { ...base, kind: "expect", name: "expect" };
        if (op.id !== undefined) {
          const r = p.range as PlannedRange;
          step.peek = { slot: slots(p.mapping).slot, offset: r.offset, id: op.id, offsetText: String(op.offset ?? 0) };
        }
        if (op.value !== undefined) step.value = op.value;
        if (op.counters) step.counters = op.counters;
        if (op.pinned !== undefined) step.pinned = op.pinned;
        return step;
      }
      default:
        throw new ScenarioError(`${p.where}: op "${(op as { op: string }).op}" is not supported by the kernel probe`);
    }
  });
  const swap = plan.scenario.config?.swap === undefined ? 0 : (parseSize(plan.scenario.config.swap) ?? 0);
  return {
    steps,
    procNames: plan.procs,
    knobs: [...wantedKnobs(plan.scenario), ...wantedShmemKnobs(plan.scenario)],
    swapBytes: Math.min(swap - (swap % PAGE), MAX_SWAP_FILE_BYTES),
  };
}
