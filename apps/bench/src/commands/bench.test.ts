import { describe, expect, it } from "vitest";
import type { CostProfile } from "../profile.js";
import type { KernelRunRecord } from "../results.js";
import { attachCalibration } from "./bench.js";

const cell = { workload: "pmfb/munmap", folio: "4K", size: 1 << 30 };
const profile = (name: string): CostProfile => ({
  name,
  origin: "test",
  description: "",
  ns: {},
  sources: {},
  overridden: [],
  calibration: [
    { ...cell, strategy: "folio-batch", targetNsPerPage: 250, source: "", samples: 10, minNsPerPage: 200, maxNsPerPage: 300 },
  ],
});
const run = (size = cell.size) => ({ ...cell, size, status: "ok", nsPerPage: 260 }) as KernelRunRecord;

describe("bench --kernel: the calibration samples a cell is judged against", () => {
  it("are attached when the profile was fitted on this machine and the cell is the one it measured", () => {
    const r = run();
    attachCalibration([r], profile("this-machine"), "this-machine");
    expect(r.calibration).toEqual({
      profile: "this-machine",
      samples: 10,
      minNsPerPage: 200,
      medianNsPerPage: 250,
      maxNsPerPage: 300,
    });
  });

  it("are not attached from another machine's profile, nor for another region size", () => {
    const other = run();
    attachCalibration([other], profile("another-machine"), "this-machine");
    expect(other.calibration).toBeUndefined();
    const bigger = run(2 << 30);
    attachCalibration([bigger], profile("this-machine"), "this-machine");
    expect(bigger.calibration).toBeUndefined();
  });
});
