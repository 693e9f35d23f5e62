// onnxruntime-node (native CPU provider) and onnxruntime-web (its wasm build, run here in Node),
// both on one thread, running the one-node ONNX LSTM built by ../onnx.mjs with lstm-wasm's weights;
// and onnxruntime-web on n threads (ortWebThreads) for the thread rows.
// Inference only: neither package trains (ONNX Runtime's training API is a separate build).
import { lstmModel } from "../onnx.mjs";

const sessionOptions = (threads) => ({ intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
const SESSION = sessionOptions(1);

function onnxPeer(name, backend, load, options, threads = 1) {
  let ort = null;
  return {
    name,
    backend,
    threads,
    supports: (wl, mode) => (mode === "train" ? "inference only" : true),
    async prepare({ wl, mode, sd, x }) {
      ort ??= await load();
      const { B, T, I, H } = wl;
      const streaming = mode === "step";
      const session = await ort.InferenceSession.create(lstmModel(sd, { inputSize: I, hiddenSize: H, streaming }), options);
      const dispose = () => session.release();
      if (!streaming) {
        const feeds = { X: new ort.Tensor("float32", x, [T, B, I]) };
        const run = () => session.run(feeds);
        const outputs = async () => {
          const r = await run();
          return { y: r.Y.data, hn: r.Y_h.data, cn: r.Y_c.data };
        };
        return { run, outputs, dispose };
      }
      // Streaming: the LSTM node with T = 1, its state carried through initial_h / initial_c.
      const steps = Array.from({ length: T }, (_, t) => new ort.Tensor("float32", x.subarray(t * B * I, (t + 1) * B * I), [1, B, I]));
      const zero = new ort.Tensor("float32", new Float32Array(B * H), [1, B, H]);
      const run = async () => {
        let h = zero, c = zero;
        for (const X of steps) {
          const r = await session.run({ X, initial_h: h, initial_c: c });
          h = r.Y_h;
          c = r.Y_c;
        }
        return h;
      };
      return { run, outputs: async () => ({ hn: (await run()).data }), dispose, stepsPerRun: T };
    },
  };
}

export const ortNode = onnxPeer("onnxruntime-node", "cpu (native)", async () => import("onnxruntime-node"), SESSION);

// onnxruntime-web reads env.wasm.numThreads once, when its first session starts its wasm (with its
// threads: Emscripten pthreads, worker_threads in Node), so one process runs it at one count only.
let webThreads = null;
async function loadWeb(threads) {
  if (webThreads !== null && webThreads !== threads) {
    throw new Error(`onnxruntime-web already runs on ${webThreads} thread(s) in this process; ${threads} needs a fresh process`);
  }
  webThreads = threads;
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = threads; // 1: no worker threads, the single-threaded path
  ort.env.wasm.simd = true; // fixed-width SIMD (the default; the package ships only SIMD builds)
  ort.env.wasm.proxy = false;
  return ort;
}

export const ortWeb = onnxPeer("onnxruntime-web", "wasm simd", () => loadWeb(1), SESSION);

/**
 * onnxruntime-web on `threads` threads: env.wasm.numThreads and the session's intraOpNumThreads both
 * that count (with intraOpNumThreads left at 1 its 2-thread M forward measured slower than 1 thread).
 */
export const ortWebThreads = (threads) => onnxPeer("onnxruntime-web", "wasm simd", () => loadWeb(threads), sessionOptions(threads), threads);
