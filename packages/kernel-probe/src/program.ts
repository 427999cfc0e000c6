/**
 * Turn a parsed scenario into the runner's line program. Static checks (procs and ids exist,
 * ranges inside mappings, strides not smaller than lengths) fail with ScenarioError before
 * anything runs, in the same words as the model's checks.
 */

import { parseSize, type Scenario, ScenarioError, type ScenarioOp } from "@foliolab/core";
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

function size(value: string | number, where: string, allowZero = false): number {
  const bytes = parseSize(value);
  if (bytes === null) throw new ScenarioError(`${where}: "${value}" is not a size (use bytes or 4K, 64K, 2M, 1G)`);
  if (bytes % PAGE !== 0) throw new ScenarioError(`${where}: ${value} is not a multiple of 4K`);
  if (!allowZero && bytes === 0) throw new ScenarioError(`${where}: must not be zero`);
  return bytes;
}

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

interface ProcState {
  id: number;
  ids: Map<string, MappingShape>;
  exited: boolean;
}

export function buildProgram(s: Scenario): Program {
  const procs = new Map<string, ProcState>([["main", { id: 0, ids: new Map(), exited: false }]]);
  const procNames = ["main"];
  let nextSlot = 0;
  const steps: Step[] = [];

  s.ops.forEach((op: ScenarioOp, i: number) => {
    const where = `ops[${i}] (${op.op})`;
    if (op.op === "reclaim") {
      steps.push({ kind: "reclaim", index: i, name: "reclaim" });
      return;
    }
    const pname = op.proc ?? "main";
    const p = procs.get(pname);
    if (!p) throw new ScenarioError(`${where}: field "proc": unknown proc "${pname}"`);
    if (p.exited) throw new ScenarioError(`${where}: field "proc": proc "${pname}" has already exited`);
    const base = { index: i, proc: pname, procId: p.id };

    const mapping = (id: string): MappingShape => {
      const m = p.ids.get(id);
      if (!m) throw new ScenarioError(`${where}: field "id": unknown mapping "${id}" in proc "${pname}"`);
      return m;
    };
    const range = (o: { id: string; offset?: string | number | undefined; length?: string | number | undefined }) => {
      const m = mapping(o.id);
      const off = o.offset === undefined ? 0 : size(o.offset, `${where}: field "offset"`, true);
      if (off >= m.size)
        throw new ScenarioError(`${where}: field "offset": ${off} is outside mapping "${o.id}" (size ${m.size})`);
      const len = o.length === undefined ? m.size - off : size(o.length, `${where}: field "length"`);
      if (off + len > m.size) {
        throw new ScenarioError(
          `${where}: field "length": offset ${off} + length ${len} runs past the end of mapping "${o.id}" (size ${m.size})`,
        );
      }
      return { m, off, len };
    };
    const strided = (o: {
      id: string;
      offset?: string | number | undefined;
      length?: string | number | undefined;
      stride?: string | number | undefined;
    }) => {
      const r = range(o);
      let stride = 0;
      let pages = r.len / PAGE;
      if (o.stride !== undefined) {
        stride = size(o.stride, `${where}: field "stride"`);
        if (stride < r.len) throw new ScenarioError(`${where}: field "stride": ${stride} is smaller than length ${r.len}`);
        let n = 0;
        for (let st = r.off; st + r.len <= r.m.size; st += stride) n++;
        pages = n * (r.len / PAGE);
      }
      return { ...r, stride, pages, args: `${r.m.slot} ${r.off} ${r.len} ${stride}` };
    };

    switch (op.op) {
      case "mmap": {
        if (p.ids.has(op.id))
          throw new ScenarioError(`${where}: field "id": mapping "${op.id}" already exists in proc "${pname}"`);
        const bytes = size(op.size, `${where}: field "size"`);
        let align = 2 << 20;
        if (op.align !== undefined) {
          align = size(op.align, `${where}: field "align"`);
          if ((align & (align - 1)) !== 0) throw new ScenarioError(`${where}: field "align": must be a power of two`);
        }
        const slot = nextSlot++;
        if (slot >= 256) throw new ScenarioError(`${where}: the kernel runner supports at most 256 mappings`);
        p.ids.set(op.id, { slot, size: bytes, kind: op.kind });
        const k = { anon: "a", "file-private": "p", "file-shared": "s", shmem: "m" }[op.kind];
        steps.push({
          ...base,
          kind: "mmap",
          name: "mmap",
          id: op.id,
          line: `mmap ${slot} ${bytes} ${align} ${k} ${op.locked ? 1 : 0}`,
          pages: op.locked ? bytes / PAGE : 0,
        });
        return;
      }
      case "madvise": {
        const r = strided(op);
        steps.push({ ...base, kind: "cmd", name: "madvise", line: `madv ${r.args} ${op.advice}`, pages: r.pages });
        return;
      }
      case "write": {
        const r = strided(op);
        steps.push({ ...base, kind: "cmd", name: "write", line: `write ${r.args} ${op.value ?? i + 1}`, pages: r.pages });
        return;
      }
      case "read": {
        const r = strided(op);
        steps.push({ ...base, kind: "cmd", name: "read", line: `read ${r.args}`, pages: r.pages });
        return;
      }
      case "munmap": {
        const r = strided(op);
        steps.push({ ...base, kind: "cmd", name: "munmap", line: `munmap ${r.args}`, pages: r.pages });
        return;
      }
      case "mprotect": {
        const r = range(op);
        steps.push({
          ...base,
          kind: "cmd",
          name: "mprotect",
          line: `mprotect ${r.m.slot} ${r.off} ${r.len} ${op.prot}`,
          pages: r.len / PAGE,
        });
        return;
      }
      case "mremap": {
        const r = range(op);
        if (p.ids.has(op.to))
          throw new ScenarioError(`${where}: field "to": mapping "${op.to}" already exists in proc "${pname}"`);
        const slot = nextSlot++;
        if (slot >= 256) throw new ScenarioError(`${where}: the kernel runner supports at most 256 mappings`);
        p.ids.set(op.to, { slot, size: r.len, kind: r.m.kind });
        steps.push({
          ...base,
          kind: "mremap",
          name: "mremap",
          id: op.to,
          line: `mremap ${r.m.slot} ${r.off} ${r.len} ${slot}`,
          pages: r.len / PAGE,
        });
        return;
      }
      case "pin":
      case "unpin": {
        const r = range(op);
        steps.push({ ...base, kind: "cmd", name: op.op, line: `${op.op} ${r.m.slot} ${r.off} ${r.len}`, pages: r.len / PAGE });
        return;
      }
      case "fork": {
        if (procs.has(op.as)) throw new ScenarioError(`${where}: field "as": proc "${op.as}" already exists`);
        const childId = procNames.length;
        if (childId >= 64) throw new ScenarioError(`${where}: the kernel runner supports at most 64 procs`);
        procNames.push(op.as);
        procs.set(op.as, { id: childId, ids: new Map(p.ids), exited: false });
        steps.push({ ...base, kind: "fork", name: "fork", child: op.as, childId, line: `fork ${childId}` });
        return;
      }
      case "exit":
        p.exited = true;
        steps.push({ ...base, kind: "exit", name: "exit" });
        return;
      case "expect": {
        const step: Step = { ...base, kind: "expect", name: "expect" };
        if (op.id !== undefined) {
          const m = mapping(op.id);
          const off = op.offset === undefined ? 0 : size(op.offset, `${where}: field "offset"`, true);
          if (off >= m.size)
            throw new ScenarioError(`${where}: field "offset": ${off} is outside mapping "${op.id}" (size ${m.size})`);
          step.peek = { slot: m.slot, offset: off, id: op.id, offsetText: String(op.offset ?? 0) };
        } else if (op.value !== undefined) {
          throw new ScenarioError(`${where}: field "value" needs an "id" (and "offset") to read from`);
        }
        if (op.value !== undefined) step.value = op.value;
        if (op.counters) step.counters = op.counters;
        const pinned = (op as { pinned?: unknown }).pinned;
        if (typeof pinned === "boolean") step.pinned = pinned;
        steps.push(step);
        return;
      }
      default:
        throw new ScenarioError(`${where}: op "${(op as { op: string }).op}" is not supported by the kernel probe`);
    }
  });
  const swap = s.config?.swap === undefined ? 0 : (parseSize(s.config.swap) ?? 0);
  return {
    steps,
    procNames,
    knobs: [...wantedKnobs(s), ...wantedShmemKnobs(s)],
    swapBytes: Math.min(swap - (swap % PAGE), MAX_SWAP_FILE_BYTES),
  };
}
