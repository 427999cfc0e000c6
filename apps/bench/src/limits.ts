/**
 * Refuse a matrix the model cannot run exactly, before anything runs: every cell's scenario is
 * generated and checked against core's limits (memory, swap, address space), so `--size 16T`
 * fails at once with the field, the value and the limit instead of after hours of other cells.
 */

import { ScenarioError, validateScenario } from "@foliolab/core";
import { type CellSpec, generateCell } from "./measure.js";
import { formatBytes } from "./sizes.js";

/** The first cell whose scenario the model refuses, as one message; null when all are fine. */
export function refusedCell(cells: readonly CellSpec[], sizeFlag: string | undefined): string | null {
  const seen = new Set<string>();
  for (const c of cells) {
    const key = `${c.workload}/${c.folio}/${c.size}`;
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      validateScenario(generateCell(c).scenario);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      const what = sizeFlag === undefined ? "" : `--size ${sizeFlag}: `;
      return `${what}workload ${c.workload} at folio ${c.folio}, size ${formatBytes(c.size)}: ${e.message}`;
    }
  }
  return null;
}
