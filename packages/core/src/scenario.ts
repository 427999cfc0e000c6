/**
 * The scenario format: one JSON input for the model, the benchmark and the real-kernel probe.
 * Parsing is strict: unknown ops or fields, sizes that are not multiples of 4K, ranges outside
 * a mapping, unknown procs or ids all fail with an error naming the op index and the field.
 */

import { z } from "zod";
import { ScenarioError } from "./errors.js";
import { PAGE_SIZE, parseSize, sizeNameToOrder } from "./units.js";

const sizeLike = z.union([z.string(), z.number()]);
const proc = z.string().min(1).optional();

const mthpPolicy = z.enum(["always", "madvise", "never"]);
const shmemPolicy = z.enum(["always", "within_size", "advise", "never", "inherit"]);

export const configSchema = z
  .object({
    arch: z.enum(["x86_64", "s390"]).optional(),
    mthp: z.record(z.string(), mthpPolicy).optional(),
    /** hugepages-<size>kB/shmem_enabled per size; sizes not named are "never". */
    shmem: z.record(z.string(), shmemPolicy).optional(),
    swap: sizeLike.optional(),
    invariants: z.boolean().optional(),
    memory: sizeLike.optional(),
  })
  .strict();

const rangeFields = {
  id: z.string().min(1),
  offset: sizeLike.optional(),
  length: sizeLike.optional(),
};

const opSchemas = [
  z
    .object({
      op: z.literal("mmap"),
      proc,
      id: z.string().min(1),
      size: sizeLike,
      kind: z.enum(["anon", "file-private", "file-shared", "shmem"]),
      /**
       * A named file (file kinds): every mmap of the same name, from any proc, maps the same file
       * and finds its page cache; the first one's size is the file's size.
       */
      file: z.string().optional(),
      align: sizeLike.optional(),
      locked: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal("madvise"),
      proc,
      ...rangeFields,
      stride: sizeLike.optional(),
      advice: z.enum(["hugepage", "nohugepage", "dontneed", "free", "cold", "pageout", "dontfork", "dofork", "random", "normal"]),
    })
    .strict(),
  z
    .object({
      op: z.literal("write"),
      proc,
      ...rangeFields,
      stride: sizeLike.optional(),
      value: z.number().int().min(0).max(0xffffffff).optional(),
    })
    .strict(),
  z.object({ op: z.literal("read"), proc, ...rangeFields, stride: sizeLike.optional() }).strict(),
  z.object({ op: z.literal("fork"), proc, as: z.string().min(1) }).strict(),
  z.object({ op: z.literal("exit"), proc }).strict(),
  z.object({ op: z.literal("munmap"), proc, ...rangeFields, stride: sizeLike.optional() }).strict(),
  z
    .object({ op: z.literal("mprotect"), proc, ...rangeFields, stride: sizeLike.optional(), prot: z.enum(["r", "rw", "none"]) })
    .strict(),
  z
    .object({ op: z.literal("mremap"), proc, id: z.string().min(1), offset: sizeLike, length: sizeLike, to: z.string().min(1) })
    .strict(),
  z
    .object({
      op: z.literal("pin"),
      proc,
      id: z.string().min(1),
      offset: sizeLike.optional(),
      length: sizeLike.optional(),
      write: z.boolean().optional(),
    })
    .strict(),
  z
    .object({ op: z.literal("unpin"), proc, id: z.string().min(1), offset: sizeLike.optional(), length: sizeLike.optional() })
    .strict(),
  z.object({ op: z.literal("reclaim") }).strict(),
  z
    .object({
      op: z.literal("expect"),
      proc,
      id: z.string().min(1).optional(),
      offset: sizeLike.optional(),
      value: z.number().int().min(0).max(0xffffffff).optional(),
      pinned: z.boolean().optional(),
      counters: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
] as const;

export const OP_NAMES = opSchemas.map((s) => s.shape.op.value);

export const opSchema = z.discriminatedUnion("op", opSchemas);

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    config: configSchema.optional(),
    ops: z.array(z.unknown()),
  })
  .strict();

export type ScenarioOp = z.infer<typeof opSchema>;
export type ScenarioConfig = z.infer<typeof configSchema>;
export interface Scenario {
  name: string;
  description?: string | undefined;
  config?: ScenarioConfig | undefined;
  ops: ScenarioOp[];
}

function describeIssue(where: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join(".");
  const field = path ? `field "${path}"` : "";
  if (issue.code === "unrecognized_keys") {
    return `${where}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  if (issue.code === "invalid_union" && issue.path.length === 0) {
    return `${where}: ${issue.message}`;
  }
  return `${where}: ${field ? `${field}: ` : ""}${issue.message}`;
}

/** Check an op's shape, giving "ops[3] (munmap): ..." messages. */
function parseOp(raw: unknown, index: number): ScenarioOp {
  const name = typeof raw === "object" && raw !== null && "op" in raw ? String((raw as { op: unknown }).op) : undefined;
  const where = `ops[${index}]${name ? ` (${name})` : ""}`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ScenarioError(`${where}: an op must be an object`);
  if (name === undefined) throw new ScenarioError(`${where}: missing field "op" (one of ${OP_NAMES.join(", ")})`);
  if (!(OP_NAMES as readonly string[]).includes(name)) {
    throw new ScenarioError(`${where}: unknown op "${name}" (expected one of ${OP_NAMES.join(", ")})`);
  }
  const r = opSchema.safeParse(raw);
  if (!r.success) throw new ScenarioError(r.error.issues.map((i) => describeIssue(where, i)).join("; "));
  return r.data;
}

/** Parse and shape-check a scenario (JSON text or an object). */
export function parseScenario(input: unknown): Scenario {
  let obj = input;
  if (typeof input === "string") {
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new ScenarioError(`scenario is not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = scenarioSchema.safeParse(obj);
  if (!r.success) throw new ScenarioError(r.error.issues.map((i) => describeIssue("scenario", i)).join("; "));
  for (const group of ["mthp", "shmem"] as const) {
    for (const key of Object.keys(r.data.config?.[group] ?? {})) {
      const order = sizeNameToOrder(key);
      if (order === null || order < 2 || order > 9) {
        throw new ScenarioError(
          `config.${group}: unknown folio size "${key}" (expected one of 16K, 32K, 64K, 128K, 256K, 512K, 1M, 2M)`,
        );
      }
    }
  }
  const ops = r.data.ops.map((op, i) => parseOp(op, i));
  return { name: r.data.name, description: r.data.description, config: r.data.config, ops };
}

/** A size field in bytes, checked to be a 4K multiple; `where` names the op and field. */
export function sizeField(value: string | number, where: string, allowZero = false): number {
  const bytes = parseSize(value);
  if (bytes === null) throw new ScenarioError(`${where}: "${value}" is not a size (use bytes or 4K, 64K, 2M, 1G, 1T)`);
  if (bytes % PAGE_SIZE !== 0) throw new ScenarioError(`${where}: ${value} is not a multiple of 4K`);
  if (!allowZero && bytes === 0) throw new ScenarioError(`${where}: must not be zero`);
  return bytes;
}
