import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseScenario } from "@foliolab/core";
import { buildProgram, kernelAvailable } from "@foliolab/kernel-probe";
import { describe, expect, it } from "vitest";
import { main } from "../cli/program.js";
import { captureIo, tempDir } from "../test-helpers.js";
import { generateProgram } from "./fuzz.js";

describe("foliolab fuzz", () => {
  it("generates the same program for the same seed, one the model's and the probe's checks accept", () => {
    expect(generateProgram(42)).toEqual(generateProgram(42));
    expect(generateProgram(42)).not.toEqual(generateProgram(43));
    for (let s = 0; s < 200; s++) {
      const p = generateProgram(s);
      expect(() => parseScenario(p), `seed ${s}`).not.toThrow();
      expect(() => buildProgram(parseScenario(p)), `seed ${s}`).not.toThrow();
      // madvise or never only: "always" would count every process on the machine
      expect(Object.values(p.config.mthp).every((v) => v === "madvise" || v === "never")).toBe(true);
    }
  });

  it("maps only the kinds --kinds allows", () => {
    const kindsOf = (p: ReturnType<typeof generateProgram>) => new Set(p.ops.filter((o) => o.op === "mmap").map((o) => o.kind));
    const every = new Set<unknown>();
    for (let s = 0; s < 100; s++) {
      for (const k of kindsOf(generateProgram(s))) every.add(k);
      expect([...kindsOf(generateProgram(s, 4, ["anon"]))], `seed ${s}`).toEqual(["anon"]);
      expect(kindsOf(generateProgram(s, 4, ["file-shared"])).has("anon"), `seed ${s}`).toBe(false);
    }
    expect([...every].sort()).toEqual(["anon", "file-private", "file-shared"]);
  });

  it.each([
    [["--runs", "abc"], /--runs <n>' argument 'abc' is invalid/],
    [["--runs", "0"], /must be an integer >= 1/],
    [["--seed", "-1"], /--seed <n>/],
    [["--bogus"], /unknown option '--bogus'/],
    [["--kinds", "anon,shmem"], /unknown mapping kind "shmem" \(expected anon, file-private, file-shared\)/],
  ])("refuses %j with a named error (exit 2), no stack trace", async (args, message) => {
    const io = captureIo();
    expect(await main(["fuzz", ...args], io)).toBe(2);
    const err = io.stderr.join("");
    expect(err).toMatch(message);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it("without --kernel runs the testkit's property under each strategy against per-page", async () => {
    const io = captureIo();
    expect(await main(["fuzz", "--runs", "20", "--seed", "5", "-s", "folio-batch,per-page"], io)).toBe(0);
    const out = io.stdout.join("");
    expect(out).toMatch(/folio-batch\s+20\s+ok/);
    expect(out).toMatch(/per-page\s+20\s+ok/);
  });
});

const avail = kernelAvailable();
const skip = !avail.ok ? avail.reason : !avail.root ? "not root" : !avail.mthp ? "kernel without mTHP" : undefined;

describe.skipIf(skip !== undefined)(`foliolab fuzz --kernel${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("runs 30 programs on the kernel and the model and prints K/N programs agree last", async () => {
    const out = tempDir("foliolab-fuzz-");
    const io = captureIo();
    const code = await main(["fuzz", "--kernel", "--runs", "30", "--seed", "2026", "--out", out, "--shrink-budget", "8"], io);
    const lines = io.stdout.join("").trim().split("\n");
    const m = /^(\d+)\/(\d+) programs agree$/.exec(lines[lines.length - 1] ?? "");
    expect(m, lines.join("\n")).not.toBeNull();
    const [k, n] = [Number(m?.[1]), Number(m?.[2])];
    expect(n).toBeGreaterThanOrEqual(28); // a program the model refuses is not run
    expect(code).toBe(k === n ? 0 : 1);
    const saved = existsSync(out) ? readdirSync(out).filter((f) => f.endsWith(".scenario.json")) : [];
    expect(saved).toHaveLength(n - k);
    for (const f of saved) {
      const scenario = parseScenario(readFileSync(join(out, f), "utf8"));
      const both = JSON.parse(readFileSync(join(out, f.replace(".scenario.json", ".json")), "utf8"));
      expect(scenario.ops.length).toBeGreaterThan(0);
      expect(both.kernel.strategy).toBe("linux");
      expect(both.fields.length).toBeGreaterThan(0);
    }
  }, 900_000);
});
