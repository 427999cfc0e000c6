/** Helpers shared by the tests: an in-process Io that captures output. */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import type { Io } from "./cli/io.js";

export const FIXTURES = fileURLToPath(new URL("./__fixtures__/", import.meta.url));
export const GOLDEN = fileURLToPath(new URL("./__golden__/", import.meta.url));
export const PKG_DIR = fileURLToPath(new URL("../", import.meta.url));

export interface CapturedIo extends Io {
  stdout: string[];
  stderr: string[];
  text(): string;
}

export function captureIo(over: Partial<Io> = {}): CapturedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    out: (s) => stdout.push(s),
    err: (s) => stderr.push(s),
    isTTY: false,
    color: false,
    cwd: PKG_DIR,
    jobs: 1,
    stdout,
    stderr,
    text: () => `${stdout.join("")}\n${stderr.join("\n")}`,
    ...over,
  };
}

const made: string[] = [];
// The test file's temp dirs go when its tests are done (FOLIOLAB_KEEP_TMP=1 keeps them to look at).
afterAll(() => {
  if (process.env.FOLIOLAB_KEEP_TMP === "1") return;
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed after the test file's last test. */
export function tempDir(prefix = "foliolab-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
