// The model's limits: exact up to each one, refused by name one page beyond it, before
// anything runs. And a 64 GiB process checked for contents and counters (PTEs above 2^24 pfns).

import { describe, expect, it } from "vitest";
import { ScenarioError } from "./errors.js";
import { MAX_MEMORY_PAGES } from "./mem-map.js";
import { MAX_VPN, MMAP_BASE_VPN } from "./mm.js";
import { mkPte, PTE, PTE_MAX_PFN, PTE32_MAX_PFN, pteClearFlags, ptePfn, pteSetFlags } from "./page-table.js";
import { kernelConfig, runScenario, runScenarioDetailed } from "./run-scenario.js";
import type { Scenario } from "./scenario.js";
import { MODEL_LIMITS, validateScenario } from "./scenario-plan.js";
import { reference as perPage } from "./testing/per-pte.js";
import { formatBytes, PAGE_SIZE, parseSize } from "./units.js";

const T = 1024 ** 4;
const G = 1024 ** 3;

function refusal(spec: unknown): ScenarioError {
  try {
    validateScenario(spec);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error("expected a ScenarioError");
}

describe("sizes", () => {
  it("accept T and P, binary units, and refuse what is not a size", () => {
    expect(parseSize("1T")).toBe(T);
    expect(parseSize("4TiB")).toBe(4 * T);
    expect(parseSize("1P")).toBe(1024 * T);
    expect(parseSize("1X")).toBeNull();
    expect(parseSize("9999999P")).toBeNull(); // beyond 2^53 bytes
    expect(formatBytes(8 * T)).toBe("8T");
    expect(formatBytes(2 * 1024 * T)).toBe("2P");
  });
});

describe("PTE encoding", () => {
  it("holds every pfn up to PTE_MAX_PFN, flags intact, whatever is set or cleared", () => {
    for (const pfn of [0, PTE32_MAX_PFN, PTE32_MAX_PFN + 1, 2 ** 31 - 1, 2 ** 32 + 5, PTE_MAX_PFN]) {
      const pte = mkPte(pfn, PTE.present | PTE.dirty);
      expect(ptePfn(pte)).toBe(pfn);
      expect(pte & PTE.dirty).not.toBe(0);
      const w = pteSetFlags(pte, PTE.write | PTE.dirty);
      expect(ptePfn(w)).toBe(pfn);
      expect(w & (PTE.write | PTE.dirty | PTE.present)).toBe(PTE.write | PTE.dirty | PTE.present);
      const c = pteClearFlags(w, PTE.dirty | PTE.young);
      expect(ptePfn(c)).toBe(pfn);
      expect(c & 0xff).toBe(PTE.present | PTE.write);
    }
  });
});

describe("model memory limit", () => {
  const spec = (memory: number | string) => ({
    name: "memory",
    config: { memory },
    ops: [{ op: "mmap", id: "a", size: "4M", kind: "anon" }],
  });

  it("accepts memory up to 8T and refuses a page more, naming the field, the value and the limit", () => {
    expect(MODEL_LIMITS.memoryBytes).toBe(MAX_MEMORY_PAGES * PAGE_SIZE);
    expect(() => validateScenario(spec("8T"))).not.toThrow();
    expect(() => validateScenario(spec(8 * T - PAGE_SIZE))).not.toThrow();
    const e = refusal(spec(8 * T + PAGE_SIZE));
    expect(e.message).toBe(`config.memory: ${8 * T + PAGE_SIZE} (8589934596K) is beyond the model's limit of 8T`);
    expect(refusal(spec("16T")).message).toBe("config.memory: 16T is beyond the model's limit of 8T");
  });

  it("refuses swap beyond 8T the same way", () => {
    const s = (swap: number) => ({ name: "swap", config: { swap }, ops: [{ op: "mmap", id: "a", size: "4M", kind: "anon" }] });
    expect(() => validateScenario(s(8 * T))).not.toThrow();
    expect(refusal(s(8 * T + PAGE_SIZE)).message).toBe(
      `config.swap: ${8 * T + PAGE_SIZE} (8589934596K) is beyond the model's limit of 8T`,
    );
  });

  it("sizes memory for a huge mapping at the limit, never beyond it", () => {
    const cfg = kernelConfig(validateScenario({ name: "big", ops: [{ op: "mmap", id: "a", size: "7T", kind: "anon" }] }));
    expect(cfg.memoryPages).toBe(MAX_MEMORY_PAGES);
  });
});

describe("address space limit", () => {
  const room = (MAX_VPN - MMAP_BASE_VPN) * PAGE_SIZE;

  it("gives a process 7T of mappings and refuses a page more", () => {
    expect(room).toBe(7 * T);
    expect(() => validateScenario({ name: "7T", ops: [{ op: "mmap", id: "a", size: "7T", kind: "anon" }] })).not.toThrow();
    const e = refusal({ name: "7T+4K", ops: [{ op: "mmap", id: "a", size: 7 * T + PAGE_SIZE, kind: "anon" }] });
    expect(e.message).toContain('ops[0] (mmap): field "size"');
    expect(e.message).toContain(`${7 * T + PAGE_SIZE} (7516192772K) does not fit`);
    expect(e.message).toContain("beyond the limit of 8T");
  });

  it("counts every mapping of the process, alignment and gaps included, and mremap's new range", () => {
    // 4T + (the 2M-aligned gap) + a mapping that reaches exactly to the end: fine.
    const ok = {
      name: "two",
      ops: [
        { op: "mmap", id: "a", size: "4T", kind: "anon" },
        { op: "mmap", id: "b", size: 3 * T - 2 * 1024 * 1024, kind: "anon" },
      ],
    };
    expect(() => validateScenario(ok)).not.toThrow();
    const over = structuredClone(ok);
    (over.ops[1] as { size: number }).size += PAGE_SIZE;
    expect(refusal(over).message).toContain('ops[1] (mmap): field "size"');
    const moved = {
      name: "mremap",
      ops: [
        { op: "mmap", id: "a", size: "4T", kind: "anon" },
        { op: "mremap", id: "a", offset: 0, length: "4T", to: "b" },
      ],
    };
    expect(refusal(moved).message).toContain('ops[1] (mremap): field "length": 4T does not fit');
  });

  it("runs exactly at the top of the address space: the last page of a 7T mapping", () => {
    const r = runScenario(
      {
        name: "top",
        config: { memory: "64M" },
        ops: [
          { op: "mmap", id: "a", size: "7T", kind: "anon" },
          { op: "write", id: "a", offset: 7 * T - PAGE_SIZE, length: "4K", value: 41 },
          { op: "write", id: "a", offset: 0, length: "4K", value: 42 },
          { op: "expect", id: "a", offset: 7 * T - PAGE_SIZE, value: 41 },
          { op: "expect", id: "a", offset: 0, value: 42 },
          { op: "expect", counters: { procs: { main: { RssAnon: 8 } } } },
          { op: "munmap", id: "a" },
          { op: "expect", counters: { meminfo: { AnonPages: 0 }, procs: { main: { RssAnon: 0 } } } },
        ],
      },
      { strategy: perPage },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

/** Write every page of an anon region (tests/cross-strategy/src/scale.test.ts does 64 GiB of it), read it back, munmap it, with counters checked on the way. */
function populateAndUnmap(size: number, folio: string, memory?: number): Scenario {
  const pages = size / PAGE_SIZE;
  const kb = size / 1024;
  return validateScenario({
    name: `populate ${formatBytes(size)}`,
    config: { mthp: { [folio]: "always" }, invariants: false, ...(memory ? { memory } : {}) },
    ops: [
      { op: "mmap", id: "a", size, kind: "anon" },
      { op: "write", id: "a", value: 7 },
      { op: "write", id: "a", offset: size - PAGE_SIZE, length: "4K", value: 9 },
      { op: "expect", id: "a", offset: 0, value: 7 },
      { op: "expect", id: "a", offset: size / 2, value: 7 },
      { op: "expect", id: "a", offset: size - PAGE_SIZE, value: 9 },
      {
        op: "expect",
        counters: {
          meminfo: { AnonPages: kb },
          procs: { main: { RssAnon: kb } },
          vmstat: { pgfault: pages / ((parseSize(folio) as number) / PAGE_SIZE) },
        },
      },
      { op: "munmap", id: "a" },
      { op: "expect", counters: { meminfo: { AnonPages: 0 }, procs: { main: { RssAnon: 0 } } } },
    ],
  });
}

describe("pfns either side of the 4-byte PTE table limit (2^24 pages, 64G)", () => {
  for (const memory of [64 * G, 64 * G + 4 * 1024 * 1024]) {
    it(`memory ${formatBytes(memory)}: the highest pfns read back what was written, and all is freed`, () => {
      const { result, kernel } = runScenarioDetailed(populateAndUnmap(64 * 1024 * 1024, "64K", memory), {
        strategy: perPage,
      });
      expect(kernel.widePtes).toBe(memory / PAGE_SIZE > PTE32_MAX_PFN);
      expect(result.expects.filter((e) => !e.ok)).toEqual([]);
      expect(result.meminfo.MemFree).toBe(memory / 1024 - 4096);
    });
  }
});
