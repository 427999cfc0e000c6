import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "cross-strategy", include: ["src/**/*.test.ts"], environment: "node" },
});
