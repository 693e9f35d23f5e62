// Served with Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'. The embedded build
// and a separately fetched .wasm (init({ wasm: url })) must both work.
import { init, LSTM } from "/dist/index.js";

const violations = [];
document.addEventListener("securitypolicyviolation", (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
try {
  const embedded = await init({ backend: "simd" });
  const a = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }).forward([[[1, 2]]]).y.data;
  const fetched = await init({ backend: "simd", wasm: new URL("/dist/wasm/simd.wasm", location.href) });
  const b = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }).forward([[[1, 2]]]).y.data;
  window.__result = { embedded: embedded.backend, fetched: fetched.backend, same: a.every((v, i) => v === b[i]), violations };
} catch (e) {
  window.__result = { error: String(e), violations };
}
