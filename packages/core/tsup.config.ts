import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", strategy: "src/strategy-api.ts", internals: "src/internals.ts" },
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
});
