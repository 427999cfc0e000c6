/**
 * Probe swap: a scenario with `config.swap` on a machine without swap gets a swap file for the
 * length of the run. As root the probe creates `foliolab-probe-swap-<pid>-<n>` (fallocate,
 * mkswap, swapon; ext4 and xfs take swap files), and removes it after the run (swapoff, unlink),
 * on errors and on SIGINT/SIGTERM too. Swap that is already active is used as it is and never
 * touched. Self-contained: nothing else in the probe knows about swap files.
 */

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statfsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Total size of active swap in bytes, from /proc/swaps (0 when none or unreadable). */
export function activeSwapBytes(text?: string): number {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync("/proc/swaps", "utf8");
    } catch {
      return 0;
    }
  }
  let kb = 0;
  for (const line of t.trim().split("\n").slice(1)) {
    const size = Number(line.trim().split(/\s+/)[2]);
    if (Number.isFinite(size)) kb += size;
  }
  return kb * 1024;
}

export interface ProbeSwap {
  /** "existing": swap was already active; "created": the probe made a file; "none": no swap (see `warning`). */
  kind: "existing" | "created" | "none";
  /** The swap file the probe created. */
  path?: string;
  bytes: number;
  warning?: string;
}

export interface SwapOptions {
  /** Where the swap file goes (a directory on ext4/xfs). Default /var/tmp, else the temp dir. */
  dir?: string;
  /** For tests: run a command (default execFileSync, throwing on failure). */
  exec?: (cmd: string, args: string[]) => void;
  /** For tests: the active swap in bytes (default /proc/swaps). */
  active?: () => number;
  /** For tests: are we root. */
  root?: boolean;
}

const MIB = 1 << 20;
let serial = 0;
const created = new Set<string>();
let handlersOn = false;

function defaultExec(cmd: string, args: string[]): void {
  execFileSync(cmd, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
  });
}

function removeSwapFile(file: string, exec: SwapOptions["exec"] = defaultExec): string | undefined {
  let problem: string | undefined;
  try {
    exec("swapoff", [file]);
  } catch (e) {
    problem = `could not swapoff ${file}: ${(e as Error).message.split("\n")[0]}`;
  }
  rmSync(file, { force: true });
  created.delete(file);
  if (created.size === 0) uninstall();
  return problem;
}

function onSignal(sig: NodeJS.Signals): void {
  for (const f of [...created]) removeSwapFile(f);
  uninstall();
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function install(): void {
  if (handlersOn) return;
  handlersOn = true;
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

function uninstall(): void {
  if (!handlersOn) return;
  handlersOn = false;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
}

function swapDir(opt?: string): string {
  if (opt) return opt;
  return existsSync("/var/tmp") ? "/var/tmp" : os.tmpdir();
}

/**
 * Make sure `bytes` of swap are active: use what is there, or (root) create a swap file of
 * `bytes` plus 16 MiB. Returns what was done; `release()` undoes it (only what this call made).
 */
export function acquireProbeSwap(bytes: number, o: SwapOptions = {}): ProbeSwap & { release: () => string | undefined } {
  const exec = o.exec ?? defaultExec;
  const have = (o.active ?? activeSwapBytes)();
  const noop = () => undefined;
  if (bytes <= 0) return { kind: "none", bytes: 0, release: noop };
  if (have >= bytes) return { kind: "existing", bytes: have, release: noop };
  const root = o.root ?? (typeof process.getuid === "function" && process.getuid() === 0);
  const short = have > 0 ? `only ${Math.round(have / MIB)} MiB of swap is active` : "this machine has no swap";
  if (!root) return { kind: "none", bytes: have, warning: `${short} and a swap file needs root`, release: noop };
  const size = Math.ceil((bytes - have) / MIB) * MIB + 16 * MIB;
  const dir = swapDir(o.dir);
  try {
    const fs = statfsSync(dir);
    if (fs.bavail * fs.bsize < size + 256 * MIB) {
      return {
        kind: "none",
        bytes: have,
        warning: `${short} and ${dir} has no room for a ${size / MIB} MiB swap file`,
        release: noop,
      };
    }
  } catch {
    // statfs not available: try anyway
  }
  const file = path.join(dir, `foliolab-probe-swap-${process.pid}-${serial++}`);
  try {
    exec("fallocate", ["-l", String(size), file]);
    exec("chmod", ["600", file]);
    exec("mkswap", [file]);
    created.add(file);
    install();
    exec("swapon", [file]);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0];
    if (created.has(file)) removeSwapFile(file, exec);
    else rmSync(file, { force: true });
    return {
      kind: "none",
      bytes: have,
      warning: `${short} and a swap file in ${dir} could not be set up: ${msg}`,
      release: noop,
    };
  }
  return { kind: "created", path: file, bytes: have + size, release: () => removeSwapFile(file, exec) };
}

/** Swap files this process created and has not removed yet (tests, diagnostics). */
export function probeSwapFiles(): string[] {
  return [...created];
}
