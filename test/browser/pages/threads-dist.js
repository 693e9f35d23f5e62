// The unbundled package (dist/index.js as it is) on two threads: under the strict CSP its pool's
// workers are module Workers of dist/index.js itself (worker-src 'self'). A layer big enough to be
// split gives the bits one thread gives. On a page that is not cross-origin isolated, init() says
// why it stays on one thread.
import { init, LSTM } from "/dist/index.js";

function data(n, seed) { const a = new Float32Array(n); let s = seed; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = s / 2 ** 32 - 0.5; } return a; }
const [T, B, I, H] = [12, 32, 64, 128];

async function run() {
  const x = { data: data(T * B * I, 1), shape: [T, B, I] };
  const results = {};
  for (const n of [1, 2]) {
    const r = await init({ backend: "simd", threads: n });
    results[n] = r;
    const lstm = new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, seed: 3 });
    const out = lstm.forward(x, { train: true });
    const back = lstm.backward({ dy: { data: data(out.y.data.length, 2), shape: out.y.shape } });
    results[`y${n}`] = Array.from(new Uint32Array(out.y.data.buffer)).join();
    results[`dx${n}`] = Array.from(new Uint32Array(back.dx.data.buffer)).join();
    lstm.dispose();
  }
  return { isolated: crossOriginIsolated, one: results[1], two: results[2], sameY: results.y1 === results.y2, sameDx: results.dx1 === results.dx2 };
}

run().then((r) => { window.__result = r; }, (e) => { window.__result = { error: String(e && e.stack || e) }; });
