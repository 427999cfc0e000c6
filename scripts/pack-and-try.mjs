#!/usr/bin/env node
// Pack the repo's packages and use them the way a user outside the repository would:
//
//   1. build every package (turbo);
//   2. `npm pack` every publishable package (packages/* and the `foliolab` CLI, apps/bench) into a
//      temporary directory, and check each one: a LICENSE in the tarball, publint --strict and
//      `attw <tarball> --profile esm-only` (not for the CLI: it has a bin, no exports);
//   2b. install the CLI alone from its tarball into a fresh project, as `npm install @foliolab/bench`
//      would, and run `npx foliolab bench --strategy ./mine.js` on a strategy file written there;
//   3. copy examples/custom-strategy (a strategy written as an outsider would, not a workspace)
//      into a fresh temporary project outside the repo, point its @foliolab/* dependencies at
//      the tarballs (no registry access for @foliolab packages), `npm install`;
//   4. build the example and run its tests (they use @foliolab/testkit's conformance kit);
//   5. run `foliolab bench --strategy per-page --strategy folio-batch --strategy ./dist/index.js`
//      on one small workload, from the bench installed out of its tarball;
//   6. pack the example itself, install it with the bench into a second fresh project and load
//      it by package name (`foliolab bench --strategy foliolab-example-strategy`).
//
// No @foliolab package comes from the registry: each is installed from its tarball (the
// @foliolab dependencies of a tarball through `overrides`), which is what `npm install` gives
// once they are published.
//
// Options: --check-only (steps 1-2), --keep (keep the temporary directories),
//          --out <dir> (write the tarballs there instead of a temporary directory),
//          --no-build (use the existing dist/ directories).
// Exits non-zero on the first failure. It never prints a line of the form "N passed, N failed".

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const checkOnly = args.includes("--check-only");
const keep = args.includes("--keep");
const noBuild = args.includes("--no-build");
const outIdx = args.indexOf("--out");
const outArg = outIdx >= 0 ? args[outIdx + 1] : undefined;

