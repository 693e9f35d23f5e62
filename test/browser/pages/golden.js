// Runs the golden fixtures through the built package on one forced backend (?backend=…), with
// the tolerances of test/fixtures/README.md, and leaves the outcome in window.__result.
import { init, LSTM, clipGradNorm, clipGradValue } from "/dist/index.js";

const params = new URLSearchParams(location.search);
const backend = params.get("backend");
const files = params.get("files").split(",");
const TOL = { out: [1e-5, 1e-4], grad: [1e-4, 1e-3] };

const flat = (v) => (Array.isArray(v) ? v.flatMap(flat) : [v]);
function close(label, actual, expected, [atol, rtol], failures) {
  const e = flat(expected);
  if (actual.length !== e.length) { failures.push(`${label}: length ${actual.length} vs ${e.length}`); return; }
  for (let k = 0; k < e.length; k++) {
    if (!(Math.abs(actual[k] - e[k]) <= atol + rtol * Math.abs(e[k]))) { failures.push(`${label}[${k}]: ${actual[k]} vs ${e[k]}`); return; }
  }
}
function clipClose(label, actual, expected, failures) {
  const e = flat(expected), scale = Math.max(...e.map(Math.abs));
  for (let k = 0; k < e.length; k++) {
    const ok = e[k] === 0 ? actual[k] === 0 : Math.abs(actual[k] - e[k]) <= 1e-5 * scale;
    if (!ok) { failures.push(`${label}[${k}]: ${actual[k]} vs ${e[k]}`); return; }
  }
}

async function run() {
  const got = await init({ backend });
  const failures = [];
  let checks = 0;
  for (const file of files) {
    const fx = await (await fetch(`/test/fixtures/${file}`)).json();
    if (fx.format === "clip-golden-v1") {
      const g = Object.fromEntries(Object.entries(fx.grads).map(([k, v]) => [k, Float32Array.from(flat(v))]));
      clipGradNorm(g, fx.maxNorm);
      for (const k of Object.keys(g)) { clipClose(`${file} global ${k}`, g[k], fx.global.result[k], failures); checks++; }
      const h = Object.fromEntries(Object.entries(fx.grads).map(([k, v]) => [k, Float32Array.from(flat(v))]));
      clipGradValue(h, fx.clipValue);
      for (const k of Object.keys(h)) { clipClose(`${file} value ${k}`, h[k], fx.value.result[k], failures); checks++; }
      continue;
    }
    const c = fx.config;
    const lstm = new LSTM({ inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, bidirectional: c.bidirectional, projSize: c.projSize, peephole: c.peephole, seed: 1 });
    lstm.loadStateDict(fx.weights);
    const out = lstm.forward(fx.inputs.x, { h0: fx.inputs.h0, c0: fx.inputs.c0, lengths: c.lengths, train: true });
    for (const k of ["y", "hn", "cn"]) { close(`${file} ${k}`, out[k].data, fx.outputs[k], TOL.out, failures); checks++; }
    const back = lstm.backward({ dy: fx.loss.R, dhn: fx.loss.Rh, dcn: fx.loss.Rc });
    close(`${file} dx`, back.dx.data, fx.grads.x, TOL.grad, failures);
    close(`${file} dh0`, back.dh0.data, fx.grads.h0, TOL.grad, failures);
    close(`${file} dc0`, back.dc0.data, fx.grads.c0, TOL.grad, failures);
    checks += 3;
    const grads = lstm.grads();
    for (const k of Object.keys(fx.weights)) { close(`${file} d${k}`, grads[k].data, fx.grads[k], TOL.grad, failures); checks++; }
    lstm.dispose();
  }
  return { backend: got.backend, checks, failures };
}

run().then((r) => { window.__result = r; document.getElementById("out").textContent = JSON.stringify(r, null, 1); },
  (e) => { window.__result = { error: String(e && e.stack || e) }; });
