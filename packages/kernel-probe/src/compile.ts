/**
 * Build the C runner (runner/probe.c) with the system C compiler on first use, into a cache
 * directory keyed by a hash of the source, the compiler and the flags: a changed source is
 * rebuilt, an unchanged one is reused.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KernelProbeError } from "./errors.js";

const CFLAGS = ["-O2", "-std=gnu11", "-Wall"];

/** The runner's C source, shipped with the package (`runner/probe.c`). */
export function runnerSourcePath(): string {
  // Both src/compile.ts (tests) and dist/index.js (built) sit one level below the package root.
  return fileURLToPath(new URL("../runner/probe.c", import.meta.url));
}

function packageRoot(): string {
  return path.dirname(path.dirname(runnerSourcePath()));
}

/** node_modules/.cache/foliolab-probe of the nearest node_modules above the package, else the temp dir. */
export function defaultCacheDir(): string {
  let dir = packageRoot();
  for (;;) {
    const nm = path.join(dir, "node_modules");
    if (existsSync(nm)) return path.join(nm, ".cache", "foliolab-probe");
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return path.join(os.tmpdir(), `foliolab-probe-${uid}`);
}

/** The first working C compiler: $CC, cc, gcc, clang. Null when there is none. */
export function findCompiler(): string | null {
  const candidates = [process.env.CC, "cc", "gcc", "clang"].filter((c): c is string => !!c);
  for (const c of candidates) {
    try {
      execFileSync(c, ["--version"], { stdio: "ignore" });
      return c;
    } catch {
      // try the next one
    }
  }
  return null;
}

export interface RunnerBinary {
  path: string;
  compiler: string;
  /** True when this call compiled it (false: taken from the cache). */
  built: boolean;
}

const memo = new Map<string, RunnerBinary>();

/** Path of the compiled runner, compiling it first when the cache has no build of this source. */
export function ensureRunner(options: { cacheDir?: string } = {}): RunnerBinary {
  if (process.platform !== "linux") {
    throw new KernelProbeError(`the kernel probe needs Linux (this is ${process.platform})`);
  }
  const source = runnerSourcePath();
  if (!existsSync(source)) throw new KernelProbeError(`runner source not found at ${source}`);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const compiler = findCompiler();
  const text = readFileSync(source);
  const hash = createHash("sha256")
    .update(text)
    .update(`\0${compiler ?? ""}\0${CFLAGS.join(" ")}\0${process.arch}`)
    .digest("hex")
    .slice(0, 16);
  const bin = path.join(cacheDir, `probe-${hash}`);
  const key = `${bin}`;
  const hit = memo.get(key);
  if (hit && existsSync(hit.path)) return { ...hit, built: false };
  if (existsSync(bin)) {
    const r = { path: bin, compiler: compiler ?? "(cached)", built: false };
    memo.set(key, r);
    return r;
  }
  if (!compiler) {
    throw new KernelProbeError(
      "no C compiler found (tried $CC, cc, gcc, clang): install one (e.g. apt-get install gcc) to build the kernel-probe runner",
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync(compiler, [...CFLAGS, "-o", tmp, source], { stdio: ["ignore", "pipe", "pipe"] });
    renameSync(tmp, bin); // atomic: concurrent builders end with the same file
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as { stderr?: Buffer; message: string };
    throw new KernelProbeError(`compiling ${source} with ${compiler} failed: ${err.stderr?.toString() || err.message}`);
  }
  const r = { path: bin, compiler, built: true };
  memo.set(key, r);
  return r;
}
