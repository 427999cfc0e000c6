import { describe, expect, it } from "vitest";
import type { KernelRunRecord, ResultsFile } from "../results.js";
import { findWorkload } from "../workloads.js";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";
import {
  grids,
  KERNEL_CONDITIONS,
  kernelDrift,
  kernelHeadline,
  kernelRatioWarnings,
  knownToModel,
  leavesOut,
  MODEL_LEAVES_OUT,
  MODEL_LIMITS,
  modelKernelRatio,
  profileMachineNote,
  ratioCellText,
} from "./model.js";
import { KERNEL_NS, reportFixture } from "./report-fixture.js";
import { renderSummary, renderText } from "./text.js";

/** The report fixture with its second strategy named folio-batch, so the model/kernel column shows. */
function withFolioBatch(): ResultsFile {
  const res = reportFixture();
  for (const r of res.runs) if (r.strategy === "per-page-copy") r.strategy = "folio-batch";
  res.metadata.matrix.strategies = res.metadata.matrix.strategies.map((s) => (s === "per-page-copy" ? "folio-batch" : s));
  return res;
}

describe("the model/kernel ratio", () => {
  it("is folio-batch's modelled ns/page over the kernel's measured ns/page", () => {
    const res = withFolioBatch();
    const g = grids(res).find((x) => x.id === "pmfb/munmap");
    if (!g) throw new Error("no munmap grid");
    const m = g.cell("4K", "folio-batch")?.metrics?.modelledNsPerPage as number;
    expect(modelKernelRatio(res, g, "4K")).toBeCloseTo(m / (KERNEL_NS["4K"] as number));
    // the failed 64K cell has no ratio
    expect(ratioCellText(res, g, "64K")).toBe("-");
  });

  it("marks and warns about every cell off by more than 20%, in every report", () => {
    const res = withFolioBatch();
    const g = grids(res).find((x) => x.id === "pmfb/munmap");
    if (!g) throw new Error("no munmap grid");
    const off = g.folios.filter((f) => {
      const r = modelKernelRatio(res, g, f);
      return r !== undefined && Math.abs(r - 1) > 0.2;
    });
    expect(off.length).toBeGreaterThan(0);
    const warnings = kernelRatioWarnings(res);
    expect(warnings).toHaveLength(off.length);
    for (const f of off) expect(ratioCellText(res, g, f)).toMatch(/x !$/);
    const text = renderText(res, { metric: "modelled", color: false });
    expect(text).toContain("folio-batch/linux");
    expect(text).toMatch(/! \S+: folio-batch is \d+\.\d\dx the kernel \(off by more than 20%\)/);
    expect(renderSummary(res, false)).toContain(`warning: ${off.length} cell`);
    const md = renderMarkdown(res);
    expect(md).toContain("| folio-batch/linux |");
    expect(md).toContain("> **warning** pmfb/munmap");
    const html = renderHtml(res);
    expect(html).toContain('<th class="linux">folio-batch/linux</th>');
    expect(html).toContain("<b>warning</b> pmfb/munmap");
    expect(kernelHeadline(res)).toMatch(/off the kernel's by more than 20% on \d+ cell/);
  });

  it("names what the model leaves out, per workload or per folio size, only for cells that exist", () => {
    for (const [key, why] of Object.entries(MODEL_LEAVES_OUT)) {
      const [id, folio] = key.split(" ");
      const w = findWorkload(id as string);
      expect(w, key).toBeDefined();
      if (folio) expect(leavesOut(id as string, folio)).toBe(why);
      else expect(leavesOut(id as string, "4K")).toBe(why);
    }
    expect(leavesOut("pmfb/munmap", "4K")).toBeUndefined();
    for (const key of Object.keys(MODEL_LEAVES_OUT))
      expect(knownToModel(...(key.split(" ") as [string, string])), key).toBe(true);
  });

  it("names the event set's limit on a cell it still fits on: calibrate keeps it in the fit", () => {
    for (const [key, why] of Object.entries(MODEL_LIMITS)) {
      const [id, folio] = key.split(" ") as [string, string];
      expect(findWorkload(id), key).toBeDefined();
      expect(leavesOut(id, folio)).toBe(why);
      expect(knownToModel(id, folio), key).toBe(false);
    }
    expect(leavesOut("shmem/munmap", "4K")).toMatch(/free path by order/);
    expect(leavesOut("shmem/munmap", "2M-PTE")).toBeUndefined();
  });

  it("names a measured outside condition only for a run whose kernel moved more than 20% from the profile's samples", () => {
    const run = (nsPerPage: number, folio = "2M-PMD") =>
      ({
        workload: "file/shared-dirty-munmap",
        folio,
        pages: 1000,
        nsPerPage,
        calibration: { profile: "p", samples: 20, minNsPerPage: 42, medianNsPerPage: 44, maxNsPerPage: 47 },
      }) as KernelRunRecord;
    // such a cell is fitted: calibrate asks leavesOut() without a kernel run
    expect(leavesOut("file/shared-dirty-munmap", "2M-PMD")).toBeUndefined();
    expect(leavesOut("file/shared-dirty-munmap", "2M-PMD", run(46))).toBeUndefined();
    expect(leavesOut("file/shared-dirty-munmap", "2M-PMD", run(64))).toMatch(
      /shared last-level cache.*this run measured 64\.00 ns\/page, 1\.45x the median of the 20 samples p was fitted on/,
    );
    // a folio size without a measured condition says nothing of it
    expect(leavesOut("file/shared-dirty-munmap", "4K", run(64, "4K"))).toBeUndefined();
    for (const key of Object.keys(KERNEL_CONDITIONS)) expect(findWorkload(key.split(" ")[0] as string), key).toBeDefined();
  });

  it("names a wall-clock exit only for a kernel run that had one: exits are on the CPU clock otherwise", () => {
    const run = (wallTimedOps?: number[]) =>
      ({ workload: "vms/anon-cow-seq", folio: "2M-PMD", ...(wallTimedOps ? { wallTimedOps } : {}) }) as KernelRunRecord;
    expect(leavesOut("vms/anon-cow-seq", "2M-PMD")).toBeUndefined();
    expect(leavesOut("vms/anon-cow-seq", "2M-PMD", run())).toBeUndefined();
    expect(leavesOut("vms/anon-cow-seq", "2M-PMD", run([7]))).toMatch(/wall clock/);
  });

  it("says a cell cannot be judged when the kernel's own samples spread wider than the +-20% band", () => {
    const run = (samples: number[]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] as number;
      const min = sorted[0] as number;
      const max = sorted[sorted.length - 1] as number;
      return {
        workload: "pmfb/munmap",
        folio: "4K",
        pages: 1000,
        measuredNs: { samples, median, min, max, spread: (max - min) / median },
      } as KernelRunRecord;
    };
    // 300..900 ns/page around a 500 median: no one figure is within 20% of all three
    expect(leavesOut("pmfb/munmap", "4K", run([300e3, 500e3, 900e3]))).toMatch(
      /samples of this cell spread 120% \(300\.0 to 900\.0 ns\/page\)/,
    );
    // 450..550: within the band, nothing to say
    expect(leavesOut("pmfb/munmap", "4K", run([450e3, 500e3, 550e3]))).toBeUndefined();
    // one sample has no spread
    expect(leavesOut("pmfb/munmap", "4K", run([900e3]))).toBeUndefined();
  });

  it("says a cell cannot be judged when the samples the profile was fitted on spread wider than +-20%", () => {
    const run = (min: number, max: number) =>
      ({
        workload: "pmfb/munmap",
        folio: "4K",
        pages: 1000,
        calibration: { profile: "p", samples: 10, minNsPerPage: min, medianNsPerPage: 100, maxNsPerPage: max },
      }) as KernelRunRecord;
    expect(leavesOut("pmfb/munmap", "4K", run(60, 140))).toMatch(
      /10 samples p was fitted on measured this cell from 60\.00 to 140\.0 ns\/page \(median 100.0, spread 80%\)/,
    );
    expect(leavesOut("pmfb/munmap", "4K", run(85, 115))).toBeUndefined();
  });

  it("takes the run's speed drift against the calibration out of a cell it alone puts off, and says so", () => {
    const res = withFolioBatch();
    const g = grids(res).find((x) => x.id === "pmfb/munmap");
    if (!g || !res.kernel) throw new Error("no munmap grid");
    const runs = res.kernel.runs;
    // every cell measured at 0.7x its calibration median; the 4K cell exactly 0.7x the model
    const m = g.cell("4K", "folio-batch")?.metrics?.modelledNsPerPage as number;
    for (const r of runs) {
      if (r.folio === "4K") r.nsPerPage = m * 0.7;
      r.calibration = {
        profile: "p",
        samples: 10,
        minNsPerPage: 0,
        medianNsPerPage: (r.nsPerPage as number) / 0.7,
        maxNsPerPage: 1e9,
      };
    }
    const first = runs[0] as KernelRunRecord;
    for (let i = 0; i < 8; i++) runs.push({ ...first, id: `x/${i}`, workload: `x/${i}` });
    // a 1e9 max would say "does not reproduce": keep the ranges within the band for this test
    for (const r of runs) {
      const c = r.calibration as NonNullable<KernelRunRecord["calibration"]>;
      c.minNsPerPage = c.medianNsPerPage * 0.95;
      c.maxNsPerPage = c.medianNsPerPage * 1.05;
    }
    expect(kernelDrift(res)?.factor).toBeCloseTo(0.7, 6);
    expect(modelKernelRatio(res, g, "4K")).toBeCloseTo(1 / 0.7, 6);
    const w = kernelRatioWarnings(res).find((x) => x.startsWith("pmfb/munmap 4K:"));
    expect(w).toMatch(
      /the whole kernel column ran at 0\.70x its calibration-time figures \(median over 12 cells\).*this cell is 1\.00x/,
    );
    expect(kernelHeadline(res)).toContain("the kernel's times were 0.70x those of the profile's calibration");
    // without calibration data there is no drift and no such note
    for (const r of runs) delete r.calibration;
    expect(kernelDrift(res)).toBeUndefined();
    expect(kernelRatioWarnings(res).find((x) => x.startsWith("pmfb/munmap 4K:"))).not.toMatch(/speed/);
  });

  it("says when the cost profile was fitted on another machine than the kernel column ran on", () => {
    const res = withFolioBatch();
    if (!res.kernel) throw new Error("no kernel section");
    res.kernel.machine = "linux-6.18.44-here-4k";
    res.metadata.profile.machine = "linux-6.18.44-there-4k";
    expect(profileMachineNote(res)).toMatch(
      /fitted on linux-6\.18\.44-there-4k, not on this machine \(linux-6\.18\.44-here-4k\)/,
    );
    expect(kernelHeadline(res)).toContain("`foliolab calibrate --install` fits one here");
    res.metadata.profile.machine = "linux-6.18.44-here-4k";
    expect(profileMachineNote(res)).toBeUndefined();
    expect(kernelHeadline(res)).not.toContain("fitted on");
    delete res.metadata.profile.machine;
    expect(profileMachineNote(res)).toBeUndefined();
  });

  it("without folio-batch in the matrix there is no ratio column", () => {
    const res = reportFixture();
    expect(renderText(res, { metric: "modelled", color: false })).not.toContain("folio-batch/linux");
    expect(kernelRatioWarnings(res)).toEqual([]);
  });
});
