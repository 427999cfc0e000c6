/** The machine a cost profile is calibrated on: CPU model, kernel release, page size. */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { PAGE } from "./sizes.js";

export interface Machine {
  cpu: string;
  kernel: string;
  pageSize: number;
  /** A name for the profile: linux-<release>-<cpu>-<page size>. */
  name: string;
}

let here: Machine | undefined;

/** CPU model, kernel release and page size of this machine, and the profile name made of them. */
export function machineInfo(cpuinfo?: string, release?: string, pageSize?: number): Machine {
  if (cpuinfo === undefined && release === undefined && pageSize === undefined) {
    here ??= describeMachine(undefined, os.release(), undefined);
    return here;
  }
  return describeMachine(cpuinfo, release ?? os.release(), pageSize);
}

function describeMachine(cpuinfo: string | undefined, release: string, pageSize: number | undefined): Machine {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      text = "";
    }
  }
  const cpu =
    /^(?:model name|Processor|cpu model)\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? (os.cpus()[0]?.model || "unknown-cpu");
  let page = pageSize;
  if (page === undefined) {
    try {
      page = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()) || PAGE;
    } catch {
      page = PAGE;
    }
  }
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/\(r\)|\(tm\)|processor|cpu|\d+-core/g, " ")
      .replace(/[^a-z0-9.]+/g, "-")
      .replace(/^-+|-+$/g, "");
  return { cpu, kernel: release, pageSize: page, name: `linux-${slug(release)}-${slug(cpu)}-${page / 1024}k` };
}
