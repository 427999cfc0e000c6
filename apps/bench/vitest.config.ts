import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "bench",
    include: ["src/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    // A profile `foliolab calibrate --install` put on this machine must not change what the tests see.
    env: { FOLIOLAB_PROFILE_DIR: "/nonexistent/foliolab-test-profiles" },
  },
});
