import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "strategy-folio-batch", include: ["src/**/*.test.ts"], environment: "node" },
});
