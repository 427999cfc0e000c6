/**
 * foliolab compare: two results.json files side by side in the kernel test robot's (LKP) form,
 * one metric per line: base ±stddev, %change, new ±stddev, metric name.
 */

import type { RunRecord } from "../measure.js";
import type { ResultsFile } from "../results.js";
import { flatCounters } from "./model.js";

export interface CompareOptions {
  /** Also list sub-metrics (event kinds, counters) that did not change. */
  all: boolean;
}

export interface CompareResult {
  text: string;
  /** Deterministic metrics (cost events, modelled time, counters) that differ. */
  changedExact: number;
  matched: number;
  onlyBase: string[];
  onlyNew: string[];
}

interface Line {
  base: number | undefined;
  baseSd: number | undefined;
  next: number | undefined;
  nextSd: number | undefined;
  name: string;
  exact: boolean;
}

function key(r: RunRecord): string {
  return `${r.id} (${r.sizeLabel})`;
}

function sdPct(mean: number | undefined, sd: number | undefined): string {
  if (mean === undefined || sd === undefined || mean === 0) return "";
  const p = Math.round((100 * sd) / Math.abs(mean));
  return p === 0 ? "" : `±${String(p).padStart(2)}%`;
}

/** Integers (event counts, counters) exactly; measured or modelled values to 4 significant digits. */
function fmtValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(1);
  return Number(v.toPrecision(4)).toString();
}

function fmtChange(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return "";
  if (a === b) return "";
  if (a === 0) return "new";
  const c = ((b - a) / Math.abs(a)) * 100;
  return `${c >= 0 ? "+" : ""}${Math.abs(c) >= 100 ? c.toFixed(0) : c.toFixed(1)}%`;
}

function linesFor(a: RunRecord, b: RunRecord, o: CompareOptions): Line[] {
  const am = a.metrics;
  const bm = b.metrics;
  if (!am || !bm) return [];
  const id = key(a);
  const out: Line[] = [];
  const add = (name: string, x: number | undefined, y: number | undefined, exact: boolean, xs?: number, ys?: number) =>
    out.push({ base: x, baseSd: xs, next: y, nextSd: ys, name: `${id}.${name}`, exact });
  add("modelled_ns_per_page", am.modelledNsPerPage, bm.modelledNsPerPage, true);
  add("cost_events", am.costEventsTotal, bm.costEventsTotal, true);
  const kinds = new Set([...Object.keys(am.costEvents), ...Object.keys(bm.costEvents)]);
  for (const k of [...kinds].sort()) {
    const x = am.costEvents[k] ?? 0;
    const y = bm.costEvents[k] ?? 0;
    if (x === 0 && y === 0) continue;
    if (x !== y || o.all) add(`cost_events.${k}`, x, y, true);
  }
  const ac = flatCounters(a);
  const bc = flatCounters(b);
  for (const k of [...new Set([...Object.keys(ac), ...Object.keys(bc)])].sort()) {
    const x = ac[k] ?? 0;
    const y = bc[k] ?? 0;
    if (x !== y || o.all) add(k, x, y, true);
  }
  const aw = am.wall.phase;
  const bw = bm.wall.phase;
  if (aw || bw) add("wall_ms (advisory)", aw?.mean, bw?.mean, false, aw?.sd, bw?.sd);
  return out;
}

export function compareResults(base: ResultsFile, next: ResultsFile, o: CompareOptions, names = ["base", "new"]): CompareResult {
  const bmap = new Map(base.runs.filter((r) => r.status === "ok").map((r) => [key(r), r]));
  const nmap = new Map(next.runs.filter((r) => r.status === "ok").map((r) => [key(r), r]));
  const lines: Line[] = [];
  let matched = 0;
  for (const [k, a] of bmap) {
    const b = nmap.get(k);
    if (!b) continue;
    matched++;
    lines.push(...linesFor(a, b, o));
  }
  const onlyBase = [...bmap.keys()].filter((k) => !nmap.has(k));
  const onlyNew = [...nmap.keys()].filter((k) => !bmap.has(k));
  const changedExact = lines.filter((l) => l.exact && l.base !== l.next).length;
  const h1 = names[0] ?? "base";
  const h2 = names[1] ?? "new";
  const text: string[] = [];
  text.push(
    `base: ${h1}  ${base.metadata.startedAt}  ${base.metadata.matrix.strategies.join(", ")}  profile ${base.metadata.profile.name}`,
  );
  text.push(
    `new:  ${h2}  ${next.metadata.startedAt}  ${next.metadata.matrix.strategies.join(", ")}  profile ${next.metadata.profile.name}`,
  );
  if (base.metadata.profile.name !== next.metadata.profile.name) {
    text.push("note: the two runs used different cost profiles, so modelled times differ by construction");
  }
  text.push("");
  // Column width: the widest value (at least 10), so no value and no file name is cut.
  const vals = lines.map((l) => [l.base === undefined ? "" : fmtValue(l.base), l.next === undefined ? "" : fmtValue(l.next)]);
  const vw = Math.max(10, ...vals.flat().map((v) => v.length));
  // LKP layout: "base ±sd" under the first name, "%change new ±sd" under the second. Names are
  // printed whole (a long one pushes its column right rather than being cut).
  const left = vw + 6;
  const right = 11 + vw + 6;
  text.push(`${h1.padStart(left)} ${h2.padStart(right)}`);
  text.push(`${"-".repeat(Math.max(left, h1.length))} ${"-".repeat(Math.max(right, h2.length))}`);
  text.push(`${"%stddev".padStart(vw + 6)}${"%change".padStart(12)}${"%stddev".padStart(vw + 6)}`);
  text.push(`${"\\".padStart(vw + 4)}${"|".padStart(11)}${"\\".padStart(vw + 7)}`);
  lines.forEach((l, i) => {
    const [a, b] = vals[i] as [string, string];
    text.push(
      `${a.padStart(vw)} ${sdPct(l.base, l.baseSd).padEnd(5)} ${fmtChange(l.base, l.next).padStart(10)} ${b.padStart(vw)} ${sdPct(l.next, l.nextSd).padEnd(5)}  ${l.name}`,
    );
  });
  text.push("");
  text.push(
    `${matched} runs matched; ${changedExact} exact metric${changedExact === 1 ? "" : "s"} changed${onlyBase.length ? `; only in base: ${onlyBase.length}` : ""}${onlyNew.length ? `; only in new: ${onlyNew.length}` : ""}`,
  );
  for (const k of onlyBase) text.push(`  only in base: ${k}`);
  for (const k of onlyNew) text.push(`  only in new:  ${k}`);
  return { text: text.join("\n"), changedExact, matched, onlyBase, onlyNew };
}
