/**
 * `foliolab list`: the strategies, the workloads (with what each still needs from core) and the
 * folio sizes.
 */

import type { Command } from "commander";
import type { CommandContext, Io } from "../cli/io.js";
import { describeProfile, loadProfile } from "../profile.js";
import { DEFAULT_FOLIOS, FOLIO_IDS, formatBytes } from "../sizes.js";
import { discoverBuiltins, loadStrategies } from "../strategies.js";
import { WORKLOADS, workloadNeeds } from "../workloads.js";

async function listCommand(flags: { json?: boolean }, io: Io): Promise<number> {
  const builtins = discoverBuiltins(io.cwd);
  const { loaded, failures } = await loadStrategies(
    builtins.map((b) => b.name),
    io.cwd,
  );
  const workloads = [];
  for (const w of WORKLOADS) workloads.push({ w, needs: await workloadNeeds(w) });
  if (flags.json) {
    io.out(
      `${JSON.stringify(
        {
          strategies: [
            ...loaded.map((s) => ({
              name: s.name,
              package: s.ref.packageName,
              version: s.ref.version,
              description: s.description,
            })),
            ...failures.map((f) => ({ name: f.name, error: f.message })),
          ],
          workloads: workloads.map(({ w, needs }) => ({
            id: w.id,
            title: w.title,
            origin: w.origin,
            defaultSize: formatBytes(w.defaultSize),
            needs,
            inDefaultMatrix: needs.length === 0,
            fixedFolios: w.fixedFolios ?? null,
          })),
          folios: FOLIO_IDS,
          defaultFolios: DEFAULT_FOLIOS,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const lines: string[] = [];
  lines.push("strategies (the repo's @foliolab/strategy-* packages; --strategy also takes a file path or a package name):");
  const nw = Math.max(12, ...loaded.map((s) => s.name.length), ...failures.map((f) => f.name.length));
  for (const s of loaded) lines.push(`  ${s.name.padEnd(nw)}  ${s.description || s.ref.packageName || ""}`);
  for (const f of failures) lines.push(`  ${f.name.padEnd(nw)}  failed to load: ${f.message}`);
  lines.push("");
  lines.push("workloads (* = in the default matrix; the others join it when core supports what they need):");
  const iw = Math.max(...WORKLOADS.map((w) => w.id.length));
  for (const { w, needs } of workloads) {
    const mark = needs.length === 0 ? "*" : " ";
    const note =
      needs.length > 0
        ? `  needs: ${needs.join(", ")}`
        : w.fixedFolios
          ? `  folio axis: ${w.fixedFolios.join(", ")} (${w.fixedFoliosReason})`
          : "";
    lines.push(`${mark} ${w.id.padEnd(iw)}  ${formatBytes(w.defaultSize).padStart(4)}  ${w.title}${note}`);
  }
  lines.push("");
  lines.push(`folio sizes: ${FOLIO_IDS.join(" ")} (default: ${DEFAULT_FOLIOS.join(" ")}; 2M means both 2M-PTE and 2M-PMD)`);
  lines.push(describeProfile(loadProfile(undefined)));
  io.out(`${lines.join("\n")}\n`);
  return 0;
}

export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("list")
    .description("List strategies, workloads (with what each still needs from core) and folio sizes.")
    .option("--json", "as JSON")
    .action(async (flags: { json?: boolean }) => setCode(await listCommand(flags, io)));
}
