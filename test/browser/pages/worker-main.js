// The same forward on the main thread and in two module workers running at once must agree bit for bit.
import { init, LSTM } from "/dist/index.js";

const x = Array.from({ length: 6 }, (_, t) => [[Math.sin(t), Math.cos(t), t / 6]]);
const { backend } = await init();
const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, seed: 3 });
const main = Array.from(lstm.forward(x).y.data);
const run = () => new Promise((resolve) => {
  const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (e) => { resolve(e.data); worker.terminate(); };
  worker.onerror = (e) => resolve({ error: e.message });
  worker.postMessage({ x });
});
const [a, b] = await Promise.all([run(), run()]);
window.__result = { backend, main, ...a, second: b.worker, secondError: b.error };
