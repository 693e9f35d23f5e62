// Interop with real PyTorch (Debian's python3-torch), run by `npm run test:pytorch` and CI.
// Every case is a model both libraries build: a Sequential of named layers here, and a
// torch.nn.Module with the same attribute names there (interop.py), such as
//   embed = nn.Embedding(V, E); lstm = nn.LSTM(E, H, num_layers=2, dropout=0.25, batch_first=True);
//   fc = nn.Linear(H, C); forward: out, _ = lstm(embed(ids)); return fc(out[:, -1])
// and both ways, by name:
//  1. PyTorch -> lstm-wasm: the module's state_dict() as safetensors loads with
//     model.loadStateDict(readSafetensors(bytes)) and predicts what torch predicts in eval mode;
//  2. lstm-wasm -> PyTorch: writeSafetensors(model.stateDict()) (or model.save()) loads with
//     torch's load_state_dict(strict=True), and torch in eval mode reproduces model.predict().
// Also: LSTM dropout (training-only: inference equals a twin without dropout, bit for bit, and torch
// in training mode really differs), bias=False, bidirectional LSTMs, per-step heads, stacked LSTMs,
// packed sequences (predict's lengths), a projection, strict loading both ways, and a bare
// torch.nn.LSTM through LSTM.fromStateDict. On every wasm build the runtime can run; one Python
// process for everything; exits non-zero on any difference above 1e-5 or any failed check.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { init, detectBackend, LSTM, Linear, Embedding, Dropout, Sequential, LSTMError, readSafetensors, writeSafetensors } from "../../dist/index.js";

// Every wasm build is checked: where relaxed SIMD sits behind a flag (Node 20), run under it, as vitest does.
if (detectBackend() !== "relaxed-simd" && !process.env.LSTM_WASM_TORCH_CHILD) {
  const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", fileURLToPath(import.meta.url)], { stdio: "inherit", env: { ...process.env, LSTM_WASM_TORCH_CHILD: "1" } });
  process.exit(r.status ?? 1);
}

const started = performance.now();
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "lstm-wasm-torch-"));
const TOL = 1e-5;
let failed = false;
const worst = { "torch→lstm-wasm": 0, "lstm-wasm→torch": 0 };

// One line per case and build: its two differences and how many checks passed; failures in full.
class Case {
  constructor(label) { this.label = label; this.diffs = []; this.checks = 0; this.failures = []; }
  diff(what, d) {
    this.diffs.push(`${what} ${d.toExponential(2)}`);
    if (what in worst) worst[what] = Math.max(worst[what], d);
    if (!(d <= TOL)) this.failures.push(`${what}: max |Δ| = ${d} > ${TOL}`);
  }
  check(what, ok, detail = "") {
    this.checks++;
    if (!ok) this.failures.push(`${what}${detail ? ` (${detail})` : ""}`);
  }
  end() {
    failed ||= this.failures.length > 0;
    const diffs = this.diffs.length ? `max |Δ| ${this.diffs.join(", ")}; ` : "";
    console.log(`${this.failures.length ? "FAIL" : "ok  "} ${this.label}: ${diffs}${this.checks - this.failures.length}/${this.checks} checks`);
    for (const f of this.failures) console.log(`       FAIL ${f}`);
  }
}

const BUILDS = [];
for (const b of ["relaxed-simd", "simd", "scalar"]) {
  try { await init({ backend: b }); BUILDS.push(b); } catch { console.log(`(the ${b} build is not supported by this runtime: skipped)`); }
}

// ---------------------------------------------------------------- the cases

// Layers as model.save() describes them ({ type, name, config }): interop.py builds torch modules from the same list.
const embed = (V, E, extra = {}) => ({ type: "embedding", name: "embed", config: { numEmbeddings: V, embeddingDim: E, ...extra } });
const lstm = (I, H, extra = {}, name = "lstm") => ({ type: "lstm", name, config: { inputSize: I, hiddenSize: H, ...extra } });
const fc = (I, O, extra = {}, name = "fc") => ({ type: "linear", name, config: { inputSize: I, outputSize: O, ...extra } });
const drop = (p, name = "drop") => ({ type: "dropout", name, config: { p } });

// Deterministic inputs: ids [N,T] in [0,V) or features [N,T,I].
const ids = (N, T, V, salt) => Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => (n * 131 + t * 37 + salt * 11 + ((n * t) % 5)) % V));
const feats = (N, T, I, salt) => Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => Array.from({ length: I }, (_, i) => Math.sin(1 + salt + n * 7 + t * 3 + i))));

