// Beyond the model's limits, every command refuses before anything runs, naming the field, the
// value and the limit (never a silently wrong result, never a stack trace).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import { captureIo, tempDir } from "./test-helpers.js";
import { MAX_GENERATED_OPS } from "./workloads.js";

describe("limits on the command line", () => {
  it("bench --size 16T: exit 2 before any cell runs, naming --size, the field and the limit", async () => {
    const io = captureIo();
    const out = join(tempDir(), "out");
    const code = await main(["bench", "-s", "per-page", "-w", "pmfb/munmap", "-f", "64K", "--size", "16T", "--out", out], io);
    expect(code).toBe(2);
    const text = io.text();
    expect(text).toContain("--size 16T: workload pmfb/munmap at folio 64K, size 16T");
    expect(text).toContain('ops[0] (mmap): field "size": 17592186044416 (16T) does not fit');
    expect(text).toContain("beyond the limit of 8T");
    expect(text).not.toMatch(/\n\s+at /); // no stack trace
    expect(text).not.toContain("ok");
  });

  it("bench accepts T sizes within the limits (the scenario is planned, not refused)", async () => {
    const io = captureIo();
    const code = await main(["run", "pmfb/munmap", "--size", "7T", "-f", "2M-PMD", "--print-scenario"], io);
    expect(code).toBe(0);
    expect(io.stdout.join("")).toContain('"size": 7696581394432');
  });

  it("kernel: a scenario beyond the limits exits 2 with the same message, before touching the kernel", async () => {
    const dir = tempDir();
    const file = join(dir, "big.json");
    writeFileSync(
      file,
      JSON.stringify({ name: "big", config: { memory: "9T" }, ops: [{ op: "mmap", id: "a", size: "4M", kind: "anon" }] }),
    );
    const io = captureIo();
    expect(await main(["kernel", file], io)).toBe(2);
    expect(io.text()).toContain("config.memory: 9T is beyond the model's limit of 8T");
  });

  it("run: the same refusal, named, no stack trace", async () => {
    const dir = tempDir();
    const file = join(dir, "big.json");
    writeFileSync(file, JSON.stringify({ name: "big", ops: [{ op: "mmap", id: "a", size: "8T", kind: "anon" }] }));
    const io = captureIo();
    expect(await main(["run", file, "-s", "per-page"], io)).not.toBe(0);
    expect(io.text()).toContain('ops[0] (mmap): field "size": 8T does not fit');
    expect(io.text()).not.toMatch(/\n\s+at /);
  });

  it("a workload with an op per page is refused by name at a size that would exhaust memory while generating", async () => {
    const io = captureIo();
    const code = await main(
      ["bench", "-s", "per-page", "-w", "pmfb/pte-dontneed", "-f", "4K", "--size", "1T", "--out", join(tempDir(), "o")],
      io,
    );
    expect(code).toBe(2);
    expect(io.text()).toContain(`more than ${MAX_GENERATED_OPS} ops`);
  });
});
