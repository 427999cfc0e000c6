/**
 * The one rule for comparing a kernel value with an expected one: the same for an `expect
 * {counters}` op inside a run and for `foliolab kernel`'s table afterwards. Most fields are exact;
 * a few system-wide fields include memory activity outside the scenario (the probe's own
 * processes exchange a message per op, other processes run, and for MemFree the page allocator's
 * per-cpu free lists move by MBs), and are compared within
 * max(tolerance% of the expected value, floor + perOp x ops).
 */

export interface ToleranceRule {
  floor: number;
  perOp: number;
  why: string;
  /** How a difference beyond the allowance is reported: a mismatch, or not comparable at all. */
  outside: "mismatch" | "n/c";
}

/** Default tolerance on the system-wide fields, percent of the expected value. */
export const DEFAULT_TOLERANCE_PERCENT = 10;

export const SYSTEM_WIDE_TOLERANCE: Readonly<Record<string, ToleranceRule>> = {
  "vmstat.pgfault": {
    floor: 1024,
    perOp: 2,
    why: "system-wide: includes the probe's own faults (about one per op) and other processes'",
    outside: "mismatch",
  },
  "meminfo.AnonPages": {
    floor: 4096,
    perOp: 4,
    why: "system-wide (kB): includes the probe's own processes and other processes",
    outside: "mismatch",
  },
  "meminfo.AnonHugePages": {
    floor: 4096,
    perOp: 0,
    why: "system-wide (kB): includes other processes (khugepaged)",
    outside: "mismatch",
  },
  "meminfo.MemFree": {
    floor: 4096,
    perOp: 4,
    why: "delta (kB); pages in the per-cpu free lists (/proc/zoneinfo pagesets) do not count as free and move by MBs between runs; page tables, slab and other processes move it too",
    outside: "n/c",
  },
};

export type Verdict = "match" | "approx" | "mismatch" | "n/c";

/** The allowed difference on a tolerated field, or undefined for an exact one. */
export function allowedDifference(field: string, expected: number, tolerancePercent: number, ops: number): number | undefined {
  const rule = SYSTEM_WIDE_TOLERANCE[field];
  if (!rule) return undefined;
  return Math.max((Math.abs(expected) * tolerancePercent) / 100, rule.floor + rule.perOp * ops);
}

/** Compare one numeric field by the rule: exact, or within the allowance of a system-wide field. */
export function judgeField(field: string, actual: number, expected: number, tolerancePercent: number, ops: number): Verdict {
  if (actual === expected) return "match";
  const allowed = allowedDifference(field, expected, tolerancePercent, ops);
  if (allowed === undefined) return "mismatch";
  return Math.abs(actual - expected) <= allowed ? "approx" : (SYSTEM_WIDE_TOLERANCE[field] as ToleranceRule).outside;
}
