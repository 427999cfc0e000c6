import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kernelAvailable } from "@foliolab/kernel-probe";
import { describe, expect, it } from "vitest";
import { main } from "../cli/program.js";
import { captureIo, tempDir } from "../test-helpers.js";
import { WORKLOADS } from "../workloads.js";
import {
  calibrationCells,
  cellSet,
  isHeldOut,
  journalPath,
  machineInfo,
  priorOrigin,
  renderCalibration,
  summarizeCalibration,
} from "./calibrate.js";

describe("calibrate: pure parts", () => {
  it("names the profile after CPU model, kernel release and page size", () => {
    const m = machineInfo("processor\t: 0\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n", "6.18.44-fc-v657", 4096);
    expect(m.cpu).toBe("AMD EPYC 7B13 64-Core Processor");
    expect(m.name).toBe("linux-6.18.44-fc-v657-amd-epyc-7b13-4k");
    expect(machineInfo("model name : Intel(R) Xeon(R) Processor\n", "6.9.0", 16384).name).toBe("linux-6.9.0-intel-xeon-16k");
  });

  it("holds out every n-th cell, none with 0", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter((i) => isHeldOut(i, 4))).toEqual([3, 7]);
    expect([0, 1, 2, 3].filter((i) => isHeldOut(i, 0))).toEqual([]);
  });

  it("cells with a wall-clock-timed exit are checked, not fitted, unless asked", () => {
    expect(cellSet(0, 4, true, false)).toBe("wall");
    expect(cellSet(0, 4, true, true)).toBe("fit");
    expect(cellSet(3, 4, true, true)).toBe("held-out");
    expect(cellSet(0, 4, false, false)).toBe("fit");
    expect(cellSet(0, 4, false, false, true)).toBe("known");
  });

  it("the calibration set is workload x folio size, fixed folio axes respected", () => {
    const ws = WORKLOADS.filter((w) => w.id === "pmfb/munmap" || w.id === "file/shared-dirty-munmap");
    const cells = calibrationCells(ws, ["4K", "64K"], 4 << 20);
    expect(cells.map((c) => `${c.workload} ${c.folio}`)).toEqual([
      "pmfb/munmap 4K",
      "pmfb/munmap 64K",
      "file/shared-dirty-munmap 4K",
      // its own folio axis (4K, mixed, 2M-PTE, 2M-PMD) is kept: only the sizes it has are measured
      "file/shared-dirty-munmap mixed",
      "file/shared-dirty-munmap 2M-PTE",
      "file/shared-dirty-munmap 2M-PMD",
    ]);
    expect(journalPath("/x/p.json")).toBe("/x/p.measurements.json");
  });

  it("marks cells off by more than 20% and summarises each set", () => {
    const rows = [
      { workload: "w", folio: "4K", set: "fit" as const, measured: 100, predicted: 110, error: 0.1 },
      { workload: "w", folio: "64K", set: "held-out" as const, measured: 100, predicted: 150, error: 0.5 },
      {
        workload: "w",
        folio: "2M-PMD",
        set: "fit" as const,
        measured: undefined,
        predicted: 5,
        error: undefined,
        reason: "failed: x",
      },
    ];
    const t = renderCalibration(rows).split("\n");
    expect(t[1]).toMatch(/\+10\.0%$/);
    expect(t[2]).toMatch(/1\.50x\s+\+50\.0% !$/);
    expect(t[3]).toContain("failed: x");
    const s = summarizeCalibration(rows);
    expect(s[0]).toMatch(/^fit: 1 cells.*all within 20%/);
    expect(s[1]).toMatch(/^held-out: 1 cells.*1 off by more than 20%: w 64K \(50%\)/);
  });
});

