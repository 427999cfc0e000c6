/**
 * The body of the benchmark's worker processes (dist/worker.js, run by tinypool): every
 * strategy module is imported here, never in the main process, so a module that hangs or
 * throws at import, a strategy that loops forever or calls process.exit(), only ever takes a
 * worker down. Modules are imported once per worker and kept.
 */

import type { ZapStrategy } from "@foliolab/core";
import { perPage } from "@foliolab/strategy-per-page";
import {
  authorStack,
  type CellSpec,
  diagnoseState,
  type RunOptionsForCell,
  type RunRecord,
  referenceObserved,
  runCell,
} from "./measure.js";
import { importOne, importStrategies, type StrategyRef } from "./strategies.js";
import type { ObservedSummary } from "./verify.js";

/** Work the main process hands a worker. */
export type WorkerTask =
  | { kind: "load"; ref: StrategyRef }
  | { kind: "cell"; cell: CellSpec; strategy: { url: string; exportName: string }; options: RunOptionsForCell }
  | { kind: "reference"; cell: CellSpec; checkSize: number }
  | { kind: "diagnose"; cell: CellSpec; strategy: { url: string; exportName: string } };

export type WorkerResult =
  | { kind: "load"; ok: true; strategies: Array<{ name: string; description: string; exportName: string }> }
  | { kind: "load"; ok: false; message: string; stack?: string }
  | { kind: "cell"; record: RunRecord }
  | { kind: "reference"; observed: ObservedSummary; checkMs: number; runMs: number }
  | { kind: "diagnose"; difference: string }
  | { kind: "error"; message: string; stack?: string };

const modules = new Map<string, Promise<ZapStrategy>>();

function strategyOf(s: { url: string; exportName: string }): Promise<ZapStrategy> {
  const key = `${s.url}#${s.exportName}`;
  let p = modules.get(key);
  if (!p) {
    p = importOne(s.url, s.exportName);
    modules.set(key, p);
  }
  return p;
}

export default async function runTask(t: WorkerTask): Promise<WorkerResult> {
  try {
    switch (t.kind) {
      case "load": {
        try {
          const list = await importStrategies(t.ref);
          return {
            kind: "load",
            ok: true,
            strategies: list.map((s) => ({ name: s.name, description: s.description, exportName: s.exportName })),
          };
        } catch (e) {
          const stack = authorStack((e as Error)?.cause ?? e);
          return stack
            ? { kind: "load", ok: false, message: (e as Error).message, stack }
            : { kind: "load", ok: false, message: (e as Error).message };
        }
      }
      case "cell":
        return { kind: "cell", record: await runCell(t.cell, await strategyOf(t.strategy), t.options) };
      case "reference":
        return { kind: "reference", ...referenceObserved(t.cell, perPage, t.checkSize) };
      case "diagnose":
        return { kind: "diagnose", difference: diagnoseState(t.cell, await strategyOf(t.strategy), perPage) };
    }
  } catch (e) {
    const stack = authorStack(e);
    const message = `${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? String(e)}`;
    return stack ? { kind: "error", message, stack } : { kind: "error", message };
  }
}
