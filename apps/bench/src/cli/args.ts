/**
 * Parsers of flag values, shared by every command. A malformed value is a commander
 * InvalidArgumentError: commander names the flag, and the command exits 2 (bad usage).
 */

import { resolve } from "node:path";
import { parseSize } from "@foliolab/core";
import { InvalidArgumentError } from "commander";
import { type CostProfile, loadProfile } from "../profile.js";
import { parseFolioList } from "../sizes.js";
import { UsageError } from "./errors.js";

const PAGE = 4096;

/**
 * A repeatable, comma-separated list flag (`-s a,b -s c`). One value per flag occurrence, never
 * variadic, so `run -s per-page x.json` keeps x.json as the scenario. An empty value is refused:
 * `-s ''` would otherwise silently mean "everything".
 */
export function listArg(what: string) {
  return (v: string, prev: string[] | undefined): string[] => {
    const items = v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (items.length === 0) throw new InvalidArgumentError(`empty; name at least one ${what}`);
    return [...(prev ?? []), ...items];
  };
}

/** An integer flag >= min. */
export function intArg(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`"${v}" must be an integer >= ${min}`);
    return n;
  };
}

/** A size flag (core's parseSize: 8M, 1G, 1GiB, bytes), a whole number of 4K pages; 0 only when allowed. */
export function sizeArg(o: { allowZero?: boolean } = {}) {
  return (v: string): number => {
    const n = parseSize(v);
    if (n === null || (!o.allowZero && n === 0) || n % PAGE !== 0)
      throw new InvalidArgumentError(
        `"${v}" is not a size like 8M or 1G (a whole number of 4K pages${o.allowZero ? ", or 0" : ""})`,
      );
    return n;
  };
}

/** One folio size (`-f 64K`; 2M means 2M-PTE; `mixed` for the workloads that have that cell). */
export function folioArg(v: string): string {
  if (v.trim().toLowerCase() === "mixed") return "mixed";
  let ids: string[];
  try {
    ids = parseFolioList([v]);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--folio: /, ""));
  }
  if (ids.length === 0) throw new InvalidArgumentError("empty; name a folio size such as 64K");
  return ids[0] as string;
}

/** A folio-size list (`-f 64K,2M`, repeatable). */
export function folioListArg(v: string, prev: string[] | undefined): string[] {
  let ids: string[];
  try {
    ids = parseFolioList([v]);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--folio: /, ""));
  }
  if (ids.length === 0) throw new InvalidArgumentError("empty; name at least one folio size such as 64K");
  return parseFolioList([...(prev ?? []), ...ids]);
}

/** --profile: the cost profile over the default one; a file that cannot be read or parsed is bad input. */
export function profileFlag(cwd: string, path: string | undefined): CostProfile {
  try {
    return loadProfile(path === undefined ? undefined : resolve(cwd, path));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
