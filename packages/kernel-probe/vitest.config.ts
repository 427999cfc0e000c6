import { defineProject } from "vitest/config";

export default defineProject({
  // Kernel runs change system-wide mTHP knobs; the runner serialises them with a lock file, and the
  // files run one after another so they do not wait on each other's lock and time out.
  test: {
    name: "kernel-probe",
    include: ["src/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