describe("calibrate: the command", () => {
  it("a kept prior names where its value came from once, however many refits kept it", () => {
    const once = "m1, held: under 1% of every calibration cell (fitted (prior 150.0 from m0))";
    const twice = `m2, held: under 5% of every calibration cell (${once})`;
    expect(priorOrigin(twice)).toBe("fitted (prior 150.0 from m0)");
    expect(
      priorOrigin("m3, held (--hold: not fitted) (m2: no calibration cell has this event (estimate: a lock (uncontended)))"),
    ).toBe("estimate: a lock (uncontended)");
    expect(priorOrigin("real-kernel.md s3 (perf)")).toBe("real-kernel.md s3 (perf)");
    expect(priorOrigin(undefined)).toBe("");
  });

  it("refuses bad arguments by name", async () => {
    const io = captureIo();
    expect(await main(["calibrate", "--samples", "0"], io)).toBe(2);
    expect(io.text()).toMatch(/--samples.*"0" must be an integer >= 1/);
    const w = captureIo();
    expect(await main(["calibrate", "-w", "no/such", "-o", join(tempDir(), "p.json")], w)).toBe(2);
    expect(w.text()).toContain('unknown workload "no/such"');
    const h = captureIo();
    expect(await main(["calibrate", "--hold", "split_queue_lock,no_such_event", "-o", join(tempDir(), "p.json")], h)).toBe(2);
    expect(h.text()).toContain('--hold: unknown cost event "no_such_event"');
  });

  it("--resume refuses a journal measured on another machine", async () => {
    const dir = tempDir();
    const out = join(dir, "p.json");
    writeFileSync(
      journalPath(out),
      JSON.stringify({
        schema: "foliolab-calibration-measurements",
        machine: { name: "linux-other" },
        samples: 1,
        measurements: [],
      }),
    );
    const io = captureIo();
    expect(await main(["calibrate", "-w", "pmfb/munmap", "-f", "64K", "--size", "4M", "--resume", "-o", out], io)).toBe(2);
    expect(io.text()).toMatch(/was measured on linux-other, this is linux-/);
  });

  it("--refit fits on the kernel medians a profile of this machine recorded, measuring nothing, and keeps their range", async () => {
    const dir = tempDir();
    const machine = machineInfo();
    const recorded = join(dir, "old.json");
    const row = (folio: string, target: number, min: number, max: number) => ({
      workload: "pmfb/munmap",
      folio,
      strategy: "folio-batch",
      set: "fit",
      targetNsPerPage: target,
      predictedNsPerPage: 1,
      error: 0,
      size: 4 << 20,
      samples: 9,
      minNsPerPage: min,
      maxNsPerPage: max,
      source: "foliolab calibrate: kernel median of 9",
    });
    writeFileSync(
      recorded,
      JSON.stringify({ name: machine.name, machine, calibration: [row("64K", 40, 38, 47), row("2M-PMD", 10, 9, 12)] }),
    );
    const out = join(dir, "new.json");
    const io = captureIo();
    const args = ["calibrate", "-w", "pmfb/munmap", "-f", "64K,2M-PMD,16K", "--size", "4M", "--holdout", "0"];
    expect(await main([...args, "--refit", recorded, "-o", out], io)).toBe(0);
    expect(io.text()).toContain("no kernel run");
    expect(io.text()).not.toMatch(/^\[pass/m);
    const p = JSON.parse(readFileSync(out, "utf8")) as {
      description: string;
      calibration: Array<{
        folio: string;
        targetNsPerPage: number | null;
        samples?: number;
        minNsPerPage?: number;
        maxNsPerPage?: number;
        source: string;
      }>;
    };
    expect(p.description).toContain(`refitted on the kernel medians recorded in ${machine.name}`);
    const by = Object.fromEntries(p.calibration.map((c) => [c.folio, c]));
    expect(by["64K"]).toMatchObject({ targetNsPerPage: 40, samples: 9, minNsPerPage: 38, maxNsPerPage: 47 });
    expect(by["2M-PMD"]).toMatchObject({ targetNsPerPage: 10, samples: 9 });
    // a cell the recorded table does not hold is not measured, not invented
    expect(by["16K"]?.targetNsPerPage).toBeNull();
    expect(by["16K"]?.source).toMatch(/not measured: not in .*calibration table/);
    // the fit moved the costs towards the recorded medians: the 2M-PMD munmap is predicted near 10 ns/page
    expect(io.text()).toMatch(/pmfb\/munmap 2M-PMD\s+fit\s+10\.0/);

    // another machine's profile is refused by name
    writeFileSync(recorded, JSON.stringify({ name: "linux-other", machine: { name: "linux-other" }, calibration: [] }));
    const other = captureIo();
    expect(await main([...args, "--refit", recorded, "-o", out], other)).toBe(2);
    expect(other.text()).toMatch(/--refit: .* was measured on linux-other, this is linux-/);
    const both = captureIo();
    expect(await main([...args, "--refit", recorded, "--resume", "-o", out], both)).toBe(2);
    expect(both.text()).toContain("--refit and --resume");
  });

  it("--install puts the fitted profile where every command finds it for this machine, and they use it", async () => {
    const dir = tempDir();
    const profiles = join(dir, "profiles");
    const before = process.env.FOLIOLAB_PROFILE_DIR;
    process.env.FOLIOLAB_PROFILE_DIR = profiles;
    try {
      const machine = machineInfo();
      const installed = join(profiles, `${machine.name}.json`);
      // Every cell measured already (a finished journal), so the fit runs without the kernel.
      writeFileSync(
        join(dir, "j.json"),
        JSON.stringify({
          schema: "foliolab-calibration-measurements",
          machine,
          samples: 1,
          measurements: ["64K", "2M-PMD"].map((folio, i) => ({
            workload: "pmfb/munmap",
            folio,
            size: 4 << 20,
            status: "ok",
            nsPerPage: [40, 10][i],
            samples: [[40, 10][i]],
          })),
        }),
      );
      mkdirSync(profiles, { recursive: true });
      copyFileSync(join(dir, "j.json"), journalPath(installed));
      const cal = captureIo();
      const args = ["calibrate", "-w", "pmfb/munmap", "-f", "64K,2M-PMD", "--size", "4M", "--samples", "1", "--resume"];
      expect(await main([...args, "--install"], cal)).toBe(0);
      expect(cal.text()).toContain(`this machine's profile`);
      expect(existsSync(installed)).toBe(true);
      const run = captureIo();
      expect(await main(["run", "pmfb/munmap", "-f", "64K", "--size", "4M", "--no-invariants"], run)).toBe(0);
      expect(run.text()).toContain(`cost profile: ${machine.name} (this machine's calibration, ${installed})`);
    } finally {
      if (before === undefined) delete process.env.FOLIOLAB_PROFILE_DIR;
      else process.env.FOLIOLAB_PROFILE_DIR = before;
    }
  });

  const avail = kernelAvailable();
  const skip = !avail.ok ? avail.reason : !avail.root ? "not root" : undefined;
  it.skipIf(skip !== undefined)(
    `measures, fits, checks held-out cells and writes the profile; an interrupted run keeps its measurements${skip ? ` (skipped: ${skip})` : ""}`,
    async () => {
      const dir = tempDir();
      const out = join(dir, "p.json");
      const args = [
        "calibrate",
        "-w",
        "pmfb/munmap",
        "-f",
        "64K,2M-PMD",
        "--size",
        "4M",
        "--samples",
        "1",
        "--holdout",
        "2",
        "-o",
        out,
      ];
      let fire: (() => void) | undefined;
      const first = captureIo({
        onInterrupt: (fn) => {
          fire = fn;
          return () => {};
        },
      });
      const err = first.err;
      first.err = (s) => {
        err(s);
        if (/^\[pass 1\/1 1\/2\]/.test(s)) fire?.();
      };
      expect(await main(args, first)).toBe(130);
      const journal = JSON.parse(readFileSync(journalPath(out), "utf8")) as {
        measurements: Array<{ folio: string; status: string }>;
      };
      expect(journal.measurements.map((m) => m.folio)).toEqual(["64K"]);
      const second = captureIo();
      expect(await main([...args, "--resume"], second)).toBe(0);
      expect(second.text()).toContain("1 measured before");
      expect(second.text()).toMatch(/^\[pass 1\/1 1\/1\] pmfb\/munmap 2M-PMD/m);
      expect(second.text()).toMatch(/pmfb\/munmap 2M-PMD\s+held-out/);
      const p = JSON.parse(readFileSync(out, "utf8")) as {
        name: string;
        events: Record<string, { ns: number }>;
        calibration: Array<{ set: string; targetNsPerPage: number }>;
      };
      expect(p.name).toBe(machineInfo().name);
      expect(Object.values(p.events).every((e) => e.ns >= 0)).toBe(true);
      expect(p.calibration.map((c) => c.set)).toEqual(["fit", "held-out"]);
      expect(p.calibration.every((c) => c.targetNsPerPage > 0)).toBe(true);
      // the profile loads as a --profile
      const run = captureIo();
      expect(await main(["run", "pmfb/munmap", "-f", "64K", "--size", "4M", "--profile", out], run)).toBe(0);
      expect(existsSync(out)).toBe(true);
    },
    120_000,
  );
});
