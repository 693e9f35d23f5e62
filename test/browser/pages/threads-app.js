// Bundled by esbuild at test time (test/browser.test.ts) from the library's source, so the test can
// lower the work threshold and split even the golden fixtures' small layers. Its pool workers load
// this very bundle (a same-origin script), where the library stops the rest of it from running.
// Every fixture is run on 1, 2 and 3 threads: the results must be bit-identical, and within the
// fixtures' tolerances of PyTorch's.
import { init, LSTM } from "../../../src/index.ts";
import { backend } from "../../../src/wasm/backend.ts";

const files = new URLSearchParams(location.search).get("files").split(",").filter((f) => f.startsWith("lstm_"));
const TOL = { out: [1e-5, 1e-4], grad: [1e-4, 1e-3] };
const flat = (v) => (Array.isArray(v) ? v.flatMap(flat) : [v]);

function runFixture(fx) {
  const c = fx.config;
  const lstm = new LSTM({ inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, bidirectional: c.bidirectional, projSize: c.projSize, peephole: c.peephole, seed: 1 });
  lstm.loadStateDict(fx.weights);
  const out = lstm.forward(fx.inputs.x, { h0: fx.inputs.h0, c0: fx.inputs.c0, lengths: c.lengths, train: true });
  const back = lstm.backward({ dy: fx.loss.R, dhn: fx.loss.Rh, dcn: fx.loss.Rc });
  const res = { y: out.y.data, hn: out.hn.data, cn: out.cn.data, dx: back.dx.data, dh0: back.dh0.data, dc0: back.dc0.data };
  for (const [k, t] of Object.entries(lstm.grads())) res[`d${k}`] = t.data;
  lstm.dispose();
  return res;
}
const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

async function run() {
  const fixtures = await Promise.all(files.map(async (f) => (await fetch(`/test/fixtures/${f}`)).json()));
  const failures = [], runs = {};
  for (const n of [1, 2, 3]) {
    const r = await init({ backend: "simd", threads: n });
    if (r.threads !== n) return { error: `init({ threads: ${n} }) gave ${JSON.stringify(r)}` };
    if (n > 1) { backend().minThreadWork = 0; backend().minCallWork = 0; }
    runs[n] = fixtures.map(runFixture);
  }
  let checks = 0;
  fixtures.forEach((fx, i) => {
    const one = runs[1][i];
    for (const k of Object.keys(one)) {
      for (const n of [2, 3]) { if (bits(runs[n][i][k]).join() !== bits(one[k]).join()) failures.push(`${files[i]} ${k}: ${n} threads differ from 1`); checks++; }
    }
    const want = { y: fx.outputs.y, hn: fx.outputs.hn, cn: fx.outputs.cn, dx: fx.grads.x, dh0: fx.grads.h0, dc0: fx.grads.c0 };
    for (const k of Object.keys(fx.weights)) want[`d${k}`] = fx.grads[k];
    for (const [k, e] of Object.entries(want)) {
      const [atol, rtol] = k === "y" || k === "hn" || k === "cn" ? TOL.out : TOL.grad, got = runs[2][i][k], ev = flat(e);
      if (got.length !== ev.length || ev.some((v, j) => !(Math.abs(got[j] - v) <= atol + rtol * Math.abs(v)))) failures.push(`${files[i]} ${k}: not PyTorch's`);
      checks++;
    }
  });
  return { isolated: crossOriginIsolated, checks, failures };
}

run().then((r) => { window.__result = r; }, (e) => { window.__result = { error: String(e && e.stack || e) }; });
