/**
 * Worker thread side of the matrix: load the strategies once, then run cells as the main
 * thread hands them out, one at a time.
 */

import { parentPort, workerData } from "node:worker_threads";
import type { ZapStrategy } from "@foliolab/core";
import type { WorkerInit } from "./matrix.js";
import { type CellSpec, cellId, type RunRecord, regenerateCommand, runCell } from "./measure.js";
import { formatBytes, PAGE } from "./sizes.js";
import { importOne } from "./strategies.js";

export async function startWorker(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = parentPort;
  if (!port) return;
  const strategies = new Map<string, ZapStrategy>();
  const loadErrors = new Map<string, string>();
  for (const s of init.strategies) {
    try {
      strategies.set(s.name, await importOne(s.url, s.exportName));
    } catch (e) {
      loadErrors.set(s.name, (e as Error).message);
    }
  }
  port.on("message", async (m: { type: string; cell: CellSpec }) => {
    if (m.type !== "cell") return;
    const c = m.cell;
    const s = strategies.get(c.strategy);
    let record: RunRecord;
    if (!s) {
      record = {
        id: cellId(c),
        workload: c.workload,
        folio: c.folio,
        size: c.size,
        sizeLabel: formatBytes(c.size),
        pages: c.size / PAGE,
        strategy: c.strategy,
        seed: c.seed,
        status: "failed",
        error: { kind: "LoadError", phase: "load", message: loadErrors.get(c.strategy) ?? "strategy not loaded in the worker" },
        scenario: { name: c.workload, ops: 0, measuredOps: 0, regenerate: regenerateCommand(c) },
      };
    } else {
      record = await runCell(c, s, init.options);
    }
    port.postMessage({ type: "done", record });
  });
  port.postMessage({ type: "ready" });
}
