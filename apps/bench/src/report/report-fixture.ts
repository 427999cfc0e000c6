/**
 * A results file for the report tests built from the golden one: one FAILED cell, a wall time
 * that would read as a regression if it were shaded, and a kernel column.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KernelRunRecord, ResultsFile } from "../results.js";
import { GOLDEN } from "../test-helpers.js";

export const FAILED_CELL = { workload: "pmfb/munmap", folio: "64K", strategy: "per-page-copy" };
export const KERNEL_NS: Record<string, number> = { "4K": 310, "64K": 120, "2M-PTE": 60, "2M-PMD": 11 };

export function reportFixture(): ResultsFile {
  const res = JSON.parse(readFileSync(join(GOLDEN, "results.json"), "utf8")) as ResultsFile;
  const failed = res.runs.find(
    (r) => r.workload === FAILED_CELL.workload && r.folio === FAILED_CELL.folio && r.strategy === FAILED_CELL.strategy,
  );
  if (!failed) throw new Error("golden results lack the cell");
  failed.status = "failed";
  delete failed.metrics;
  failed.error = {
    kind: "InvariantViolation",
    phase: "check",
    message: "rmap_matches_ptes: test fixture",
    invariant: "rmap_matches_ptes",
  };
  const slow = res.runs.find((r) => r.workload === "pmfb/munmap" && r.folio === "4K" && r.strategy === "per-page-copy");
  const phase = slow?.metrics?.wall.phase;
  if (phase) {
    phase.median *= 3;
    phase.samples = phase.samples.map((x) => x * 3);
  }
  res.summary = { ...res.summary, ok: res.summary.ok - 1, failed: res.summary.failed + 1 };
  const runs: KernelRunRecord[] = Object.entries(KERNEL_NS).map(([folio, ns]) => ({
    id: `pmfb/munmap/${folio}`,
    workload: "pmfb/munmap",
    folio,
    size: 8 << 20,
    sizeLabel: "8M",
    pages: 2048,
    status: "ok",
    measuredOps: [0],
    nsPerPage: ns,
    measuredNs: { samples: [ns * 2048], median: ns * 2048, min: ns * 2048, max: ns * 2048, spread: 0 },
    ops: [{ op: 0, name: "munmap", median: ns * 2048, nsPerPage: ns }],
    counters: { mthp: {}, vmstat: {} },
    warnings: [],
    missing: [],
    errors: [],
  }));
  res.kernel = {
    column: "linux (this machine)",
    available: true,
    kernel: "6.18.0-test",
    root: true,
    limits: [],
    repeat: 1,
    runs,
  };
  return res;
}
