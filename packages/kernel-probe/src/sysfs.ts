/**
 * Readers for the kernel's counters, by the names the result contract uses:
 * /sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/stats/*, /proc/vmstat, /proc/meminfo.
 * Every value that cannot be read is left out and named in `missing`.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { MEMINFO_NAMES, MTHP_STAT_NAMES, VMSTAT_NAMES } from "@foliolab/core";
import { hugepagesDirName, MTHP_ORDERS } from "@foliolab/core/internals";

export const THP_DIR = "/sys/kernel/mm/transparent_hugepage";
export { MEMINFO_NAMES };

export interface CounterSnapshot {
  mthp: Record<string, Record<string, number>>;
  vmstat: Record<string, number>;
  meminfo: Record<string, number>;
  /** Dotted names of the fields that could not be read ("mthp.hugepages-64kB.split"). */
  missing: string[];
}

/** The hugepages-<size>kB directories of the result contract (orders 2..9), as in the model. */
export function mthpDirs(): string[] {
  return MTHP_ORDERS.map((o) => hugepagesDirName(o));
}

function readNumber(file: string): number | null {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function parseKeyValues(text: string, sep: RegExp): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const parts = line.trim().split(sep);
    if (parts.length >= 2 && parts[0]) m.set(parts[0].replace(/:$/, ""), Number(parts[1]));
  }
  return m;
}

export function snapshotCounters(): CounterSnapshot {
  const missing: string[] = [];
  const mthp: Record<string, Record<string, number>> = {};
  for (const dir of mthpDirs()) {
    const row: Record<string, number> = {};
    for (const name of MTHP_STAT_NAMES) {
      const v = readNumber(`${THP_DIR}/${dir}/stats/${name}`);
      if (v === null) missing.push(`mthp.${dir}.${name}`);
      else row[name] = v;
    }
    mthp[dir] = row;
  }
  const vmstat: Record<string, number> = {};
  let vm = new Map<string, number>();
  try {
    vm = parseKeyValues(readFileSync("/proc/vmstat", "utf8"), /\s+/);
  } catch {
    // all missing
  }
  for (const name of VMSTAT_NAMES) {
    const v = vm.get(name);
    if (v === undefined || !Number.isFinite(v)) missing.push(`vmstat.${name}`);
    else vmstat[name] = v;
  }
  const meminfo: Record<string, number> = {};
  let mi = new Map<string, number>();
  try {
    mi = parseKeyValues(readFileSync("/proc/meminfo", "utf8"), /\s+/);
  } catch {
    // all missing
  }
  for (const name of MEMINFO_NAMES) {
    const v = mi.get(name);
    if (v === undefined || !Number.isFinite(v)) missing.push(`meminfo.${name}`);
    else meminfo[name] = v;
  }
  return { mthp, vmstat, meminfo, missing };
}

/** after - before for every field present in both. */
export function diffCounters(before: CounterSnapshot, after: CounterSnapshot): CounterSnapshot {
  const sub = (a: Record<string, number>, b: Record<string, number>) => {
    const r: Record<string, number> = {};
    for (const [k, v] of Object.entries(b)) if (a[k] !== undefined) r[k] = v - (a[k] as number);
    return r;
  };
  const mthp: Record<string, Record<string, number>> = {};
  for (const dir of Object.keys(after.mthp)) mthp[dir] = sub(before.mthp[dir] ?? {}, after.mthp[dir] ?? {});
  return {
    mthp,
    vmstat: sub(before.vmstat, after.vmstat),
    meminfo: sub(before.meminfo, after.meminfo),
    missing: [...new Set([...before.missing, ...after.missing])],
  };
}

/** The sysfs file of a knob name: "hugepages-<size>kB" (its enabled) or "hugepages-<size>kB/shmem_enabled". */
export function knobFile(dir: string): string {
  return dir.endsWith("/shmem_enabled") ? `${THP_DIR}/${dir}` : `${THP_DIR}/${dir}/enabled`;
}

/** The bracketed policy of a hugepages-<size>kB/enabled (or .../shmem_enabled) file, or null when it does not exist. */
export function readPolicy(dir: string): string | null {
  try {
    const m = /\[(\w+)\]/.exec(readFileSync(knobFile(dir), "utf8"));
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Write a hugepages-<size>kB/enabled knob (the only file this package ever writes in sysfs). */
export function writePolicy(dir: string, policy: string): void {
  if (!/^hugepages-\d+kB(\/shmem_enabled)?$/.test(dir)) throw new Error(`not an mTHP size directory: ${dir}`);
  writeFileSync(knobFile(dir), policy);
}

/** Every hugepages-<size>kB directory that has an `enabled` knob on this machine. */
export function knobDirs(): string[] {
  try {
    return readdirSync(THP_DIR)
      .filter((d) => /^hugepages-\d+kB$/.test(d) && existsSync(`${THP_DIR}/${d}/enabled`))
      .sort((a, b) => Number.parseInt(a.slice(10), 10) - Number.parseInt(b.slice(10), 10));
  } catch {
    return [];
  }
}
