#!/usr/bin/env node
// The README's test command: build every package, run every vitest project once, and end
// with the plain "N passed, N failed" line our CI reads (vitest's own summary is not read).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" };
const build = spawnSync("npx", ["--no-install", "turbo", "run", "build", "--output-logs=errors-only"], { stdio: "inherit", env });
if (build.status !== 0) {
  console.log("0 passed, 1 failed");
  console.error("build failed: see the output above");
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "foliolab-test-"));
const report = join(dir, "report.json");
const args = [
  "--no-install",
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const run = spawnSync("npx", args, { stdio: "inherit", env });
let passed = 0;
let failed = 0;
let ok = false;
try {
  const r = JSON.parse(readFileSync(report, "utf8"));
  passed = r.numPassedTests;
  // A file that fails to load has no failed tests but is a failed suite: count it.
  failed = r.numFailedTests + (r.numFailedTestSuites ?? 0);
  ok = r.success && passed > 0;
} catch {
  failed = Math.max(failed, 1);
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && run.status === 0 ? 0 : 1);
