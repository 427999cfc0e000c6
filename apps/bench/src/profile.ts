/**
 * Cost profiles: nanoseconds per cost event kind. Modelled time = sum of events x ns.
 * The default profile ships in profiles/default.json with the source of every number, fitted on
 * one machine. A profile `foliolab calibrate --install` fitted on this machine (same CPU model,
 * kernel release and page size) takes its place, since event costs are a machine's; a user
 * profile (--profile file.json) overrides any subset of whichever is the base.
 */

import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { COST_EVENT_KEYS } from "@foliolab/core";
import { machineInfo } from "./machine.js";

export interface CostProfile {
  name: string;
  /** "default", or the path of the file (this machine's installed profile, or the one the user gave). */
  origin: string;
  /** The machine the profile was fitted on (its `machine.name`), when the file says. */
  machine?: string;
  /** The base is this machine's installed calibration (machineProfilePath), not the shipped default. */
  installed?: boolean;
  description: string;
  /** ns per event kind, every kind present. */
  ns: Record<string, number>;
  /** Where each number comes from. */
  sources: Record<string, string>;
  /** Event kinds the user file set (empty for the default). */
  overridden: string[];
  calibration: Array<{
    workload: string;
    folio: string;
    strategy: string;
    targetNsPerPage: number;
    source: string;
    /** Region size, number of kernel samples and their range (ns/page), when calibrate recorded them. */
    size?: number;
    samples?: number;
    minNsPerPage?: number;
    maxNsPerPage?: number;
  }>;
}

interface ProfileFile {
  name?: unknown;
  machine?: unknown;
  description?: unknown;
  calibration?: unknown;
  events?: unknown;
}

export const DEFAULT_PROFILE_PATH = fileURLToPath(new URL("../profiles/default.json", import.meta.url));

function parseProfileFile(text: string, where: string): ProfileFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${where}: a profile is a JSON object`);
  const p = raw as ProfileFile;
  if (typeof p.events !== "object" || p.events === null || Array.isArray(p.events)) {
    throw new Error(`${where}: field "events" must map event kinds to ns (a number or {"ns": number, "source": text})`);
  }
  return p;
}

function eventEntries(p: ProfileFile, where: string): Array<[string, number, string | undefined]> {
  const out: Array<[string, number, string | undefined]> = [];
  for (const [key, v] of Object.entries(p.events as Record<string, unknown>)) {
    if (!COST_EVENT_KEYS.includes(key)) {
      throw new Error(`${where}: unknown event kind "${key}" (known: ${COST_EVENT_KEYS.join(", ")})`);
    }
    let ns: unknown = v;
    let source: string | undefined;
    if (typeof v === "object" && v !== null) {
      ns = (v as { ns?: unknown }).ns;
      const s = (v as { source?: unknown }).source;
      source = typeof s === "string" ? s : undefined;
    }
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
      throw new Error(`${where}: events.${key}: ns must be a non-negative number`);
    }
    out.push([key, ns, source]);
  }
  return out;
}

/**
 * Where `foliolab calibrate --install` writes this machine's profile and the commands look for it:
 * $FOLIOLAB_PROFILE_DIR, else $XDG_CONFIG_HOME/foliolab/profiles (~/.config/foliolab/profiles).
 */
export function machineProfileDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FOLIOLAB_PROFILE_DIR) return resolve(env.FOLIOLAB_PROFILE_DIR);
  return join(env.XDG_CONFIG_HOME || join(os.homedir(), ".config"), "foliolab", "profiles");
}

/** The installed profile of a machine (by its machineInfo() name). */
export function machineProfilePath(machine: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(machineProfileDir(env), `${machine}.json`);
}

function fileMachine(p: ProfileFile): string | undefined {
  const m = p.machine as { name?: unknown } | undefined;
  return typeof m === "object" && m !== null && typeof m.name === "string" ? m.name : undefined;
}

/** A whole profile from a file; kinds it lacks are 0 with a source saying so. */
function fullProfile(p: ProfileFile, where: string, origin: string): CostProfile {
  const ns: Record<string, number> = {};
  const sources: Record<string, string> = {};
  for (const [k, v, s] of eventEntries(p, where)) {
    ns[k] = v;
    sources[k] = s ?? "";
  }
  for (const k of COST_EVENT_KEYS) {
    if (ns[k] === undefined) {
      ns[k] = 0;
      sources[k] = `not in ${where} (core added this event kind later)`;
    }
  }
  const machine = fileMachine(p);
  return {
    name: String(p.name ?? "default"),
    origin,
    ...(machine ? { machine } : {}),
    description: String(p.description ?? ""),
    ns,
    sources,
    overridden: [],
    calibration: Array.isArray(p.calibration) ? (p.calibration as CostProfile["calibration"]) : [],
  };
}

let cachedDefault: CostProfile | undefined;

/** The profile shipped in profiles/default.json. */
export function defaultProfile(): CostProfile {
  if (cachedDefault) return cachedDefault;
  const p = parseProfileFile(readFileSync(DEFAULT_PROFILE_PATH, "utf8"), "default profile");
  cachedDefault = fullProfile(p, "the default profile", "default");
  return cachedDefault;
}

const cachedInstalled = new Map<string, CostProfile>();

/**
 * The profile the commands start from: this machine's installed calibration when there is one
 * (machineProfilePath of machineInfo().name), else the shipped default.
 */
export function baseProfile(env: NodeJS.ProcessEnv = process.env, machine = machineInfo().name): CostProfile {
  const path = machineProfilePath(machine, env);
  if (!existsSync(path)) return defaultProfile();
  const hit = cachedInstalled.get(path);
  if (hit) return hit;
  const where = `this machine's profile ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${where}: cannot read it: ${(e as Error).message}`);
  }
  const base: CostProfile = { ...fullProfile(parseProfileFile(text, where), where, path), installed: true };
  cachedInstalled.set(path, base);
  return base;
}

