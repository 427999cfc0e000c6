/**
 * kernelAvailable(): can this machine run scenarios on its kernel, and with which limits.
 */

import { accessSync, constants, existsSync } from "node:fs";
import os from "node:os";
import { ensureRunner, findCompiler } from "./compile.js";
import { knobDirs, THP_DIR } from "./sysfs.js";

export interface KernelAvailability {
  /** False when nothing can run: `reason` says why. */
  ok: boolean;
  reason?: string;
  platform: string;
  kernel: string;
  root: boolean;
  /** hugepages-<size>kB/enabled knobs exist (kernel with mTHP, 6.8+). */
  mthp: boolean;
  /** The knobs can be written (root): config.mthp can be applied. */
  canSetMthp: boolean;
  /** PFNs in pagemap and /proc/kpageflags readable: folioLayout() works. */
  canReadLayout: boolean;
  compiler: string | null;
  /** What will be missing or ignored in results, and the knob or right each needs. */
  limits: string[];
}

/** Check (without changing anything) whether runOnKernel() can be used here. Builds the runner if needed. */
export function kernelAvailable(options: { cacheDir?: string } = {}): KernelAvailability {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const base: KernelAvailability = {
    ok: false,
    platform: process.platform,
    kernel: os.release(),
    root,
    mthp: false,
    canSetMthp: false,
    canReadLayout: false,
    compiler: null,
    limits: [],
  };
  if (process.platform !== "linux") return { ...base, reason: `not Linux (${process.platform}): the kernel probe needs Linux` };
  base.compiler = findCompiler();
  try {
    ensureRunner(options);
  } catch (e) {
    return { ...base, reason: (e as Error).message };
  }
  const dirs = knobDirs();
  base.mthp = dirs.length > 0;
  if (!base.mthp) {
    base.limits.push(
      `no ${THP_DIR}/hugepages-<size>kB/enabled knobs (kernel without mTHP, needs Linux 6.8+): config.mthp cannot be applied, per-size mthp counters are missing`,
    );
  }
  if (dirs.length > 0) {
    try {
      accessSync(`${THP_DIR}/${dirs[0]}/enabled`, constants.W_OK);
      base.canSetMthp = true;
    } catch {
      base.limits.push(
        `cannot write ${THP_DIR}/hugepages-<size>kB/enabled (needs root): config.mthp is applied only where the knob already has the wanted value`,
      );
    }
  }
  base.canReadLayout = root && existsSync("/proc/kpageflags");
  if (!base.canReadLayout)
    base.limits.push("PFNs in /proc/PID/pagemap and /proc/kpageflags need root: folioLayout() gives no folio sizes");
  base.ok = true;
  return base;
}
