// Interop with real PyTorch (Debian's python3-torch), run by `npm run test:pytorch` and CI:
//  1. a model saved by lstm-wasm loads, strictly, into torch.nn.LSTM + torch.nn.Linear and gives
//     the same outputs;
//  2. a torch.nn.LSTM (2 layers, bidirectional, proj_size) saved as safetensors loads here with
//     LSTM.fromStateDict(readSafetensors(bytes)) and gives the same outputs.
// Exits non-zero on any difference above 1e-5.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { init, LSTM, Linear, Sequential, readSafetensors } from "../../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const py = (...args) => execFileSync(process.env.PYTHON ?? "/usr/bin/python3", [join(here, "interop.py"), ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "lstm-wasm-torch-"));
const TOL = 1e-5;
let failed = false;
const report = (label, diff) => {
  const ok = diff <= TOL;
  failed ||= !ok;
  console.log(`${ok ? "ok  " : "FAIL"} ${label}: max |Δ| = ${diff.toExponential(2)}`);
};

await init();

// 1. lstm-wasm → PyTorch
const N = 3, T = 5, I = 4;
const model = new Sequential([
  new LSTM({ inputSize: I, hiddenSize: 6, numLayers: 2, bidirectional: true, projSize: 3, seed: 5 }),
  new Linear({ inputSize: 6, outputSize: 2, seed: 6 }),
]);
const x = Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => Array.from({ length: I }, (_, i) => Math.sin(1 + n * 7 + t * 3 + i))));
const pred = model.predict(x);
const xt = x[0].map((_, t) => x.map((row) => row[t])); // [T,N,I]
const { y } = model.lstm.forward(xt);
const nest = (a, shape) => shape.length === 1 ? Array.from(a) : Array.from({ length: shape[0] }, (_, k) => nest(a.subarray(k * a.length / shape[0], (k + 1) * a.length / shape[0]), shape.slice(1)));
writeFileSync(join(dir, "ours.safetensors"), model.save());
writeFileSync(join(dir, "case.json"), JSON.stringify({ x, y: nest(y.data, y.shape), pred: nest(pred.data, pred.shape) }));
const d1 = JSON.parse(py("check", join(dir, "ours.safetensors"), join(dir, "case.json")));
report("lstm-wasm model in torch.nn.LSTM: y", d1.y);
report("lstm-wasm model in torch.nn.Linear head: prediction", d1.pred);

// 2. PyTorch → lstm-wasm
py("export", join(dir, "torch.safetensors"), join(dir, "torch.json"));
const ref = JSON.parse(readFileSync(join(dir, "torch.json"), "utf8"));
const lstm = LSTM.fromStateDict(readSafetensors(readFileSync(join(dir, "torch.safetensors"))));
const out = lstm.forward(ref.x, { h0: undefined });
const flat = (v) => (Array.isArray(v) ? v.flatMap(flat) : [v]);
const diff = (a, b) => { const e = flat(b); let m = 0; a.forEach((v, k) => { m = Math.max(m, Math.abs(v - e[k])); }); return a.length === e.length ? m : Infinity; };
report("torch.nn.LSTM file in lstm-wasm: y", diff(out.y.data, ref.y));
report("torch.nn.LSTM file in lstm-wasm: hn", diff(out.hn.data, ref.hn));
report("torch.nn.LSTM file in lstm-wasm: cn", diff(out.cn.data, ref.cn));
console.log(`config read off the names and shapes: ${JSON.stringify(lstm.config)}`);
process.exit(failed ? 1 : 0);
