// The builds every kernel test runs on. The vitest config gives the workers relaxed SIMD
// (a flag on Node 20), so all three are expected here; test/init.test.ts asserts that.
import { init, detectBackend, type BackendName } from "../../src/index";

export const BUILDS: BackendName[] =
  detectBackend() === "relaxed-simd" ? ["scalar", "simd", "relaxed-simd"] : ["scalar", "simd"];

/** Make `b` the backend for models created next. */
export async function use(b: BackendName): Promise<void> {
  const { backend } = await init({ backend: b });
  if (backend !== b) throw new Error(`init({ backend: '${b}' }) gave '${backend}'`);
}
