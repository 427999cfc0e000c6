/**
 * Workloads whose ops core does not support are left out of the default matrix, listed with
 * what they need, and join by themselves when core supports them. Core's NOT_YET_SUPPORTED is
 * a live Set, so the test takes "fork" away from core for a moment.
 */

import { NOT_YET_SUPPORTED } from "@foliolab/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import { planMatrix } from "./matrix.js";
import { defaultProfile } from "./profile.js";
import { captureIo, PKG_DIR } from "./test-helpers.js";
import { defaultWorkloads } from "./workloads.js";

describe("workloads that need what core does not do yet", () => {
  const added: string[] = [];
  beforeEach(() => {
    if (!NOT_YET_SUPPORTED.has("fork")) {
      NOT_YET_SUPPORTED.add("fork");
      added.push("fork");
    }
  });
  afterEach(() => {
    for (const a of added.splice(0)) NOT_YET_SUPPORTED.delete(a);
  });

  it("are not in the default matrix", async () => {
    const ids = (await defaultWorkloads()).map((w) => w.id);
    expect(ids).toContain("pmfb/munmap");
    for (const id of [
      "pmfb/fork",
      "pmfb/cow",
      "pmfb/cow-reuse",
      "vms/anon-cow-seq",
      "exit/mixed-orders",
      "pmfb/munmap-swapped-forked",
    ]) {
      expect(ids).not.toContain(id);
    }
  });

  it("are listed with what they need", async () => {
    const io = captureIo();
    await main(["list"], io);
    expect(io.stdout.join("")).toMatch(/ {2}pmfb\/fork +1G .*needs: fork/);
  });

  it("asked for by name, are skipped with the reason and the exit code says so", async () => {
    const plan = await planMatrix({
      strategies: ["per-page"],
      workloads: ["pmfb/fork"],
      folios: ["4K"],
      size: 4 << 20,
      seed: 1,
      samples: 1,
      checkSize: 0,
      profile: defaultProfile(),
      jobs: 1,
      cwd: PKG_DIR,
    });
    expect(plan.cells).toHaveLength(0);
    expect(plan.unrunnable[0]?.status).toBe("skipped");
    expect(plan.unrunnable[0]?.error?.message).toContain("needs: fork");
    const io = captureIo();
    const code = await main(["bench", "-s", "per-page", "-w", "pmfb/fork", "-f", "4K", "--size", "4M", "--no-out"], io);
    expect(code).toBe(1);
    expect(io.text()).toContain("needs: fork");
  });
});
