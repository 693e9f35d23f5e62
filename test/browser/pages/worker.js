import { init, LSTM } from "/dist/index.js";

self.onmessage = async (e) => {
  try {
    const { backend } = await init();
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, seed: 3 });
    self.postMessage({ workerBackend: backend, worker: Array.from(lstm.forward(e.data.x).y.data) });
  } catch (err) {
    self.postMessage({ error: String(err) });
  }
};
