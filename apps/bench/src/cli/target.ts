/**
 * The `<scenario>` argument of run, kernel and view: a scenario JSON file, or a workload id
 * that generates one (with --folio, --size, --seed). Resolved and validated here, once, so a
 * target that is neither, or a scenario that is not valid, is bad input (exit 2) in every command.
 */

import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Scenario, ScenarioError, validateScenario } from "@foliolab/core";
import { formatBytes } from "../sizes.js";
import { effectiveSize, findWorkload } from "../workloads.js";
import { UsageError } from "./errors.js";

export interface TargetFlags {
  folio?: string;
  size?: number;
  seed: number;
}

export interface Target {
  /** The validated scenario. */
  scenario: Scenario;
  /** The measured ops, when generated from a workload. */
  measured?: number[];
  /** "path/to/x.json" or "workload pmfb/munmap (folio 64K, size 1G, seed 1)". */
  source: string;
  /** What the scenario was made from: the file's text, or the generated scenario object. */
  input: unknown;
}

/**
 * Resolve `target` against `cwd`. `defaultSize`: the workload's size when --size is not given,
 * its default (run, kernel) or its smallest (view, which draws every page).
 */
export function resolveTarget(
  target: string,
  flags: TargetFlags,
  cwd: string,
  defaultSize: "default" | "min" = "default",
): Target {
  const path = resolve(cwd, target);
  const w = findWorkload(target);
  if (existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new UsageError(`${target}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return { scenario: validated(text, target), source: path, input: text };
  }
  if (!w) throw new UsageError(`"${target}" is neither a scenario file nor a workload id (see foliolab list)`);
  const folio = flags.folio ?? w.fixedFolios?.[0] ?? "64K";
  if (w.fixedFolios ? !w.fixedFolios.includes(folio) : folio === "mixed") {
    throw new UsageError(
      `--folio ${folio}: workload ${w.id} has ${w.fixedFolios ? `the folio cells ${w.fixedFolios.join(", ")} only (${w.fixedFoliosReason ?? "a fixed axis"})` : "no mixed cell (it takes one folio size: 4K, 16K, ..., 2M-PTE, 2M-PMD)"}`,
    );
  }
  const size = effectiveSize(w, flags.size ?? (defaultSize === "min" ? w.minSize : undefined), folio);
  const g = w.generate({ size, folio, seed: flags.seed });
  return {
    scenario: validated(g.scenario, `workload ${w.id}`),
    measured: g.measured,
    input: g.scenario,
    source: `workload ${w.id} (folio ${folio}, size ${formatBytes(size)}, seed ${flags.seed})`,
  };
}

function validated(input: unknown, what: string): Scenario {
  try {
    return validateScenario(input);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(`${what}: ${e.message}`);
    throw e;
  }
}
