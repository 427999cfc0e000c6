#!/usr/bin/env node
/**
 * Fuzz zap strategies against the per-page reference: N random operation sequences per
 * strategy (default 100000), each run under the strategy and under per-page with the
 * invariant checker on. Prints a time report; on failure prints the shrunk counterexample
 * as scenario JSON and exits 1.
 *
 * The same loop is `foliolab fuzz` (without --kernel) in apps/bench.
 *
 *   node packages/testkit/scripts/fuzz.mjs [--runs N] [--seed S] [--strategy NAME|MODULE ...] [--max-mib 8] [--s390-weight 1]  (0 leaves the s390 profile out)
 *
 * Without --strategy it fuzzes every @foliolab/strategy-* package it can import (build them
 * first: npx turbo run build). A MODULE is a package name or a path to an ES module whose
 * default export (or any export with zapPresentPtes) is a ZapStrategy.
 */

import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runProperty } from "@foliolab/testkit/lib";

function parseArgs(argv) {
  const out = { runs: 100_000, seed: undefined, strategies: [], maxMiB: 8, minMiB: 1, chunk: 1000, s390Weight: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--runs" || a === "-n") out.runs = Number(next());
    else if (a === "--seed") out.seed = Number(next());
    else if (a === "--strategy" || a === "-s") out.strategies.push(next());
    else if (a === "--max-mib") out.maxMiB = Number(next());
    else if (a === "--min-mib") out.minMiB = Number(next());
    else if (a === "--s390-weight") out.s390Weight = Number(next());
    else if (a === "--chunk") out.chunk = Number(next());
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: fuzz.mjs [--runs N (100000)] [--seed S] [--strategy NAME|MODULE ...] [--min-mib 1] [--max-mib 8] [--chunk 1000]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(out.runs) || out.runs < 1) throw new Error(`--runs must be a positive integer (got ${out.runs})`);
  if (out.seed !== undefined && (!Number.isInteger(out.seed) || out.seed < 0))
    throw new Error(`--seed must be a non-negative integer (got ${out.seed})`);
  const flags = { maxMiB: "--max-mib", minMiB: "--min-mib", chunk: "--chunk", s390Weight: "--s390-weight" };
  for (const [k, flag] of Object.entries(flags))
    if (!Number.isFinite(out[k]) || out[k] < 0) throw new Error(`${flag} must be a number >= 0 (got ${out[k]})`);
  return out;
}

function isStrategy(x) {
  const hooks = ["zapPresentPtes", "startPteTable", "flushRmaps", "releaseGathered", "reclaimUnmapBatch"];
  return (
    x &&
    typeof x === "object" &&
    typeof x.name === "string" &&
    hooks.every((h) => x[h] === undefined || typeof x[h] === "function")
  );
}

async function load(spec) {
  const target = spec.startsWith(".") || spec.startsWith("/") ? pathToFileURL(resolve(spec)).href : spec;
  const mod = await import(target);
  const found = [];
  if (isStrategy(mod.default)) found.push(mod.default);
  for (const v of Object.values(mod)) if (isStrategy(v) && !found.includes(v)) found.push(v);
  if (found.length === 0) throw new Error(`${spec}: exports no ZapStrategy`);
  return found;
}

async function discover() {
  const here = dirname(fileURLToPath(import.meta.url));
  const scope = join(here, "..", "..", "..", "node_modules", "@foliolab");
  const names = readdirSync(scope).filter((n) => n.startsWith("strategy-"));
  const out = [];
  for (const n of names) {
    try {
      for (const s of await load(`@foliolab/${n}`)) if (!out.some((o) => o.name === s.name)) out.push(s);
    } catch (e) {
      console.warn(`skipping @foliolab/${n}: ${e.message.split("\n")[0]}`);
    }
  }
  return out;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  // A bad flag is bad usage: name it, no stack trace (exit 2, as the foliolab command does).
  console.error(`error: ${e.message}`);
  process.exit(2);
}
const strategies = [];
if (args.strategies.length === 0) strategies.push(...(await discover()));
else
  for (const s of args.strategies)
    strategies.push(...(await load(s.includes("/") || s.startsWith("@") || s.startsWith(".") ? s : `@foliolab/${s}`)));

const baseSeed = args.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
console.log(`fuzz: ${args.runs} sequences per strategy, seed ${baseSeed}, mappings ${args.minMiB}-${args.maxMiB} MiB`);
let failed = false;
const rows = [];
for (const strategy of strategies) {
  const started = performance.now();
  let done = 0;
  let skips = 0;
  let chunkIndex = 0;
  let report;
  // Chunks with derived seeds: progress lines, and a failure names the chunk's seed to replay.
  while (done < args.runs) {
    const n = Math.min(args.chunk, args.runs - done);
    const seed = (baseSeed + chunkIndex * 0x9e3779b1) >>> 0;
    report = runProperty(strategy, {
      numRuns: n,
      seed,
      minMappingMiB: args.minMiB,
      maxMappingMiB: args.maxMiB,
      s390Weight: args.s390Weight,
    });
    skips += report.numSkips;
    if (!report.ok) break;
    done += n;
    chunkIndex++;
    if (args.runs > args.chunk && process.stderr.isTTY) {
      const s = (performance.now() - started) / 1000;
      process.stderr.write(`\r  ${strategy.name}: ${done}/${args.runs} (${(done / s).toFixed(0)}/s)   `);
    }
  }
  if (process.stderr.isTTY && args.runs > args.chunk) process.stderr.write("\n");
  const secs = (performance.now() - started) / 1000;
  if (!report.ok) {
    failed = true;
    console.log(`\n${strategy.name}: FAILED after ${done + report.numRuns} sequences (${secs.toFixed(1)} s)`);
    console.log(report.message);
    rows.push({ strategy: strategy.name, sequences: done + report.numRuns, seconds: secs, result: "FAIL" });
  } else {
    rows.push({ strategy: strategy.name, sequences: done, seconds: secs, result: "ok" });
  }
  if (skips > 0) console.log(`${strategy.name}: ${skips} sequences discarded (the reference refused them)`);
}

console.log("\nstrategy                          sequences    seconds   seq/s   result");
for (const r of rows) {
  console.log(
    `${r.strategy.padEnd(32)} ${String(r.sequences).padStart(10)} ${r.seconds.toFixed(1).padStart(10)} ${(r.sequences / r.seconds)
      .toFixed(0)
      .padStart(7)}   ${r.result}`,
  );
}
console.log("(each sequence runs twice: under the strategy and under per-page, checker on)");
process.exit(failed ? 1 : 0);
