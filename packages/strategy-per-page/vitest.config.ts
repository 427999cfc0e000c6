import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "strategy-per-page", include: ["src/**/*.test.ts"], environment: "node" },
});
