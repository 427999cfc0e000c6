/**
 * The kernel against the model, field by field, for `foliolab kernel` (commands/kernel.ts) and
 * the bench's Linux column: one scenario on this machine's real kernel (@foliolab/kernel-probe)
 * and on the model with the folio-batch strategy (what Linux 6.18 runs). The comparison and its
 * rendering are pure functions of the two results, so they are tested on canned results
 * without a kernel.
 */

import {
  COST_EVENT_KEYS,
  createKernel,
  type Kernel,
  parseScenario,
  runScenarioDetailed,
  type ScenarioResult,
  snapshotCounters,
  type ZapStrategy,
} from "@foliolab/core";
import {
  allowedDifference,
  DEFAULT_TOLERANCE_PERCENT,
  judgeField,
  type KernelAvailability,
  type KernelResult,
  SYSTEM_WIDE_TOLERANCE,
} from "@foliolab/kernel-probe";
import pc from "picocolors";
import { type CostProfile, modelledNs } from "./profile.js";
import { fmtNum } from "./report/model.js";

/** The strategy the kernel is compared with: what Linux 6.18 runs. */
export const KERNEL_STRATEGY = "folio-batch";

/**
 * match: equal. mismatch: differs (exact field), or differs by more than the tolerance
 * (system-wide field). approx: a system-wide field within the tolerance. missing: the kernel
 * could not obtain it. n/c: not comparable (a model setting or a field only one side has).
 */
export type FieldStatus = "match" | "mismatch" | "approx" | "missing" | "n/c";

export interface FieldRow {
  field: string;
  group: "arch" | "mthp" | "vmstat" | "meminfo" | "procs" | "expects" | "errors" | "costs";
  kernel: number | string | null;
  model: number | string | null;
  status: FieldStatus;
  note?: string;
}

export interface ComparisonSummary {
  fields: number;
  match: number;
  approx: number;
  mismatch: number;
  missing: number;
  notComparable: number;
}

export interface Comparison {
  rows: FieldRow[];
  summary: ComparisonSummary;
  tolerancePercent: number;
}

export interface CompareOptions {
  /** The model's MemFree (kB) before op 0: the model reports an absolute value, the kernel a delta. */
  modelMemFreeStart?: number;
  /** Allowed difference on system-wide fields that include the runner's and other processes' activity, percent. */
  tolerancePercent?: number;
  /** Ops in the scenario (the probe's own noise grows with them). Default: the kernel's timed ops. */
  opCount?: number;
}

/** The tolerance of the system-wide fields: the probe's, so its expects and this table agree. */
export { DEFAULT_TOLERANCE_PERCENT };

function isMissing(field: string, missing: readonly string[]): boolean {
  return missing.some((m) => field === m || field.startsWith(`${m}.`));
}

function numRow(
  field: string,
  group: FieldRow["group"],
  k: number | undefined,
  m: number | undefined,
  missing: readonly string[],
  tol: number,
  ops = 0,
): FieldRow {
  const row: FieldRow = { field, group, kernel: k ?? null, model: m ?? null, status: "match" };
  if (k === undefined || isMissing(field, missing)) {
    row.status = m === undefined ? "n/c" : "missing";
    row.kernel = null;
    if (m !== undefined) row.note = "the kernel could not obtain it";
    return row;
  }
  if (m === undefined) {
    row.status = "n/c";
    row.note = "the model has no such field";
    return row;
  }
  if (k === m) return row;
  const allowed = allowedDifference(field, m, tol, ops);
  if (allowed !== undefined) {
    row.status = judgeField(field, k, m, tol, ops);
    row.note = `${SYSTEM_WIDE_TOLERANCE[field]?.why}; allowed difference ${fmtNum(allowed)}`;
    return row;
  }
  row.status = "mismatch";
  if (group === "mthp" || group === "vmstat") row.note = "system-wide counter: other processes can add (see warnings)";
  return row;
}

