/**
 * When the kernel cannot be used (here: kernelAvailable() mocked to say "not Linux"),
 * `foliolab kernel` names what is missing and exits 3, and `foliolab bench --kernel` says why
 * once and carries on without the column.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "./cli/program.js";
import type { ResultsFile } from "./results.js";
import { captureIo, FIXTURES, tempDir } from "./test-helpers.js";

vi.mock("@foliolab/kernel-probe", async (importOriginal) => {
  const real = await importOriginal<typeof import("@foliolab/kernel-probe")>();
  return {
    ...real,
    kernelAvailable: () => ({
      ok: false,
      reason: "not Linux (darwin): the kernel probe needs Linux",
      platform: "darwin",
      kernel: "23.0.0",
      root: false,
      mthp: false,
      canSetMthp: false,
      canReadLayout: false,
      compiler: null,
      limits: [],
    }),
    runOnKernel: () => {
      throw new Error("must not run");
    },
  };
});

describe("kernel not usable", () => {
  it("foliolab kernel: a clear message and exit code 3", async () => {
    const io = captureIo();
    expect(await main(["kernel", join(FIXTURES, "kernel-64k-partial.json")], io)).toBe(3);
    expect(io.text()).toContain("cannot run on this machine's kernel: not Linux (darwin)");
    expect(io.text()).toContain("root no");
  });

  it("foliolab bench --kernel: says why once, runs the model matrix, no column", async () => {
    const dir = tempDir();
    const io = captureIo();
    const code = await main(
      ["bench", "--kernel", "-w", "pmfb/munmap", "--size", "4M", "-f", "64K", "-s", "folio-batch", "--samples", "1", "-o", dir],
      io,
    );
    expect(code).toBe(0);
    const why = io.stderr.filter((l) => l.includes("linux (this machine): not measured"));
    expect(why).toHaveLength(2); // once up front, once in the closing summary
    expect(why[0]).toContain("carrying on without the column");
    expect(io.stdout.join("")).not.toContain("linux (this machine)");
    const res = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ResultsFile;
    expect(res.summary.ok).toBe(1);
    expect(res.kernel).toMatchObject({ available: false, runs: [] });
    expect(readFileSync(join(dir, "report.md"), "utf8")).toContain("linux (this machine): not measured");
  });
});