const V = 23, E = 8, H = 12, C = 5, N = 4, T = 7;
const cases = [
  // The module of the README and of issue 11 (TextClassifier in interop.py): last step -> fc.
  { name: "classifier", module: "TextClassifier", layers: [embed(V, E), lstm(E, H, { numLayers: 2, dropout: 0.25 }), fc(H, C)], x: ids(N, T, V, 1) },
  // The same saved with model.save(): torch builds its module from the file's own metadata.
  { name: "classifier_saved", fromMetadata: true, layers: [embed(V, E), lstm(E, H, { numLayers: 2, dropout: 0.25, batchFirst: true }), fc(H, C)], x: ids(N, T, V, 2) },
  // Per-step logits: fc(out), returnSequences true; torch's padding_idx.
  { name: "tagger", layers: [embed(V, E, { paddingIdx: 0 }), lstm(E, H, { numLayers: 2, dropout: 0.3, returnSequences: true }), fc(H, C)], x: ids(N, T, V, 3) },
  // bias=False: no bias keys either side.
  { name: "nobias_classifier", layers: [embed(V, E), lstm(E, H, { bias: false, dropout: 0.25 }), fc(H, C)], x: ids(N, T, V, 4) },
  { name: "nobias_tagger", layers: [embed(V, E), lstm(E, H, { numLayers: 2, bias: false, dropout: 0.25, returnSequences: true }), fc(H, C, { bias: false })], x: ids(N, T, V, 5) },
  // Bidirectional: the last output is forward h at T-1 with reverse h at step 0.
  { name: "bidir_classifier", layers: [embed(V, E), lstm(E, H, { numLayers: 2, dropout: 0.25, bidirectional: true }), drop(0.5), fc(2 * H, C, { activation: "softmax" })], x: ids(N, T, V, 6) },
  { name: "bidir_tagger", layers: [embed(V, E), lstm(E, H, { bidirectional: true, bias: false, returnSequences: true }), fc(2 * H, C)], x: ids(N, T, V, 7) },
  // Two torch.nn.LSTMs in one module, and dense activations.
  { name: "stacked", layers: [embed(V, E), lstm(E, H, { returnSequences: true }, "lstm1"), drop(0.2), lstm(H, 9, { numLayers: 2, bias: false, dropout: 0.25 }, "lstm2"), fc(9, 6, { activation: "relu" }, "fc1"), fc(6, C, { activation: "tanh" }, "fc2")], x: ids(N, T, V, 8) },
  // Padded batches: predict(x, { lengths }) is torch's pack_padded_sequence (zeros past each end; the last output at each length).
  { name: "packed_classifier", layers: [embed(V, E), lstm(E, H, { numLayers: 2, dropout: 0.25 }), fc(H, C)], x: ids(N, T, V, 10), lengths: [7, 3, 5, 1] },
  { name: "packed_bidir_tagger", layers: [embed(V, E), lstm(E, H, { bidirectional: true, bias: false, returnSequences: true }), fc(2 * H, C)], x: ids(N, T, V, 11), lengths: [2, 7, 4, 6] },
  { name: "packed_stacked", layers: [embed(V, E), lstm(E, H, { bidirectional: true, returnSequences: true }, "lstm1"), lstm(2 * H, 9, { bidirectional: true }, "lstm2"), fc(18, C)], x: ids(N, T, V, 12), lengths: [5, 7, 1, 3] },
  // Larger: a 2-layer LSTM(32, 64) over 30 steps, dropout 0.25, 10 logits.
  { name: "larger", layers: [embed(200, 32), lstm(32, 64, { numLayers: 2, dropout: 0.25 }), fc(64, 10)], x: ids(8, 30, 200, 9) },
  // Float features, two bidirectional layers with proj_size.
  { name: "features_proj", layers: [lstm(4, 6, { numLayers: 2, bidirectional: true, projSize: 3 }), fc(6, 2, {}, "head")], x: feats(3, 5, 4, 0) },
];
// A bare torch.nn.LSTM (time-major), for LSTM.fromStateDict.
const bare = { name: "bare_lstm", lstm: { inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true, projSize: 3 }, x: feats(6, 4, 5, 9) };