const started = Date.now();
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", npm_config_update_notifier: "false", npm_config_fund: "false" };
const temps = [];

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(1)}s`;
}

function step(msg) {
  console.log(`\n[pack-and-try ${elapsed()}] ${msg}`);
}

function fail(msg) {
  console.error(`\n[pack-and-try] FAILED: ${msg}`);
  cleanup();
  process.exit(1);
}

function cleanup() {
  if (keep) {
    for (const t of temps) console.log(`[pack-and-try] kept ${t}`);
    return;
  }
  for (const t of temps) rmSync(t, { recursive: true, force: true });
}

/** Run a command, echoing it; its output streams through. Fails the script on a non-zero exit. */
function run(cmd, cmdArgs, cwd, { capture = false } = {}) {
  const rel = relative(repo, cwd);
  const where = rel === "" ? "<repo>" : rel.startsWith("..") ? cwd : `<repo>/${rel}`;
  console.log(`$ (cd ${where} && ${cmd} ${cmdArgs.join(" ")})`);
  const r = spawnSync(cmd, cmdArgs, {
    cwd,
    env,
    encoding: "utf8",
    stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
    maxBuffer: 64 << 20,
  });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    if (capture) process.stdout.write(`${r.stdout}${r.stderr}`);
    fail(`\`${cmd} ${cmdArgs.join(" ")}\` exited with ${r.status} (in ${cwd})`);
  }
  return r.stdout ?? "";
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
const ANSI = /\x1b\[[0-9;]*m/g;
function stripAnsi(s) {
  return s.replace(ANSI, "");
}

function readJson(p) {
  return JSON.parse(readFileSync(p, "utf8"));
}

function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

// --- 1. build ---------------------------------------------------------------------------------
if (!noBuild) {
  step("build every package");
  run("npx", ["--no-install", "turbo", "run", "build", "--output-logs=errors-only"], repo);
}

// --- 2. pack and check --------------------------------------------------------------------------
const packageDirs = readdirSync(join(repo, "packages"))
  .map((d) => join(repo, "packages", d))
  .filter((d) => existsSync(join(d, "package.json")));
const benchDir = join(repo, "apps", "bench");
const publishable = [...packageDirs, benchDir].filter((d) => readJson(join(d, "package.json")).private !== true);
if (!publishable.includes(benchDir)) fail("apps/bench (the foliolab CLI) is private: it must be installable");

let tarballDir;
if (outArg) {
  tarballDir = resolve(outArg);
  mkdirSync(tarballDir, { recursive: true });
} else {
  tarballDir = tempDir("foliolab-tarballs-");
}

/** npm pack one directory into tarballDir; returns the tarball's absolute path. */
function pack(dir) {
  const out = run("npm", ["pack", "--json", "--pack-destination", tarballDir], dir, { capture: true });
  const info = JSON.parse(out.slice(out.indexOf("[")))[0];
  if (!info.files.some((f) => f.path === "LICENSE")) fail(`${info.name}: no LICENSE in its tarball`);
  console.log(`  ${info.name}@${info.version}: ${info.filename}, ${info.entryCount} files, ${(info.size / 1024).toFixed(1)} kB`);
  return join(tarballDir, info.filename);
}

/** attw checks every `exports` subpath; the ones that are not JavaScript (a C source) are excluded. */
function nonJsEntrypoints(dir) {
  const exp = readJson(join(dir, "package.json")).exports ?? {};
  return Object.entries(exp)
    .filter(([, target]) => typeof target === "string" && !/\.(c|m)?js$|\.json$/.test(target))
    .map(([sub]) => sub);
}

step(`pack and check ${publishable.length} publishable packages (publint --strict, attw --profile esm-only)`);
const tarballs = new Map();
for (const dir of publishable) {
  const name = readJson(join(dir, "package.json")).name;
  const tgz = pack(dir);
  tarballs.set(name, tgz);
  run(join(repo, "node_modules", ".bin", "publint"), ["--strict", dir], repo, { capture: true });
  if (readJson(join(dir, "package.json")).exports === undefined) {
    console.log(`  ${name}: LICENSE, publint ok (a bin, no exports: attw has nothing to check)`);
    continue;
  }
  const exclude = nonJsEntrypoints(dir);
  const attwArgs = [tgz, "--profile", "esm-only", "--format", "ascii"];
  if (exclude.length > 0) attwArgs.push("--exclude-entrypoints", ...exclude);
  run(join(repo, "node_modules", ".bin", "attw"), attwArgs, repo, { capture: true });
  console.log(
    `  ${name}: LICENSE, publint ok, attw ok${exclude.length > 0 ? ` (not JavaScript, not checked: ${exclude.join(", ")})` : ""}`,
  );
}

if (checkOnly) {
  step(`done: ${tarballs.size} tarballs checked${outArg ? ` in ${tarballDir}` : ""}`);
  if (!outArg) cleanup();
  process.exit(0);
}

const benchTgz = tarballs.get("@foliolab/bench");
const overrides = Object.fromEntries([...tarballs].map(([name, tgz]) => [name, `file:${tgz}`]));

// --- 2b. the CLI alone, as `npm install @foliolab/bench` installs it ------------------------------
const alone = tempDir("foliolab-cli-");
step(`install the foliolab CLI alone from its tarball: ${alone}`);
writeFileSync(
  join(alone, "package.json"),
  `${JSON.stringify({ name: "cli-alone", private: true, type: "module", devDependencies: { "@foliolab/bench": `file:${benchTgz}` }, overrides }, null, 2)}\n`,
);
// A strategy file of an author who installed nothing but the CLI: per-page under another name.
writeFileSync(
  join(alone, "mine.js"),
  `import { perPage } from "@foliolab/strategy-per-page";\nexport default { ...perPage, name: "mine", description: "per-page, renamed" };\n`,
);
run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], alone);
const help = run("npx", ["--no-install", "foliolab", "--help"], alone, { capture: true });
if (!help.includes("Exit codes")) fail("foliolab --help does not state the exit codes");
const aloneOut = run(
  "npx",
  [
    "--no-install",
    "foliolab",
    "bench",
    "--strategy",
    "./mine.js",
    "-w",
    "pmfb/munmap",
    "--size",
    "8M",
    "-f",
    "4K",
    "--samples",
    "1",
    "--no-out",
  ],
  alone,
  { capture: true },
);
process.stdout.write(aloneOut);
if (!/\bmine\b/.test(aloneOut)) fail("the CLI installed alone did not run ./mine.js");

