import { defineConfig } from "vitest/config";
import { RELAXED_SIMD_PROBE } from "./src/wasm/probe.ts";

// Node 20 compiles relaxed SIMD only behind a V8 flag; Node 22+ has it. Pass the flag to the test
// workers only where it is needed, so the relaxed-simd build is tested on every runtime here.
const relaxedFlag = WebAssembly.validate(RELAXED_SIMD_PROBE) ? [] : ["--experimental-wasm-relaxed-simd"];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    execArgv: relaxedFlag,
    testTimeout: 60_000,
  },
});
