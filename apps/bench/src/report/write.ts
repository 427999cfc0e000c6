/**
 * Writing the --out directory. Every file goes to a temporary name in the same directory and
 * is renamed into place, so a reader (or a Ctrl-C) never sees half a file.
 */

import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResultsFile } from "../results.js";
import { benchmarkAction, bmf } from "./ci.js";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";
import { chartBaseName, grids, hasKernelColumn, kernelRun } from "./model.js";
import { lineChart, stackedEvents } from "./svg.js";

let seq = 0;

export function writeFileAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${process.pid}.${seq++}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Every output file of a run, relative path -> content. */
export function renderAll(res: ResultsFile): Map<string, string> {
  const files = new Map<string, string>();
  files.set("results.json", `${JSON.stringify(res, null, 2)}\n`);
  files.set("report.md", renderMarkdown(res));
  files.set("benchmark-action.json", `${JSON.stringify(benchmarkAction(res), null, 2)}\n`);
  files.set("bmf.json", `${JSON.stringify(bmf(res), null, 2)}\n`);
  for (const g of grids(res)) {
    const base = chartBaseName(g.id);
    const kernel = hasKernelColumn(res) ? g.folios.map((f) => kernelRun(res, g.id, f)?.nsPerPage) : undefined;
    files.set(`charts/${base}.modelled.svg`, lineChart(g, "modelled", kernel));
    files.set(`charts/${base}.events.svg`, stackedEvents(g));
  }
  files.set("report.html", renderHtml(res));
  return files;
}

/** Write every output into dir; results.json goes first so it is there even if rendering fails. */
export function writeOutputs(dir: string, res: ResultsFile): string[] {
  const written: string[] = [];
  writeFileAtomic(join(dir, "results.json"), `${JSON.stringify(res, null, 2)}\n`);
  written.push("results.json");
  for (const [rel, text] of renderAll(res)) {
    if (rel === "results.json") continue;
    writeFileAtomic(join(dir, rel), text);
    written.push(rel);
  }
  return written;
}
