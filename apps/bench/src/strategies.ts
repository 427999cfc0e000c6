/**
 * Finding and loading zap strategies: the @foliolab/strategy-* packages installed next to the
 * bench, a file path, or any installed package name. A module's default export is used, or its
 * named exports that look like a ZapStrategy; "path#exportName" picks one export.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ZapStrategy } from "@foliolab/core";

/** Preferred column order: the baseline first, then the repo's strategies in history order. */
export const BASELINE = "per-page";
const PREFERRED = ["per-page", "batched-anon", "contig-range", "folio-batch"];

export interface StrategyRef {
  /** What the user typed (or the discovered package name). */
  spec: string;
  /** How it was found. */
  source: "builtin" | "path" | "package";
  /** Module URL to import (same in every worker). */
  url: string;
  /** Export name to take ("default" or a named export); undefined = pick automatically. */
  exportName: string | undefined;
  /** Package name and version when known. */
  packageName?: string;
  version?: string;
}

/** A strategy as the main process knows it: loaded (and checked) in a worker, never imported here. */
export interface StrategyInfo {
  name: string;
  description: string;
  ref: StrategyRef;
  /** The export the strategy came from (so workers take the same one). */
  exportName: string;
}

export interface LoadedStrategy extends StrategyInfo {
  strategy: ZapStrategy;
}

export interface StrategyFailure {
  /** The strategy's name if it got that far, else the spec. */
  name: string;
  spec: string;
  kind: "load";
  message: string;
  /** The author's stack when their module threw at import. */
  stack?: string;
}

/** The hooks a strategy may give; each one it leaves out is core's v6.5 building block. */
const HOOKS = ["zapPresentPtes", "startPteTable", "flushRmaps", "releaseGathered", "reclaimUnmapBatch"] as const;

export function isZapStrategy(v: unknown): v is ZapStrategy {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as ZapStrategy).name === "string" &&
    (v as ZapStrategy).name.length > 0 &&
    HOOKS.every((h) => (v as ZapStrategy)[h] === undefined || typeof (v as ZapStrategy)[h] === "function")
  );
}

function requireFrom(dir: string): NodeRequire {
  return createRequire(join(dir, "noop.js"));
}

/** node_modules/@foliolab directories visible from the bench and from cwd. */
function foliolabDirs(cwd: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const paths = [...(requireFrom(dirname(new URL(import.meta.url).pathname)).resolve.paths("x") ?? [])];
  paths.push(...(requireFrom(cwd).resolve.paths("x") ?? []));
  for (const p of paths) {
    const d = join(p, "@foliolab");
    if (!seen.has(d) && existsSync(d)) {
      seen.add(d);
      out.push(d);
    }
  }
  return out;
}

function readPkg(dir: string): { name?: string; version?: string } {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  } catch {
    return {};
  }
}

