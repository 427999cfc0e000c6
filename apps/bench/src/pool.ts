/**
 * The worker pool every benchmark cell runs in (tinypool, child processes): one process per
 * job, reused from cell to cell. A task that outlives its time limit, or a run that is
 * interrupted, has its process killed; a process that exits without answering is reported as
 * such. The main process never runs strategy code, so it stays responsive to Ctrl-C.
 */

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Tinypool } from "tinypool";
import type { WorkerResult, WorkerTask } from "./worker.js";

/** Where the built worker is: next to this module in dist/, or dist/ of the package when running from src/. */
export function workerFile(): string {
  const here = new URL(".", import.meta.url);
  const candidates = [new URL("./worker.js", here), new URL("../dist/worker.js", here)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `the benchmark's worker module is missing (${fileURLToPath(candidates[1] as URL)}): build first (npx --no-install turbo run build)`,
  );
}

/** Why a task came back without a result. */
export type TaskFailure = { failure: "timeout" | "exit" | "interrupted" | "refused"; message: string };

export class CellPool {
  private readonly pool: Tinypool;
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(readonly jobs: number) {
    const n = Math.max(1, jobs);
    this.free = n;
    // As many processes as jobs, kept (a dead or stopped one is replaced), and never more
    // tasks in flight than processes: a task's time limit runs from its start, not its queueing.
    this.pool = new Tinypool({
      filename: workerFile(),
      runtime: "child_process",
      minThreads: n,
      maxThreads: n,
      // tinypool hands a child process only the env it is given: pass ours (NODE_OPTIONS, paths, ...).
      env: { ...process.env } as Record<string, string>,
    });
  }

  private async acquire(signal?: AbortSignal): Promise<boolean> {
    while (this.free === 0) await new Promise<void>((res) => this.waiting.push(res));
    if (signal?.aborted) {
      // pass the free slot on
      this.waiting.shift()?.();
      return false;
    }
    this.free--;
    return true;
  }

  private release(): void {
    this.free++;
    this.waiting.shift()?.();
  }

  /**
   * Run one task with a time limit (from when a worker takes it); never rejects. `gate`, asked
   * when a worker is free for the task, can still refuse it with a reason.
   */
  async run(
    task: WorkerTask,
    timeoutMs: number,
    signal?: AbortSignal,
    gate?: () => string | undefined,
  ): Promise<WorkerResult | TaskFailure> {
    if (signal?.aborted || !(await this.acquire(signal)))
      return { failure: "interrupted", message: "interrupted before it started" };
    try {
      const refused = gate?.();
      if (refused !== undefined) return { failure: "refused", message: refused };
      return await this.runNow(task, timeoutMs, signal);
    } finally {
      this.release();
    }
  }

  private async runNow(task: WorkerTask, timeoutMs: number, signal?: AbortSignal): Promise<WorkerResult | TaskFailure> {
    if (signal?.aborted) return { failure: "interrupted", message: "interrupted before it started" };
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    try {
      return (await this.pool.run(task, { signal: both })) as WorkerResult;
    } catch (e) {
      if (signal?.aborted) return { failure: "interrupted", message: "interrupted (the worker was stopped)" };
      if (timeout.signal.aborted)
        return { failure: "timeout", message: `timed out after ${timeoutMs / 1000} s (the worker was stopped)` };
      const m = (e as Error)?.message ?? String(e);
      return {
        failure: "exit",
        message:
          m === "Worker exited unexpectedly"
            ? "the worker exited without a result (the strategy called process.exit() or crashed the process)"
            : `the worker failed: ${m}`,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

export function isFailure(r: WorkerResult | TaskFailure): r is TaskFailure {
  return (r as TaskFailure).failure !== undefined;
}
