/**
 * One live runner process: writes command lines, matches the replies by op token.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { KernelProbeError } from "./errors.js";

export interface StatusLine {
  proc: number;
  RssAnon: number;
  RssFile: number;
  VmSwap: number;
  AnonHugePages: number;
  RssShmem: number;
}

export interface Reply {
  ok: boolean;
  ns: number;
  syscalls: number;
  extra: string | undefined;
  message: string;
  statuses: StatusLine[];
  peek: { state: string; value: number } | undefined;
}

export interface KnobLine {
  dir: string;
  original: string | null;
  wanted: string;
  status: string;
}

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class RunnerSession {
  readonly child: ChildProcess;
  readonly knobs: KnobLine[] = [];
  readonly warnings: string[] = [];
  /** Per proc id: what two back-to-back clock reads cost it (the runner takes it off every op time). */
  readonly clockCost = new Map<number, number>();
  mainPid = 0;
  private readonly waiters = new Map<string, Waiter>();
  private readonly statuses = new Map<string, StatusLine[]>();
  private readonly peeks = new Map<string, { state: string; value: number }>();
  private stderr = "";
  private fatal: string | undefined;
  private readyWaiter: Waiter | undefined;
  readonly exited: Promise<number | null>;
  private done = false;

  constructor(bin: string, args: string[], env?: Record<string, string>) {
    this.child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"], ...(env ? { env: { ...process.env, ...env } } : {}) });
    this.child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.stdin?.on("error", () => {
      // the runner went away; its exit handler reports it
    });
    const rl = createInterface({ input: this.child.stdout! });
    rl.on("line", (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.done = true;
        const why = `the kernel-probe runner exited (${signal ?? `code ${code}`})${this.fatal ? `: ${this.fatal}` : ""}${
          this.stderr ? `; stderr: ${this.stderr.trim()}` : ""
        }`;
        for (const [, w] of this.waiters) {
          if (w.timer) clearTimeout(w.timer);
          w.reject(new KernelProbeError(why));
        }
        this.waiters.clear();
        if (this.readyWaiter) this.readyWaiter.reject(new KernelProbeError(why));
        this.readyWaiter = undefined;
        resolve(code);
      });
      this.child.on("error", (e) => {
        this.fatal = e.message;
      });
    });
  }

  get running(): boolean {
    return !this.done;
  }

  private onLine(line: string): void {
    const sp = line.indexOf(" ");
    const tag = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? "" : line.slice(sp + 1);
    switch (tag) {
      case "K": {
        const [dir, orig, wanted, ...statusWords] = rest.split(" ");
        const status = statusWords.join(" ");
        this.knobs.push({
          dir: dir ?? "",
          original: orig === "-" ? null : (orig ?? null),
          wanted: wanted ?? "",
          status,
        });
        return;
      }
      case "W":
        this.warnings.push(rest);
        return;
      case "T": {
        const [proc, ns] = rest.split(" ");
        this.clockCost.set(Number(proc), Number(ns));
        return;
      }
      case "E":
        this.fatal = rest;
        return;
      case "READY":
        this.mainPid = Number(rest);
        this.readyWaiter?.resolve(emptyReply());
        this.readyWaiter = undefined;
        return;
      case "S": {
        const [tok, proc, a, f, s, h, sh] = rest.split(" ");
        const list = this.statuses.get(tok ?? "") ?? [];
        list.push({
          proc: Number(proc),
          RssAnon: Number(a),
          RssFile: Number(f),
          VmSwap: Number(s),
          AnonHugePages: Number(h),
          RssShmem: sh === undefined ? -1 : Number(sh),
        });
        this.statuses.set(tok ?? "", list);
        return;
      }
      case "V": {
        const [tok, state, value] = rest.split(" ");
        this.peeks.set(tok ?? "", { state: state ?? "", value: Number(value) });
        return;
      }
      case "R": {
        const parts = rest.split(" ");
        const tok = parts[0] ?? "";
        const ok = parts[1] === "ok";
        const reply: Reply = {
          ok,
          ns: ok ? Number(parts[2]) : 0,
          syscalls: ok ? Number(parts[3]) : 0,
          extra: ok ? parts[4] : undefined,
          message: ok ? "ok" : parts.slice(2).join(" "),
          statuses: this.statuses.get(tok) ?? [],
          peek: this.peeks.get(tok),
        };
        this.statuses.delete(tok);
        this.peeks.delete(tok);
        const w = this.waiters.get(tok);
        if (w) {
          this.waiters.delete(tok);
          if (w.timer) clearTimeout(w.timer);
          w.resolve(reply);
        }
        return;
      }
      default:
        return;
    }
  }

  private write(text: string): void {
    if (this.done) throw new KernelProbeError(`the kernel-probe runner is not running${this.fatal ? `: ${this.fatal}` : ""}`);
    this.child.stdin!.write(text);
  }

  /** Send the header and wait for READY (the runner may first wait for another run's lock). */
  start(procs: number, knobs: Array<{ dir: string; policy: string }>, timeoutMs: number, swapBytes = 0): Promise<void> {
    const p = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new KernelProbeError(`the kernel-probe runner was not ready after ${timeoutMs} ms (lock held by another run?)`)),
        timeoutMs,
      );
      this.readyWaiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        timer: undefined,
      };
    });
    const swap = swapBytes > 0 ? `swap ${swapBytes}\n` : "";
    // "<dir>/shmem_enabled" knobs go as sknob <dir>.
    const line = (k: { dir: string; policy: string }) =>
      k.dir.endsWith("/shmem_enabled")
        ? `sknob ${k.dir.slice(0, -"/shmem_enabled".length)} ${k.policy}\n`
        : `knob ${k.dir} ${k.policy}\n`;
    this.write(`procs ${procs}\n${knobs.map(line).join("")}${swap}go\n`);
    return p.then(() => undefined);
  }

  /** Send one command to proc `procId` and wait for its R line. */
  request(token: string, procId: number, line: string, timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(new KernelProbeError(`op ${token} (${line}) got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(token, { resolve, reject, timer });
      try {
        this.write(`${token} ${procId} ${line}\n`);
      } catch (e) {
        clearTimeout(timer);
        this.waiters.delete(token);
        reject(e);
      }
    });
  }

  /** Ask the runner to finish (it kills the procs and restores the knobs) and wait for it. */
  async quit(timeoutMs: number): Promise<void> {
    if (this.done) return;
    try {
      this.write("quit\n");
      this.child.stdin!.end();
    } catch {
      // already gone
    }
    await this.waitExit(timeoutMs);
  }

  /** SIGTERM (the runner restores the knobs on it), then SIGKILL if it does not go. */
  async kill(timeoutMs = 5000): Promise<void> {
    if (this.done) return;
    this.child.kill("SIGTERM");
    await this.waitExit(timeoutMs);
  }

  private async waitExit(timeoutMs: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => {
      t = setTimeout(() => r("timeout"), timeoutMs);
    });
    const r = await Promise.race([this.exited, timeout]);
    if (t) clearTimeout(t);
    if (r === "timeout" && !this.done) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

function emptyReply(): Reply {
  return { ok: true, ns: 0, syscalls: 0, extra: undefined, message: "ok", statuses: [], peek: undefined };
}
