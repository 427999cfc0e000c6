import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "strategy-batched-anon", include: ["src/**/*.test.ts"], environment: "node" },
});