/** Resolve a package's entry module to a URL, from cwd first, then from the bench. */
function resolvePackage(name: string, cwd: string): { url: string; version?: string } | undefined {
  for (const from of [cwd, dirname(new URL(import.meta.url).pathname)]) {
    try {
      const entry = requireFrom(from).resolve(name);
      let version: string | undefined;
      try {
        const pkgJson = requireFrom(from).resolve(`${name}/package.json`);
        version = readPkg(dirname(pkgJson)).version;
      } catch {
        version = undefined;
      }
      return version === undefined ? { url: pathToFileURL(entry).href } : { url: pathToFileURL(entry).href, version };
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** The repo's strategy packages: @foliolab/strategy-<name>, baseline first. */
export function discoverBuiltins(cwd = process.cwd()): Array<{ name: string; packageName: string }> {
  const names = new Set<string>();
  for (const d of foliolabDirs(cwd)) {
    for (const e of readdirSync(d)) if (e.startsWith("strategy-")) names.add(e.slice("strategy-".length));
  }
  const rank = (n: string) => {
    const i = PREFERRED.indexOf(n);
    return i < 0 ? PREFERRED.length : i;
  };
  return [...names]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((name) => ({ name, packageName: `@foliolab/strategy-${name}` }));
}

function looksLikePath(spec: string): boolean {
  return (
    spec.startsWith(".") ||
    isAbsolute(spec) ||
    /\.(c|m)?js$/.test(spec) ||
    /\.(c|m)?ts$/.test(spec) ||
    (spec.includes("/") && !spec.startsWith("@") && existsSync(spec))
  );
}

/** Turn a --strategy value into something importable, or throw a message naming it. */
export function resolveStrategySpec(input: string, cwd = process.cwd()): StrategyRef {
  const hash = input.lastIndexOf("#");
  const spec = hash > 0 ? input.slice(0, hash) : input;
  const exportName = hash > 0 ? input.slice(hash + 1) : undefined;
  if (looksLikePath(spec)) {
    const abs = resolve(cwd, spec);
    if (!existsSync(abs)) throw new Error(`no such file: ${abs}`);
    return { spec: input, source: "path", url: pathToFileURL(abs).href, exportName };
  }
  const builtin = discoverBuiltins(cwd).find((b) => b.name === spec || b.packageName === spec);
  const pkgName = builtin ? builtin.packageName : spec;
  const r = resolvePackage(pkgName, cwd);
  if (!r) {
    const known = discoverBuiltins(cwd)
      .map((b) => b.name)
      .join(", ");
    throw new Error(
      `cannot find strategy "${spec}": not a file, not one of the repo's strategies (${known}), not an installed package`,
    );
  }
  const ref: StrategyRef = { spec: input, source: builtin ? "builtin" : "package", url: r.url, exportName, packageName: pkgName };
  if (r.version !== undefined) ref.version = r.version;
  return ref;
}

/** Import a module and take its strategies. Throws with a message that names the spec. */
export async function importStrategies(ref: StrategyRef): Promise<LoadedStrategy[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref.url)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`failed to load: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  const pick = (exportName: string): LoadedStrategy => {
    const s = mod[exportName] as ZapStrategy;
    return { name: s.name, description: s.description ?? "", ref, exportName, strategy: s };
  };
  if (ref.exportName !== undefined) {
    if (!isZapStrategy(mod[ref.exportName])) throw new Error(`export "${ref.exportName}" is not a ZapStrategy`);
    return [pick(ref.exportName)];
  }
  if (isZapStrategy(mod.default)) return [pick("default")];
  const seen = new Set<unknown>();
  const out: LoadedStrategy[] = [];
  for (const [k, v] of Object.entries(mod)) {
    if (k === "default" || !isZapStrategy(v) || seen.has(v)) continue;
    seen.add(v);
    out.push(pick(k));
  }
  if (out.length === 0) {
    throw new Error(
      "the module exports no ZapStrategy (an object with name, zapPresentPtes() and releaseGathered(), as default or named export)",
    );
  }
  return out;
}

/** Take one strategy out of a module again (in a worker), by the export recorded in the main thread. */
export async function importOne(url: string, exportName: string): Promise<ZapStrategy> {
  const mod = (await import(url)) as Record<string, unknown>;
  const s = mod[exportName];
  if (!isZapStrategy(s)) throw new Error(`export "${exportName}" of ${url} is not a ZapStrategy`);
  return s;
}

/**
 * Load the strategies a run asks for (or every builtin). Failures are collected, named, and
 * do not stop the others from loading.
 */
export async function loadStrategies(
  specs: readonly string[] | undefined,
  cwd = process.cwd(),
): Promise<{ loaded: LoadedStrategy[]; failures: StrategyFailure[] }> {
  const wanted = specs && specs.length > 0 ? specs.flatMap((s) => s.split(",")).filter((s) => s.trim() !== "") : undefined;
  const list = wanted ?? discoverBuiltins(cwd).map((b) => b.name);
  const loaded: LoadedStrategy[] = [];
  const failures: StrategyFailure[] = [];
  for (const raw of list) {
    const spec = raw.trim();
    let ref: StrategyRef;
    try {
      ref = resolveStrategySpec(spec, cwd);
    } catch (e) {
      failures.push({ name: spec, spec, kind: "load", message: (e as Error).message });
      continue;
    }
    try {
      for (const s of await importStrategies(ref)) {
        const dup = loaded.find((l) => l.name === s.name);
        if (dup) {
          failures.push({
            name: s.name,
            spec,
            kind: "load",
            message: `a strategy named "${s.name}" is already loaded from ${dup.ref.spec}; names must be unique`,
          });
          continue;
        }
        loaded.push(s);
      }
    } catch (e) {
      failures.push({ name: spec, spec, kind: "load", message: (e as Error).message });
    }
  }
  return { loaded, failures };
}