/** A Sequential of the case's layers (seeded); `noDropout` makes its dropout-free twin. */
function build(c, seed, { noDropout = false } = {}) {
  const layers = [], names = [];
  c.layers.forEach((l, i) => {
    const cfg = { ...l.config };
    if (l.type === "dropout") {
      if (!noDropout) { layers.push(new Dropout(cfg)); names.push(l.name); }
      return;
    }
    if (l.type === "lstm" && noDropout) cfg.dropout = 0;
    const make = { embedding: Embedding, lstm: LSTM, linear: Linear }[l.type];
    layers.push(new make({ ...cfg, seed: seed + i }));
    names.push(l.name);
  });
  return new Sequential(layers, { names });
}

const nest = (t) => {
  const go = (a, shape) => shape.length === 1 ? Array.from(a) : Array.from({ length: shape[0] }, (_, k) => go(a.subarray(k * a.length / shape[0], (k + 1) * a.length / shape[0]), shape.slice(1)));
  return go(t.data, t.shape);
};
const flat = (v) => (Array.isArray(v) ? v.flatMap(flat) : [v]);
const diff = (a, b) => { const e = flat(b); let m = 0; a.forEach((v, k) => { m = Math.max(m, Math.abs(v - e[k])); }); return a.length === e.length ? m : Infinity; };
const same = (a, b) => a.length === b.length && a.every((v, k) => Object.is(v, b[k]));
const throwsLSTMError = (fn, mentions) => {
  try { fn(); return false; } catch (err) { return err instanceof LSTMError && err.message.includes(mentions); }
};


// ---------------------------------------------------------------- lstm-wasm's side, before torch runs

const ours = new Map(); // `${case}.${build}` → { model, pred, bytes }
for (const b of BUILDS) {
  await init({ backend: b });
  for (const [k, c] of cases.entries()) {
    const model = build(c, 100 * (k + 1));
    const pred = model.predict(c.x, { lengths: c.lengths });
    // A plain state dict by name, or the model file (whose __metadata__ holds the layer list).
    const bytes = c.fromMetadata ? model.save() : writeSafetensors(model.stateDict());
    writeFileSync(join(dir, `${c.name}.ours.${b}.safetensors`), bytes);
    writeFileSync(join(dir, `${c.name}.ours.${b}.json`), JSON.stringify({ pred: nest(pred) }));
    ours.set(`${c.name}.${b}`, { model, pred, bytes });
  }
}
writeFileSync(join(dir, "cases.json"), JSON.stringify([...cases.map((c) => ({ ...c, builds: BUILDS })), bare]));

const res = JSON.parse(execFileSync(process.env.PYTHON ?? "/usr/bin/python3", [join(here, "interop.py"), "run", join(dir, "cases.json"), dir], { encoding: "utf8" }));

// ---------------------------------------------------------------- both ways, case by case

