import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ensureRunner, findCompiler } from "./compile.js";

const reason = process.platform !== "linux" ? "not Linux" : findCompiler() === null ? "no C compiler" : undefined;

describe.skipIf(reason !== undefined)(`runner build${reason ? ` (skipped: ${reason})` : ""}`, () => {
  it("compiles the runner once per source into the cache dir and reuses it", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "kprobe-cache-"));
    try {
      const a = ensureRunner({ cacheDir: dir });
      expect(a.built).toBe(true);
      expect(existsSync(a.path)).toBe(true);
      expect(path.dirname(a.path)).toBe(dir);
      const b = ensureRunner({ cacheDir: dir });
      expect(b.path).toBe(a.path);
      expect(b.built).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
