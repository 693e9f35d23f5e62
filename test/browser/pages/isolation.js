// Served twice: with COOP/COEP (cross-origin isolated) and without. Reports what wasm threads will
// rely on: crossOriginIsolated, the SharedArrayBuffer global, and a shared WebAssembly.Memory that a
// module worker writes into with Atomics while this thread waits for it; and that lstm-wasm loads.
import { init, LSTM } from "/dist/index.js";

const out = { isolated: globalThis.crossOriginIsolated, sabGlobal: typeof SharedArrayBuffer === "function" };
try {
  const { backend } = await init();
  out.backend = backend;
  out.finite = Array.from(new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }).forward([[[1, 2]]]).y.data).every(Number.isFinite);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const cells = new Int32Array(memory.buffer);
  const worker = new Worker(new URL("isolation-worker.js", import.meta.url), { type: "module" });
  const waiting = Atomics.waitAsync(cells, 0, 0, 10_000).value; // resolves when the worker notifies
  const reply = new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.onerror = (e) => resolve({ error: e.message }); });
  worker.postMessage({ memory }); // throws DataCloneError when not isolated
  out.worker = await reply;
  out.wait = await waiting;
  out.seen = Atomics.load(cells, 0);
  worker.terminate();
} catch (e) {
  out.error = `${e.name}: ${e.message}`;
}
window.__result = out;
