import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "strategy-contig-range", include: ["src/**/*.test.ts"], environment: "node" },
});
