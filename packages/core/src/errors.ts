/**
 * Errors a user can act on. None of them should surface as a bare stack trace: each names
 * what was wrong (the op, the field, the invariant, the strategy).
 */

/** A scenario that cannot run: malformed spec, bad range, unsupported op. */
export class ScenarioError extends Error {
  override name = "ScenarioError";
}

/** What an invariant violation is about, for tools that report it. */
export interface ViolationDetail {
  invariant: InvariantName;
  pfn: number;
  folio: number;
  op: string;
  strategy: string;
  detail: string;
}

export const INVARIANTS = {
  "refcount>=mapcount": "every folio holds at least one reference per mapping (refcount >= mapcount)",
  "tlb-flush-before-free": "no folio is freed while a stale TLB translation to it may exist",
  "no-lost-write": "a dirty shared file folio is marked dirty, TLB-flushed, and only then removed from the rmap",
  "no-use-after-free": "no freed folio is reachable from a PTE, a gather batch or the split queue",
  "mapcount-matches-page-tables": "per-page and folio mapcounts equal the mappings in page tables",
  "rss-matches-page-tables": "each process's RSS counters equal the pages its page tables map",
  "deferred-split-queue":
    "the deferred split queue holds only anon large folios that are partially mapped (or PMD THPs queued as underused candidates)",
  "page-cache-refs": "every folio in the page cache is allocated and holds the cache's reference on top of one per mapping",
  "strategy-contract":
    "a strategy consumes at least one PTE, stays inside the range it was given and the folio it names, and gathers nothing into a full mmu_gather",
} as const;
export type InvariantName = keyof typeof INVARIANTS;

/** An invariant of the model broke: names the invariant, pfn, folio, operation and strategy. */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
  constructor(readonly violation: ViolationDetail) {
    super(
      `invariant "${violation.invariant}" violated: ${violation.detail} ` +
        `(pfn ${violation.pfn}, folio ${violation.folio}, op ${violation.op}, strategy ${violation.strategy})`,
    );
  }
}

/**
 * A bug of the model itself (a TypeError, a RangeError, ... thrown by core's own code, not a
 * strategy's hook): reported as core's, with the original error as `cause` and its stack.
 */
export class InternalError extends Error {
  override name = "InternalError";
  constructor(op: string, cause: unknown) {
    const inner = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`internal error in @foliolab/core during ${op} (a bug of the model, please report it): ${inner}`, { cause });
    if (cause instanceof Error && cause.stack)
      this.stack = `${this.name}: ${this.message}\n${cause.stack.split("\n").slice(1).join("\n")}`;
  }
}

/**
 * The folder of the @foliolab/core package (src/ runs under its own tests, dist/ when built,
 * src/ again through dist's source maps): a frame in it is core's own code.
 */
const CORE_ROOT = ((): string => {
  try {
    return filePath(new URL("..", import.meta.url).href);
  } catch {
    return "";
  }
})();

function filePath(location: string): string {
  const path = location.startsWith("file://") ? location.slice("file://".length) : location;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** A stack frame's location: "    at fn (file:///x.js:1:2)" or "    at /x.js:1:2". */
const FRAME = /^\s+at (?:.*? \()?(.+?):\d+:\d+\)?$/;

/**
 * True when `e` was thrown by core's own code: the top frame of its stack that names a file (not
 * a builtin, not node's internals) lies in the @foliolab/core package and is not one of its
 * tests. A strategy's own error, or an error without a stack, is not core's.
 */
export function thrownByCore(e: unknown): boolean {
  // Not `instanceof Error`: an error of another realm (node:vm) has a stack too.
  const stack = typeof e === "object" && e !== null ? (e as { stack?: unknown }).stack : undefined;
  if (typeof stack !== "string" || CORE_ROOT === "") return false;
  for (const line of stack.split("\n").slice(1)) {
    const m = FRAME.exec(line);
    if (!m?.[1] || m[1].startsWith("node:")) continue;
    const file = filePath(m[1]);
    return file.startsWith(CORE_ROOT) && !/\.test\.[cm]?[jt]s$/.test(file);
  }
  return false;
}

/** Errors of the domain: what a scenario, an invariant or a strategy did, never a core bug. */
export function isDomainError(e: unknown): e is ScenarioError | InvariantViolation | StrategyError {
  return e instanceof ScenarioError || e instanceof InvariantViolation || e instanceof StrategyError;
}

/**
 * A strategy misbehaved in a way that is not an mm invariant (threw, bad return value). When
 * the strategy threw, `cause` is the author's original error, with the stack of their code.
 */
export class StrategyError extends Error {
  override name = "StrategyError";
  constructor(
    readonly strategy: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`strategy "${strategy}": ${message}`, options);
  }
}
