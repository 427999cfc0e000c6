/**
 * One exit-code scheme for every command, and the errors that carry one.
 */

/**
 * Exit codes of every foliolab command. 0: done, nothing failed. 1: a run failed, a strategy
 * failed to load, a mismatch (the kernel against the model, a changed metric with
 * --fail-on-change). 2: bad usage or bad input (an unknown flag, a malformed value, a scenario
 * file that is not a valid scenario). 3: the kernel cannot be used on this machine. 130:
 * interrupted (Ctrl-C, SIGTERM).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  kernelUnusable: 3,
  interrupted: 130,
} as const;

/** The scheme as the `--help` epilogue and the README state it. */
export const EXIT_CODES_HELP = `Exit codes (every command):
  0    done, nothing failed
  1    a run failed, a strategy failed to load, or a mismatch (kernel vs model, --fail-on-change)
  2    bad usage or bad input: an unknown or malformed flag, a scenario that is not valid
  3    the kernel cannot be used on this machine (foliolab kernel)
  130  interrupted (Ctrl-C or SIGTERM); a bench run keeps its finished results`;

/** Bad usage or bad input: the message names the flag or the file and what is wrong (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}
