/**
 * `foliolab kernel <scenario | workload>`: one scenario on this machine's real kernel and on the
 * model with the folio-batch strategy (what Linux 6.18 runs), every field of the result contract
 * side by side, mismatches marked (the comparison: ../kernel-compare.ts).
 */

import { formatLayout, type KernelResult, kernelAvailable, runOnKernel } from "@foliolab/kernel-probe";
import { type Command, Option } from "commander";
import pc from "picocolors";
import { folioArg, intArg, profileFlag, sizeArg } from "../cli/args.js";
import { EXIT } from "../cli/errors.js";
import { type CommandContext, type Io, printError } from "../cli/io.js";
import { resolveTarget } from "../cli/target.js";
import {
  compareKernelModel,
  DEFAULT_TOLERANCE_PERCENT,
  KERNEL_STRATEGY,
  modelRun,
  renderComparison,
  renderTimings,
  unusableMessage,
} from "../kernel-compare.js";
import { describeProfile } from "../profile.js";
import { loadStrategies } from "../strategies.js";

interface KernelFlags {
  repeat: number;
  json?: boolean;
  layout?: boolean;
  folio?: string;
  size?: number;
  seed: number;
  tolerance: number;
  onlyDiff?: boolean;
  profile?: string;
  clock: "cpu" | "wall";
}

async function kernelCommand(target: string, flags: KernelFlags, io: Io): Promise<number> {
  const err = (s: string) => printError(io, s);
  const t = resolveTarget(target, flags, io.cwd);
  const { input: scenario, measured, source } = t;
  const profile = profileFlag(io.cwd, flags.profile);
  const avail = kernelAvailable();
  if (!avail.ok) {
    err(unusableMessage(avail));
    return EXIT.kernelUnusable;
  }
  const { loaded, failures } = await loadStrategies([KERNEL_STRATEGY], io.cwd);
  const strategy = loaded[0]?.strategy;
  if (!strategy) {
    err(`strategy "${KERNEL_STRATEGY}" failed to load: ${failures[0]?.message ?? "not found"}`);
    return EXIT.failed;
  }
  let model: ReturnType<typeof modelRun>;
  try {
    model = modelRun(scenario, strategy, profile);
  } catch (e) {
    err(`the model (${KERNEL_STRATEGY}) failed: ${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? String(e)}`);
    return EXIT.failed;
  }
  let kernel: KernelResult;
  try {
    kernel = await runOnKernel(scenario, {
      repeat: flags.repeat,
      clock: flags.clock,
      layout: flags.layout ?? false,
      tolerancePercent: flags.tolerance,
    });
  } catch (e) {
    err(`the kernel run failed: ${(e as Error)?.message ?? String(e)}`);
    return EXIT.failed;
  }
  const cmp = compareKernelModel(kernel, model.result, {
    modelMemFreeStart: model.memFreeStart,
    tolerancePercent: flags.tolerance,
    opCount: t.scenario.ops.length,
  });
  if (flags.json) {
    io.out(
      `${JSON.stringify(
        {
          source,
          availability: avail,
          kernel,
          model: model.result,
          modelMemFreeStart: model.memFreeStart,
          modelNsByOp: Object.fromEntries(model.nsByOp),
          comparison: cmp,
        },
        null,
        2,
      )}\n`,
    );
    return cmp.summary.mismatch > 0 ? EXIT.failed : EXIT.ok;
  }
  const lines: string[] = [];
  const title = `${kernel.scenario}  [${source}]`;
  lines.push(io.color ? pc.bold(title) : title);
  lines.push(
    `kernel: Linux ${kernel.kernel} (${kernel.arch}), ${kernel.repeat} run${kernel.repeat === 1 ? "" : "s"} (counters from the first) | model: strategy ${KERNEL_STRATEGY} (what Linux 6.18 runs)`,
  );
  const changed = kernel.knobs.filter((k) => k.status !== "same" && !(k.status === "absent" && k.wanted === "never"));
  if (changed.length > 0)
    lines.push(
      `knobs: ${changed.map((k) => `${k.dir} ${k.original ?? "(absent)"} -> ${k.wanted} [${k.status === "ok" ? "set, restored after" : k.status}]`).join(", ")}`,
    );
  for (const l of avail.limits) lines.push(`limit: ${l}`);
  if (kernel.warnings.length > 0) {
    lines.push("warnings:");
    for (const x of kernel.warnings) lines.push(`  - ${x}`);
  }
  if (kernel.errors.length > 0) {
    lines.push("ops the kernel refused:");
    for (const e of kernel.errors) lines.push(`  - ops[${e.op}]: ${e.message}`);
  }
  if (kernel.repeatsDiffer && kernel.repeatsDiffer.length > 0)
    lines.push(`counters that differed between repetitions: ${kernel.repeatsDiffer.join(", ")}`);
  lines.push(
    "kernel mthp/vmstat/meminfo: machine-wide deltas over the run (gauges too); procs: per process, minus the runner's own footprint; MemFree compared as deltas",
  );
  lines.push("");
  lines.push(renderComparison(cmp, { color: io.color, onlyDiff: flags.onlyDiff ?? false }));
  lines.push("");
  lines.push(
    `timings (kernel: ${flags.clock === "cpu" ? "the proc's CPU time per op, as bench --kernel and calibrate take it (an exit whose CPU time could not be read: wall, in the clock column)" : "wall time per op"}${measured ? "; * = measured op of the workload" : ""}; model: cost events x profile, ${describeProfile(profile)}):`,
  );
  lines.push(renderTimings(kernel, model.nsByOp, measured));
  if (kernel.layouts) {
    lines.push("", "folio layout at the end (pagemap + kpageflags):");
    for (const [proc, per] of Object.entries(kernel.layouts))
      for (const [id, l] of Object.entries(per)) {
        lines.push(`${proc} ${id}:`);
        lines.push(
          formatLayout(l)
            .split("\n")
            .map((x) => `  ${x}`)
            .join("\n"),
        );
      }
  }
  io.out(`${lines.join("\n")}\n`);
  return cmp.summary.mismatch > 0 ? EXIT.failed : EXIT.ok;
}

