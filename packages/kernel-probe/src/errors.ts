/** Raised when the real kernel cannot be used at all (not Linux, no C compiler, runner failure). */
export class KernelProbeError extends Error {
  override name = "KernelProbeError";
}