// --- 3. a fresh project outside the repo ---------------------------------------------------------
const exampleSrc = join(repo, "examples", "custom-strategy");
const work = tempDir("foliolab-try-");
const project = join(work, "my-strategy");
step(`copy examples/custom-strategy to a fresh project: ${project}`);
cpSync(exampleSrc, project, {
  recursive: true,
  filter: (src) => !/(^|\/)(node_modules|dist|foliolab-results)(\/|$)/.test(relative(exampleSrc, src)),
});
rmSync(join(project, "package-lock.json"), { force: true });

// Point every @foliolab dependency at its tarball, and add the bench as a devDependency.
const pkgPath = join(project, "package.json");
const pkg = readJson(pkgPath);
for (const field of ["dependencies", "devDependencies"]) {
  for (const name of Object.keys(pkg[field] ?? {})) {
    if (!name.startsWith("@foliolab/")) continue;
    const tgz = tarballs.get(name);
    if (!tgz) fail(`the example depends on ${name}, which is not a publishable package of the repo`);
    pkg[field][name] = `file:${tgz}`;
  }
}
pkg.devDependencies["@foliolab/bench"] = `file:${benchTgz}`;
// The bench depends on the strategies and core at exact versions: take those from the tarballs too.
pkg.overrides = overrides;
writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
console.log("  @foliolab/* dependencies -> file:<tarball>; devDependency @foliolab/bench -> its tarball");

step("npm install in the fresh project");
run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], project);

// No @foliolab package may have come from the registry.
const lock = readJson(join(project, "package-lock.json"));
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  const m = /node_modules\/(@foliolab\/[^/]+)$/.exec(path);
  if (!m) continue;
  if (entry.link || !(entry.resolved ?? "").startsWith("file:")) {
    fail(`${m[1]} at ${path} was not installed from a tarball (resolved: ${entry.resolved ?? "registry"})`);
  }
}
console.log("  every @foliolab package came from a tarball");

// --- 4. build and test the example ---------------------------------------------------------------
step("build the example (tsc) and run its tests (vitest + @foliolab/testkit)");
run("npm", ["run", "build"], project);
run("npm", ["run", "typecheck"], project);
const testOut = run("npx", ["--no-install", "vitest", "run", "--reporter=dot"], project, { capture: true });
const summary = testOut
  .split("\n")
  .filter((l) => /Test Files|Tests /.test(l))
  .map((l) => stripAnsi(l).trim());
for (const l of summary) console.log(`  example ${l}`);

// --- 5. the bench, with the example next to the built-in strategies ------------------------------
const benchArgs = [
  "--workload",
  "pmfb/munmap",
  "--size",
  "64M",
  "--folio",
  "4K,64K",
  "--samples",
  "1",
  "--jobs",
  "1",
  "--no-out",
];
step("foliolab bench: the example (by path) against per-page and folio-batch");
const benchOut = run(
  "npx",
  ["--no-install", "foliolab", "bench", "--strategy", "per-page,folio-batch,./dist/index.js", ...benchArgs],
  project,
  { capture: true },
);
process.stdout.write(benchOut);
if (!benchOut.includes("rmap-batch-page-gather")) fail("the bench output does not name the example strategy");

// --- 6. the example as a package, loaded by name ------------------------------------------------
step("pack the example and load it by package name in a second fresh project");
const exampleTgz = pack(project);
const consumer = join(work, "consumer");
mkdirSync(consumer);
writeFileSync(
  join(consumer, "package.json"),
  `${JSON.stringify(
    {
      name: "foliolab-consumer",
      private: true,
      type: "module",
      devDependencies: {
        "@foliolab/bench": `file:${benchTgz}`,
        "@foliolab/core": `file:${tarballs.get("@foliolab/core")}`,
        "foliolab-example-strategy": `file:${exampleTgz}`,
      },
      overrides: pkg.overrides,
    },
    null,
    2,
  )}\n`,
);
run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], consumer);
const byName = run(
  "npx",
  ["--no-install", "foliolab", "bench", "--strategy", "folio-batch,foliolab-example-strategy", ...benchArgs],
  consumer,
  { capture: true },
);
process.stdout.write(byName);
if (!byName.includes("rmap-batch-page-gather")) fail("the bench did not load the example by package name");

step(`all steps passed in ${elapsed()}`);
cleanup();