export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("kernel")
    .description(
      "Run one scenario on this machine's Linux kernel (needs root for the mTHP knobs) and on the model with the folio-batch strategy (what Linux 6.18 runs); print every field of the result contract side by side, mismatches marked. Exit 0: no mismatch; 1: mismatches (or a run failed); 2: bad input; 3: the kernel cannot be used here.",
    )
    .argument("<scenario>", "scenario.json, or a workload id such as pmfb/munmap")
    .option("--repeat <n>", "run the scenario n times on the kernel (median and spread of the op times)", intArg(1), 1)
    .option("--json", "print kernel result, model result and the comparison as JSON")
    .option("--layout", "also print the folio layout of every live mapping at the end (pagemap + kpageflags, needs root)")
    .option("--only-diff", "print only the fields that are not exact matches")
    .option(
      "--tolerance <percent>",
      "allowed difference on system-wide fields that include other activity (vmstat.pgfault, meminfo)",
      intArg(0),
      DEFAULT_TOLERANCE_PERCENT,
    )
    .option("-f, --folio <size>", "folio size when generating from a workload (default 64K)", folioArg)
    .option("--size <size>", "region size when generating from a workload", sizeArg())
    .option("--seed <n>", "seed when generating from a workload", intArg(0), 1)
    .option("--profile <file>", "cost profile JSON for the model's modelled time per op")
    .addOption(
      new Option(
        "--clock <clock>",
        "the clock of the kernel's op times: cpu (the proc's CPU time, what bench --kernel and calibrate measure and the profile is fitted on) or wall",
      )
        .choices(["cpu", "wall"])
        .default("cpu"),
    )
    .action(async (target: string, flags: KernelFlags) => setCode(await kernelCommand(target, flags, io)));
}
