#!/usr/bin/env node
// `npm run release`: version, build, check and pack every publishable package, then stop.
//
//   1. `changeset version`: turn the pending .changeset/*.md files into versions and CHANGELOGs
//      (independent versions; a minor of @foliolab/core leaves the strategies alone while their
//      peer range still covers it);
//   2. `npm install`: bring package-lock.json in line with the new versions;
//   3. `node scripts/pack-and-try.mjs --check-only --out release-tarballs`: build, publint --strict,
//      attw --profile esm-only, and `npm pack` each package into release-tarballs/.
//
// It stops before `npm publish`: publishing needs npm registry credentials (an automation token
// with publish rights on the @foliolab scope), which this project does not have. Review and
// commit the versioned files, then publish from a machine that has them (see CONTRIBUTING.md).
//
// --no-version skips step 1 (pack what the tree holds now).

import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(repo, "release-tarballs");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" };

function run(cmd, args) {
  console.log(`\n[release] $ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: repo, env, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`[release] FAILED: \`${cmd} ${args.join(" ")}\` exited with ${r.status ?? r.signal}`);
    process.exit(1);
  }
}

if (!process.argv.includes("--no-version")) {
  run("npx", ["--no-install", "changeset", "version"]);
  run("npm", ["install", "--no-audit", "--no-fund"]);
}
rmSync(out, { recursive: true, force: true });
run("node", ["scripts/pack-and-try.mjs", "--check-only", "--out", out]);

const tarballs = readdirSync(out).filter((f) => f.endsWith(".tgz"));
console.log(`\n[release] ${tarballs.length} tarballs checked and packed in release-tarballs/:`);
for (const t of tarballs) console.log(`  ${t}`);
console.log(
  "\n[release] STOPPED before `npm publish`: publishing needs npm credentials (a token with publish rights on\n" +
    "the @foliolab scope) that this project does not have. With them, review and commit the version bump, then run\n" +
    "`npx changeset publish` (it publishes every package whose version is not on the registry yet and tags it).",
);
