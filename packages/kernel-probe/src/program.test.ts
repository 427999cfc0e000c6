import { parseScenario, ScenarioError } from "@foliolab/core";
import { describe, expect, it } from "vitest";
import { buildProgram, wantedKnobs } from "./program.js";

const scen = (ops: unknown[], config?: unknown) => parseScenario({ name: "t", ops, ...(config ? { config } : {}) });

describe("buildProgram (no kernel needed)", () => {
  it("applies the model's mTHP defaults (all never, 2M madvise) with config.mthp on top", () => {
    const k = Object.fromEntries(
      wantedKnobs(scen([], { mthp: { "64K": "always", "2M": "never" } })).map((x) => [x.dir, x.policy]),
    );
    expect(k["hugepages-64kB"]).toBe("always");
    expect(k["hugepages-2048kB"]).toBe("never");
    expect(k["hugepages-16kB"]).toBe("never");
    const d = Object.fromEntries(wantedKnobs(scen([])).map((x) => [x.dir, x.policy]));
    expect(d["hugepages-2048kB"]).toBe("madvise");
    expect(Object.keys(d)).toHaveLength(8);
  });

  it("turns ops into runner lines with defaults resolved (2M alignment, whole mapping, value = op index + 1)", () => {
    const p = buildProgram(
      scen([
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "64K" },
        { op: "mmap", id: "f", size: "64K", kind: "file-shared", align: "4K" },
      ]),
    );
    const lines = p.steps.map((s) => ("line" in s ? s.line : s.kind));
    expect(lines[0]).toBe(`mmap 0 ${1 << 20} ${2 << 20} a 0`);
    expect(lines[1]).toBe(`write 0 0 ${1 << 20} 0 2`);
    expect(lines[2]).toBe(`munmap 0 4096 4096 65536`);
    expect(lines[3]).toBe(`mmap 1 65536 4096 s 0`);
    // 16 strided ranges of one page each
    expect(p.steps[2] && "pages" in p.steps[2] ? p.steps[2].pages : -1).toBe(16);
  });

  it("passes a named file's name to the runner, on mremap's new mapping too", () => {
    const p = buildProgram(
      scen([
        { op: "mmap", id: "f", size: "64K", kind: "file-shared", file: "db.1" },
        { op: "mmap", id: "g", size: "64K", kind: "file-private", file: "db.1", align: "4K" },
        { op: "mremap", id: "f", offset: 0, length: "16K", to: "h" },
      ]),
    );
    const lines = p.steps.map((s) => ("line" in s ? s.line : s.kind));
    expect(lines[0]).toBe(`mmap 0 65536 ${2 << 20} s 0 db.1`);
    expect(lines[1]).toBe("mmap 1 65536 4096 p 0 db.1");
    expect(lines[2]).toBe("mremap 0 0 16384 2");
  });

  it("gives forked procs their own id and a copy of the parent's mappings", () => {
    const p = buildProgram(
      scen([
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "fork", as: "child" },
        { op: "write", proc: "child", id: "a" },
        { op: "exit", proc: "child" },
      ]),
    );
    expect(p.procNames).toEqual(["main", "child"]);
    const w = p.steps[2];
    expect(w?.kind === "cmd" && w.procId).toBe(1);
  });

  it("rejects unknown procs, unknown ids, ranges past the end and ops on exited procs, naming the op", () => {
    expect(() => buildProgram(scen([{ op: "write", id: "nope" }]))).toThrow(
      /ops\[0\] \(write\): field "id": unknown mapping "nope"/,
    );
    expect(() => buildProgram(scen([{ op: "exit", proc: "ghost" }]))).toThrow(ScenarioError);
    expect(() =>
      buildProgram(
        scen([
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "munmap", id: "a", offset: "60K", length: "8K" },
        ]),
      ),
    ).toThrow(/runs past the end/);
    expect(() =>
      buildProgram(
        scen([
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "fork", as: "c" },
          { op: "exit", proc: "c" },
          { op: "write", proc: "c", id: "a" },
        ]),
      ),
    ).toThrow(/ops\[3\].*has already exited/);
    expect(() =>
      buildProgram(
        scen([
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "write", id: "a", length: "8K", stride: "4K" },
        ]),
      ),
    ).toThrow(/stride/);
  });
});