function union(a: Iterable<string>, b: Iterable<string>): string[] {
  const out = [...a];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

function mthpOrder(dir: string): number {
  const m = /hugepages-(\d+)kB/.exec(dir);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

/** Compare a kernel result with the model's, field by field. */
export function compareKernelModel(kernel: KernelResult, model: ScenarioResult, o: CompareOptions = {}): Comparison {
  const tol = o.tolerancePercent ?? DEFAULT_TOLERANCE_PERCENT;
  const opCount = o.opCount ?? kernel.timings?.length ?? 0;
  const missing = kernel.missing ?? [];
  const rows: FieldRow[] = [];
  rows.push({
    field: "arch",
    group: "arch",
    kernel: kernel.arch,
    model: model.arch,
    status: kernel.arch === model.arch ? "match" : "n/c",
    ...(kernel.arch === model.arch ? {} : { note: "config.arch is a model setting; the kernel is this machine" }),
  });
  const dirs = union(Object.keys(model.mthp), Object.keys(kernel.mthp)).sort((a, b) => mthpOrder(a) - mthpOrder(b));
  for (const dir of dirs) {
    const km = kernel.mthp[dir] ?? {};
    const mm = model.mthp[dir] ?? {};
    const kernelLacksDir = kernel.mthp[dir] === undefined;
    for (const stat of union(Object.keys(mm), Object.keys(km))) {
      const field = `mthp.${dir}.${stat}`;
      const row = numRow(field, "mthp", km[stat], mm[stat], missing, tol);
      if (kernelLacksDir && row.status === "missing") row.note = `no ${dir} on this kernel`;
      rows.push(row);
    }
  }
  for (const name of union(Object.keys(model.vmstat), Object.keys(kernel.vmstat)))
    rows.push(numRow(`vmstat.${name}`, "vmstat", kernel.vmstat[name], model.vmstat[name], missing, tol, opCount));
  const mi = (r: ScenarioResult) => r.meminfo as unknown as Record<string, number>;
  for (const name of union(Object.keys(model.meminfo), Object.keys(kernel.meminfo))) {
    const field = `meminfo.${name}`;
    let m = mi(model)[name];
    if (name === "MemFree") {
      if (o.modelMemFreeStart === undefined || m === undefined) {
        rows.push({
          field,
          group: "meminfo",
          kernel: mi(kernel)[name] ?? null,
          model: m ?? null,
          status: "n/c",
          note: "the kernel's is a delta, the model's the absolute free memory of the model",
        });
        continue;
      }
      m = m - o.modelMemFreeStart;
    }
    const row = numRow(field, "meminfo", mi(kernel)[name], m, missing, tol, opCount);
    if (name === "MemFree" && row.status === "match") row.note = "delta (kB) over the run on both sides";
    rows.push(row);
  }
  for (const proc of union(Object.keys(model.procs), Object.keys(kernel.procs))) {
    const kp = kernel.procs[proc] as unknown as Record<string, number> | undefined;
    const mp = model.procs[proc] as unknown as Record<string, number> | undefined;
    for (const f of union(Object.keys(mp ?? {}), Object.keys(kp ?? {}))) {
      const kv = kp?.[f];
      rows.push(numRow(`procs.${proc}.${f}`, "procs", kv !== undefined && kv < 0 ? undefined : kv, mp?.[f], missing, tol));
    }
  }
  const ops = [...new Set([...model.expects.map((e) => e.op), ...kernel.expects.map((e) => e.op)])].sort((a, b) => a - b);
  for (const op of ops) {
    const ke = kernel.expects.find((e) => e.op === op);
    const me = model.expects.find((e) => e.op === op);
    const text = (e: typeof ke) => (e === undefined ? null : e.ok ? "ok" : `FAILED: ${e.message}`);
    const field = `expects.ops[${op}]`;
    const row: FieldRow = { field, group: "expects", kernel: text(ke), model: text(me), status: "match" };
    if (!ke || !me) row.status = "n/c";
    else if (ke.ok !== me.ok) row.status = "mismatch";
    const pinned = missing.find((x) => x === `expects.${op}.pinned`);
    if (pinned) row.note = "the kernel cannot observe `pinned`; the rest of the expect was checked";
    rows.push(row);
  }
  for (const e of kernel.errors ?? []) {
    rows.push({
      field: `errors.ops[${e.op}]`,
      group: "errors",
      kernel: `refused: ${e.message}`,
      model: "performed",
      status: "mismatch",
      note: "the kernel refused an op the model performed",
    });
  }
  const events = Object.values(model.costs).reduce((s, v) => s + v, 0);
  rows.push({
    field: "costs",
    group: "costs",
    kernel: null,
    model: `${events} events`,
    status: "missing",
    note: "the model's cost events have no kernel counterpart; see the timings",
  });
  const summary: ComparisonSummary = {
    fields: rows.length,
    match: rows.filter((r) => r.status === "match").length,
    approx: rows.filter((r) => r.status === "approx").length,
    mismatch: rows.filter((r) => r.status === "mismatch").length,
    missing: rows.filter((r) => r.status === "missing").length,
    notComparable: rows.filter((r) => r.status === "n/c").length,
  };
  return { rows, summary, tolerancePercent: tol };
}

const MARK: Record<FieldStatus, string> = {
  match: "",
  approx: "~ within tolerance",
  mismatch: "!= MISMATCH",
  missing: "not obtainable",
  "n/c": "not comparable",
};

export function summaryLine(s: ComparisonSummary): string {
  return `${s.fields} fields: ${s.match} match, ${s.approx} within tolerance, ${s.mismatch} mismatch${s.mismatch === 1 ? "" : "es"}, ${s.missing} not obtainable, ${s.notComparable} not comparable`;
}

export interface RenderOptions {
  color: boolean;
  /** Print only the rows that are not exact matches (default: every field). */
  onlyDiff?: boolean;
}

function cellValue(v: number | string | null): string {
  return v === null ? "-" : String(v);
}

/** The side-by-side table: field | kernel | model | mark, then the summary line. */
export function renderComparison(cmp: Comparison, o: RenderOptions): string {
  const rows = o.onlyDiff ? cmp.rows.filter((r) => r.status !== "match") : cmp.rows;
  const head = ["field", "kernel", "model", ""];
  const cells = rows.map((r) => [r.field, cellValue(r.kernel), cellValue(r.model), MARK[r.status]]);
  // A loop, not Math.max(...): a program of 500k ops has as many rows (the call's arguments overflow the stack).
  const w = [0, 1, 2].map((i) => cells.reduce((m, c) => Math.max(m, (c[i] as string).length), (head[i] as string).length));
  const paint = (s: string, status: FieldStatus): string => {
    if (!o.color || s === "") return s;
    if (status === "mismatch") return pc.red(pc.bold(s));
    if (status === "approx") return pc.yellow(s);
    return pc.dim(s);
  };
  const lines: string[] = [];
  const hdr = `${head[0]?.padEnd(w[0] as number)}  ${head[1]?.padStart(w[1] as number)}  ${head[2]?.padStart(w[2] as number)}`;
  lines.push(o.color ? pc.bold(hdr) : hdr);
  rows.forEach((r, i) => {
    const c = cells[i] as string[];
    const base = `${(c[0] as string).padEnd(w[0] as number)}  ${(c[1] as string).padStart(w[1] as number)}  ${(c[2] as string).padStart(w[2] as number)}`;
    const mark = c[3] ? `  ${paint(c[3], r.status)}` : "";
    const note = r.note && r.status !== "match" ? ` (${r.note})` : "";
    lines.push(`${base}${mark}${o.color && note ? pc.dim(note) : note}`);
  });
  if (o.onlyDiff && rows.length < cmp.rows.length) lines.push(`(${cmp.rows.length - rows.length} matching fields not shown)`);
  const sum = summaryLine(cmp.summary);
  lines.push("", o.color ? (cmp.summary.mismatch > 0 ? pc.red(sum) : pc.green(sum)) : sum);
  return lines.join("\n");
}

/** Per op: kernel wall time (median, spread, ns/page) next to the model's modelled time. */
export function renderTimings(
  kernel: KernelResult,
  modelNsByOp: ReadonlyMap<number, number>,
  measured?: readonly number[],
): string {
  const head = ["op", "", "clock", "kernel median ns", "spread", "kernel ns/page", "model ns", "model ns/page"];
  const rows = kernel.timings.map((t) => {
    const mns = modelNsByOp.get(t.op);
    const mark = measured?.includes(t.op) ? "*" : "";
    return [
      `${t.op}${mark}`,
      `${t.name}${t.proc && t.proc !== "main" ? ` (${t.proc})` : ""}`,
      t.clock,
      fmtNum(t.median),
      t.samples.length > 1 ? `${(t.spread * 100).toFixed(0)}% n=${t.samples.length}` : "n=1",
      t.nsPerPage === undefined ? "-" : fmtNum(t.nsPerPage),
      mns === undefined ? "-" : fmtNum(mns),
      mns === undefined || t.pages === 0 ? "-" : fmtNum(mns / t.pages),
    ];
  });
  const w = head.map((h, i) => rows.reduce((m, r) => Math.max(m, (r[i] as string).length), h.length));
  const fmt = (r: string[]) => r.map((c, i) => (i <= 2 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join("  ");
  return [fmt(head), ...rows.map(fmt)].join("\n");
}

/** Modelled ns of every op of a model run (cost-event deltas per op x the profile). */
export function modelRun(
  scenario: unknown,
  strategy: ZapStrategy,
  profile: CostProfile,
): { result: ScenarioResult; memFreeStart: number; nsByOp: Map<number, number> } {
  const parsed = parseScenario(scenario);
  const start = snapshotCounters(createKernel(parsed, { strategy, invariants: false }), new Map());
  const n = COST_EVENT_KEYS.length;
  const last = new Float64Array(n);
  const nsByOp = new Map<number, number>();
  const onOp = (k: Kernel, _op: unknown, i: number) => {
    const c = k.costs;
    const d: Record<string, number> = {};
    COST_EVENT_KEYS.forEach((key, j) => {
      d[key] = (c[j] as number) - (last[j] as number);
    });
    last.set(c.subarray(0, n));
    nsByOp.set(i, modelledNs(d, profile).total);
  };
  const { result } = runScenarioDetailed(scenario, { strategy, onOp });
  return { result, memFreeStart: start.meminfo.MemFree, nsByOp };
}

/** Everything a user needs to know when the kernel cannot be used, in one message. */
export function unusableMessage(a: KernelAvailability): string {
  return `cannot run on this machine's kernel: ${a.reason ?? "unknown reason"} (platform ${a.platform}, kernel ${a.kernel}, root ${a.root ? "yes" : "no"}, C compiler ${a.compiler ?? "none"})`;
}