for (const b of BUILDS) {
  await init({ backend: b });
  for (const [k, c] of cases.entries()) {
    const r = res[c.name], o = ours.get(`${c.name}.${b}`), t = r.ours[b];
    const hasDropout = c.layers.some((l) => (l.type === "lstm" && l.config.dropout > 0) || l.type === "dropout");
    // torch applies an LSTM's dropout between its layers only (it warns, and ignores it, with num_layers=1).
    const torchDropout = c.layers.some((l) => (l.type === "lstm" && (l.config.numLayers ?? 1) > 1 && l.config.dropout > 0) || l.type === "dropout");
    const out = new Case(`[${b}] ${c.name} (${c.layers.map((l) => l.name).join(" → ")}, output [${o.pred.shape}])`);

    // PyTorch -> lstm-wasm, into a model with other weights.
    const model = build(c, 100 * (k + 1) + 50);
    const torchFile = readSafetensors(readFileSync(join(dir, `${c.name}.torch.safetensors`)));
    const before = diff(model.predict(c.x, { lengths: c.lengths }).data, r.y);
    model.loadStateDict(torchFile);
    const pred = model.predict(c.x, { lengths: c.lengths });
    out.diff("torch→lstm-wasm", diff(pred.data, r.y));
    out.check("before loading, the predictions differed", before > 1e-3, `max |Δ| ${before}`);

    // lstm-wasm -> torch (strict load_state_dict), in eval mode.
    out.diff("lstm-wasm→torch", t.diff);
    out.check("torch's strict load refuses a missing key and a stray one", t.strictRefusesMissing && t.strictRefusesExtra);

    // The same keys both sides: the module's attribute names, then torch's own parameter names.
    const keys = Object.keys(o.model.stateDict()).sort();
    out.check("state-dict keys equal torch's", JSON.stringify(keys) === JSON.stringify(r.keys), `${keys} vs ${r.keys}`);

    // Strict here too: a missing key and a stray one are refused, naming the key.
    const missing = Object.keys(torchFile).sort()[0];
    out.check(`a dict without ${missing} is refused`, throwsLSTMError(() => model.loadStateDict(Object.fromEntries(Object.entries(torchFile).filter(([key]) => key !== missing))), missing));
    out.check("a dict with a stray key is refused", throwsLSTMError(() => model.loadStateDict({ ...torchFile, "fc.extra": { data: new Float32Array(1), shape: [1] } }), "fc.extra"));

    if (hasDropout) {
      // Dropout is a training-only setting: torch in training mode differs (so the eval match means
      // something), and our inference equals a twin without dropout, bit for bit.
      if (torchDropout) out.check("torch's training mode differs from eval (its dropout is live)", r.trainVsEval > 1e-3, `max |Δ| ${r.trainVsEval}`);
      const twin = build(c, 7, { noDropout: true });
      twin.loadStateDict(torchFile);
      out.check("predictions equal a dropout-free twin's bit for bit", same(twin.predict(c.x, { lengths: c.lengths }).data, pred.data));
      twin.dispose();
      for (const l of c.layers.filter((l) => l.type === "lstm" && l.config.dropout)) {
        out.check(`LSTM "${l.name}" keeps dropout ${l.config.dropout}`, o.model.layer(l.name).config.dropout === l.config.dropout);
      }
    }

    if (c.fromMetadata) {
      // model.save(): torch built its module from the file's metadata alone; the file loads back here as it was.
      const tl = t.metadataLayers.find((l) => l.type === "lstm");
      out.check("model.save()'s metadata gives torch the LSTM's dropout", tl.config.dropout === c.layers[1].config.dropout, JSON.stringify(tl.config));
      const back = Sequential.load(o.bytes);
      out.check("Sequential.load(model.save()) keeps dropout and predicts the same, bit for bit",
        back.layer("lstm").config.dropout === c.layers[1].config.dropout && same(back.predict(c.x, { lengths: c.lengths }).data, o.pred.data));
      back.dispose();
    }
    out.end();
    model.dispose();
    o.model.dispose();
  }

  // bias=False and bias=True files are not interchangeable: the keys say which.
  {
    const out = new Case(`[${b}] bias=False vs bias=True files`);
    const noBias = readSafetensors(readFileSync(join(dir, "nobias_classifier.torch.safetensors")));
    const biased = readSafetensors(readFileSync(join(dir, "classifier.torch.safetensors")));
    const withBias = build({ layers: [embed(V, E), lstm(E, H), fc(H, C)] }, 3);
    out.check("a bias=False file is refused by an LSTM with biases, naming lstm.bias_ih_l0", throwsLSTMError(() => withBias.loadStateDict(noBias), "lstm.bias_ih_l0"));
    const without = build({ layers: [embed(V, E), lstm(E, H, { numLayers: 2, bias: false }), fc(H, C)] }, 4);
    out.check("a biased file is refused by an LSTM with bias: false, naming a bias key", throwsLSTMError(() => without.loadStateDict(biased), "lstm.bias_"));
    withBias.dispose();
    without.dispose();
    out.end();
  }

  // A bare torch.nn.LSTM file: the configuration is read off the names and shapes.
  {
    const r = res[bare.name], out = new Case(`[${b}] ${bare.name} (torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, proj_size=3) in LSTM.fromStateDict)`);
    const lstm1 = LSTM.fromStateDict(readSafetensors(readFileSync(join(dir, `${bare.name}.torch.safetensors`))));
    const y = lstm1.forward(bare.x);
    out.diff("torch→lstm-wasm", Math.max(diff(y.y.data, r.y), diff(y.hn.data, r.hn), diff(y.cn.data, r.cn)));
    const want = { inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true, projSize: 3, bias: true };
    out.check("configuration read off the names and shapes", Object.entries(want).every(([key, v]) => lstm1.config[key] === v), JSON.stringify(lstm1.config));
    lstm1.dispose();
    out.end();
  }
}

rmSync(dir, { recursive: true, force: true });
console.log(`${failed ? "FAILED" : "passed"} on ${BUILDS.join(", ")}: largest differences ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", ")} (tolerance ${TOL}); ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