/** Load a user profile; kinds it does not set keep the default profile's value. */
export function loadProfile(path: string | undefined): CostProfile {
  const base = baseProfile();
  if (path === undefined) return base;
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    throw new Error(`--profile: cannot read ${path}: ${(e as Error).message}`);
  }
  const p = parseProfileFile(text, `--profile ${path}`);
  const ns = { ...base.ns };
  const sources = { ...base.sources };
  const overridden: string[] = [];
  for (const [k, v, s] of eventEntries(p, `--profile ${path}`)) {
    ns[k] = v;
    sources[k] = s ?? `set by ${path}`;
    overridden.push(k);
  }
  const machine = fileMachine(p);
  return {
    name: typeof p.name === "string" ? p.name : path,
    origin: abs,
    ...(machine ? { machine } : {}),
    description: typeof p.description === "string" ? p.description : "",
    ns,
    sources,
    overridden,
    calibration: Array.isArray(p.calibration) ? (p.calibration as CostProfile["calibration"]) : [],
  };
}

/** One line saying which profile is in use. */
export function describeProfile(p: CostProfile): string {
  if (p.origin === "default") return `cost profile: ${p.name} (default, ${DEFAULT_PROFILE_PATH})`;
  if (p.installed) return `cost profile: ${p.name} (this machine's calibration, ${p.origin})`;
  return `cost profile: ${p.name} (${p.origin}; sets ${p.overridden.length} of ${Object.keys(p.ns).length} event kinds, the rest from ${baseProfile().installed ? "this machine's calibration" : "the default"})`;
}

/** Modelled ns of a set of cost events, in total and by kind. */
export function modelledNs(costs: Record<string, number>, p: CostProfile): { total: number; byKind: Record<string, number> } {
  let total = 0;
  const byKind: Record<string, number> = {};
  for (const [k, n] of Object.entries(costs)) {
    const v = n * (p.ns[k] ?? 0);
    if (v !== 0) byKind[k] = v;
    total += v;
  }
  return { total, byKind };
}
