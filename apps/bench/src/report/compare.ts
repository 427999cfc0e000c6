/**
 * foliolab compare: two results.json files side by side in the kernel test robot's (LKP) form,
 * one metric per line: base ±stddev, %change, new ±stddev, metric name.
 */

import type { RunRecord } from "../measure.js";
import type { ResultsFile } from "../results.js";
import { flatCounters, fmtNum } from "./model.js";

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
  const h1 = (names[0] ?? "base").slice(0, 16).padStart(16, " ");
  const h2 = (names[1] ?? "new").slice(0, 16).padStart(16, " ");
  const text: string[] = [];
  text.push(
    `base: ${base.metadata.startedAt}  ${base.metadata.matrix.strategies.join(", ")}  profile ${base.metadata.profile.name}`,
  );
  text.push(
    `new:  ${next.metadata.startedAt}  ${next.metadata.matrix.strategies.join(", ")}  profile ${next.metadata.profile.name}`,
  );
  if (base.metadata.profile.name !== next.metadata.profile.name) {
    text.push("note: the two runs used different cost profiles, so modelled times differ by construction");
  }
  text.push("");
  text.push(`${h1} ${h2}`);
  text.push("---------------- ---------------------------");
  text.push("         %stddev     %change         %stddev");
  text.push("             \\          |                \\");
  for (const l of lines) {
    const a = l.base === undefined ? "" : fmtNum(l.base);
    const b = l.next === undefined ? "" : fmtNum(l.next);
    text.push(
      `${a.padStart(10)} ${sdPct(l.base, l.baseSd).padEnd(5)} ${fmtChange(l.base, l.next).padStart(10)} ${b.padStart(10)} ${sdPct(l.next, l.nextSd).padEnd(5)}  ${l.name}`,
    );
  }
  text.push("");
  text.push(
    `${matched} runs matched; ${changedExact} exact metric${changedExact === 1 ? "" : "s"} changed${onlyBase.length ? `; only in base: ${onlyBase.length}` : ""}${onlyNew.length ? `; only in new: ${onlyNew.length}` : ""}`,
  );
  for (const k of onlyBase) text.push(`  only in base: ${k}`);
  for (const k of onlyNew) text.push(`  only in new:  ${k}`);
  return { text: text.join("\n"), changedExact, matched, onlyBase, onlyNew };
}
