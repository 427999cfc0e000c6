import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import type { ResultsFile } from "./results.js";
import { captureIo, FIXTURES, PKG_DIR, tempDir } from "./test-helpers.js";

const BUILT = existsSync(join(PKG_DIR, "dist", "cli.js"));

describe("foliolab command line", () => {
  for (const sub of [[], ["bench"], ["run"], ["compare"], ["list"]]) {
    it(`${["foliolab", ...sub].join(" ")} --help`, async () => {
      const io = captureIo();
      const code = await main([...sub, "--help"], io);
      expect(code).toBe(0);
      expect(io.stdout.join("")).toContain(`Usage: foliolab${sub.length ? ` ${sub[0]}` : ""}`);
    });
  }

  it("list names strategies and workloads, and what the others need", async () => {
    const io = captureIo();
    expect(await main(["list"], io)).toBe(0);
    const text = io.stdout.join("");
    expect(text).toContain("per-page");
    expect(text).toMatch(/\* pmfb\/munmap/);
    const json = captureIo();
    await main(["list", "--json"], json);
    const parsed = JSON.parse(json.stdout.join("")) as {
      workloads: Array<{ id: string; needs: string[]; inDefaultMatrix: boolean }>;
    };
    expect(parsed.workloads).toHaveLength(20);
    for (const w of parsed.workloads) {
      expect(w.inDefaultMatrix).toBe(w.needs.length === 0);
      if (!w.inDefaultMatrix) expect(text).toContain(`needs: ${w.needs.join(", ")}`);
    }
  });

  it("run prints the exact scenario a workload generates", async () => {
    const io = captureIo();
    expect(await main(["run", "pmfb/munmap", "--folio", "2M-PTE", "--size", "4M", "--print-scenario"], io)).toBe(0);
    const s = JSON.parse(io.stdout.join("")) as { name: string; ops: Array<{ op: string }> };
    expect(s.name).toBe("pmfb/munmap 2M-PTE 4M");
    expect(s.ops.filter((o) => o.op === "mprotect")).toHaveLength(4);
    expect(s.ops[s.ops.length - 1]?.op).toBe("munmap");
  });

  it("run and kernel take a workload's mixed cell (-f mixed): the readahead ramp, no madvise", async () => {
    const io = captureIo();
    expect(await main(["run", "file/exit-readonly", "-f", "mixed", "--size", "8M", "--print-scenario"], io)).toBe(0);
    const s = JSON.parse(io.stdout.join("")) as { ops: Array<{ op: string; advice?: string }> };
    expect(s.ops.filter((o) => o.op === "madvise")).toEqual([]);
  });

  it("run <scenario.json> --json prints the result contract", async () => {
    const io = captureIo();
    const code = await main(["run", join(FIXTURES, "scenario-small.json"), "--json"], io);
    expect(code).toBe(0);
    const r = JSON.parse(io.stdout.join("")) as {
      strategy: string;
      costs: Record<string, number>;
      expects: Array<{ ok: boolean }>;
    };
    expect(r.strategy).toBe("per-page");
    expect(r.costs.pte_clear).toBeGreaterThan(0);
    expect(r.expects.every((e) => e.ok)).toBe(true);
    const human = captureIo();
    expect(
      await main(
        ["run", join(FIXTURES, "scenario-small.json"), "-s", "per-page", "-s", join(FIXTURES, "per-page-copy.mjs")],
        human,
      ),
    ).toBe(0);
    expect(human.stdout.join("")).toContain("strategy per-page-copy");
    expect(human.stdout.join("")).toContain("modelled time:");
  });

  it("rejects bad input with a message and exit code 2", async () => {
    const io = captureIo();
    expect(await main(["bench", "--folio", "3K"], io)).not.toBe(0);
    expect(io.text()).toContain('unknown folio size "3K"');
    const io2 = captureIo();
    expect(await main(["run", "no/such-thing"], io2)).toBe(2);
    const io3 = captureIo();
    expect(await main(["bench", "--shard", "3/2"], io3)).toBe(2);
    expect(io3.text()).toContain("--shard");
  });

  it("one exit-code scheme: bad usage or bad input 2, in every command, stated in --help", async () => {
    const dir = tempDir();
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ name: "bad", ops: [{ op: "mmap", id: "a", size: "lots", kind: "anon" }] }));
    const cases: Array<[string[], RegExp]> = [
      [["bench", "--samples", "x"], /--samples.*"x" must be an integer/],
      [["bench", "--check-size", "3K"], /--check-size.*"3K" is not a size/],
      [["bench", "-s", ""], /--strategy.*empty/],
      [["bench", "-w", ""], /--workload.*empty/],
      [["bench", "-f", ""], /--folio.*empty/],
      [["bench", "--profile", join(dir, "none.json")], /--profile: cannot read/],
      [["run", bad], /bad\.json: ops\[0\] \(mmap\)/],
      [["kernel", bad], /bad\.json: ops\[0\] \(mmap\)/],
      [["view", bad, "-o", join(dir, "v.html")], /bad\.json: ops\[0\] \(mmap\)/],
      [["run", "pmfb/munmap", "-f", ""], /--folio.*empty/],
      [["run", "pmfb/munmap", "-f", "mixed"], /--folio mixed: workload pmfb\/munmap has no mixed cell/],
      [["kernel", "file/exit-readonly", "-f", "64K"], /--folio 64K: workload file\/exit-readonly has the folio cells 4K, mixed/],
      [["compare", bad, bad], /not a foliolab results file/],
      [["run"], /missing required argument/],
    ];
    for (const [args, pattern] of cases) {
      const io = captureIo();
      expect(await main(args, io), args.join(" ")).toBe(2);
      expect(io.text(), args.join(" ")).toMatch(pattern);
      expect(io.text()).not.toMatch(/\n\s+at /);
    }
    // -s takes one value per flag: the scenario after it stays the scenario.
    const io = captureIo();
    expect(await main(["run", "-s", "per-page", join(FIXTURES, "scenario-small.json"), "--json"], io)).toBe(0);
    expect((JSON.parse(io.stdout.join("")) as { strategy: string }).strategy).toBe("per-page");
    for (const sub of [[], ["bench"], ["kernel"]]) {
      const help = captureIo();
      await main([...sub, "--help"], help);
      expect(help.stdout.join("")).toMatch(
        /Exit codes[\s\S]*2 +bad usage or bad input[\s\S]*3 +the kernel cannot be used[\s\S]*130 +interrupted/,
      );
    }
  });

  it("shards split the matrix without overlap", async () => {
    const runs: string[][] = [];
    for (const shard of ["1/2", "2/2"]) {
      const io = captureIo();
      const code = await main(
        [
          "bench",
          "-s",
          "per-page",
          "-w",
          "pmfb/munmap,pmfb/dontneed",
          "--size",
          "4M",
          "-f",
          "4K,64K",
          "--samples",
          "1",
          "--shard",
          shard,
          "--no-out",
          "--json",
        ],
        io,
      );
      expect(code).toBe(0);
      runs.push((JSON.parse(io.stdout.join("")) as ResultsFile).runs.map((r) => r.id));
    }
    expect(runs[0]?.length).toBe(2);
    expect(runs[1]?.length).toBe(2);
    expect(new Set([...(runs[0] ?? []), ...(runs[1] ?? [])]).size).toBe(4);
  });

  it("a user cost profile changes modelled time, not cost events, and is named", async () => {
    const dir = tempDir();
    const profile = join(dir, "p.json");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(profile, JSON.stringify({ name: "double-free", events: { folios_freed: 630 } }));
    const a = captureIo();
    const b = captureIo();
    const args = [
      "bench",
      "-s",
      "per-page",
      "-w",
      "pmfb/munmap",
      "--size",
      "4M",
      "-f",
      "4K",
      "--samples",
      "1",
      "--no-out",
      "--json",
    ];
    await main(args, a);
    await main([...args, "--profile", profile], b);
    const ra = JSON.parse(a.stdout.join("")) as ResultsFile;
    const rb = JSON.parse(b.stdout.join("")) as ResultsFile;
    expect(rb.runs[0]?.metrics?.costEvents).toEqual(ra.runs[0]?.metrics?.costEvents);
    expect(rb.runs[0]?.metrics?.modelledNs).toBeGreaterThan(ra.runs[0]?.metrics?.modelledNs ?? 0);
    expect(rb.metadata.profile.name).toBe("double-free");
    expect(b.text()).toContain("cost profile: double-free");
    const bad = captureIo();
    writeFileSync(profile, JSON.stringify({ events: { no_such_event: 1 } }));
    expect(await main([...args, "--profile", profile], bad)).not.toBe(0);
    expect(bad.text()).toContain('unknown event kind "no_such_event"');
  });

  it("an interrupt keeps every finished run on disk", async () => {
    const out = tempDir();
    let fire: (() => void) | undefined;
    const io = captureIo({
      onInterrupt: (fn) => {
        fire = fn;
        return () => {};
      },
    });
    const origErr = io.err;
    let done = 0;
    io.err = (s) => {
      origErr(s);
      if (/^\[\s*\d+\/\d+\] ok/.test(s) && ++done === 2) fire?.();
    };
    const code = await main(["bench", "-s", "per-page", "-w", "pmfb/munmap", "--size", "4M", "--samples", "1", "-o", out], io);
    expect(code).toBe(130);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    expect(res.metadata.interrupted).toBe(true);
    expect(res.metadata.complete).toBe(false);
    expect(res.runs.length).toBe(2);
    expect(res.runs.every((r) => r.status === "ok")).toBe(true);
    expect(existsSync(join(out, "report.html"))).toBe(true);
    expect(readdirSync(out).some((f) => f.endsWith(".tmp"))).toBe(false);
  });

  it.skipIf(!BUILT)("the built bin runs cells in worker processes, and Ctrl-C keeps finished results", async () => {
    const out = tempDir();
    const child = spawn(
      process.execPath,
      [
        join(PKG_DIR, "bin", "foliolab.js"),
        "bench",
        "-s",
        "per-page",
        "-w",
        "pmfb/munmap,pmfb/dontneed",
        "--size",
        "64M",
        "--samples",
        "3",
        "-j",
        "2",
        "-o",
        out,
      ],
      { cwd: PKG_DIR, stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    let sent = false;
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      if (!sent && /\[\s*2\/10\] ok/.test(err)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    expect(err).toContain("2 worker processes");
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    if (sent && res.metadata.interrupted) {
      expect(code).toBe(130);
      expect(res.runs.filter((r) => r.status === "ok").length).toBeGreaterThanOrEqual(2);
    } else {
      // the machine was fast enough to finish before the signal landed
      expect(code).toBe(0);
      expect(res.runs).toHaveLength(10);
    }
  });
});
